"""Compile the ``.po`` catalogs beside this file into the ``.mo`` files Flask-Babel reads.

Run ``python -m locator.web.translations.compile`` after editing a ``.po`` file;
a test checks that the committed ``.mo`` files are up to date.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent


def compiled(po_path: Path) -> bytes:
    """The ``.mo`` bytes of one ``.po`` catalog."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def main() -> None:
    for po_path in sorted(HERE.glob("*/LC_MESSAGES/*.po")):
        po_path.with_suffix(".mo").write_bytes(compiled(po_path))
        print(f"compiled {po_path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
