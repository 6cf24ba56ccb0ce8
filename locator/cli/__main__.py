"""``python -m locator.cli``: the ``locator`` command."""

from . import main

main()
