"""Import of facility files: CSV, Excel, GeoJSON, GeoPackage and Shapefiles.

One pipeline serves the CLI and the web upload:

1. :func:`read_table` reads a file (a path, bytes or a binary buffer) into raw
   records, each with the row number the user sees;
2. :func:`rows_to_facilities` maps the user's columns to ours, converts the
   coordinates to WGS-84 and validates every row, collecting every problem;
3. :func:`import_table` (and :func:`import_file`, which reads first) writes the
   valid facilities through :meth:`Storage.upsert_facilities`, in one transaction
   (a dry run has storage count what would change, writing nothing).

By default an import is all-or-nothing: any bad row raises
:class:`~locator.errors.ValidationFailed` whose ``details`` is the full report
(:meth:`ImportReport.to_dict`) and nothing is written.

The modules follow the stages: :mod:`.limits` (how much is read, zip safety),
:mod:`.table` (the raw table), :mod:`.readers` (format detection and dispatch),
:mod:`.sheets` (CSV and XLSX), :mod:`.features` (GeoJSON, GeoPackage, Shapefile);
:mod:`.columns` (header row and column mapping); :mod:`.coordinates` and
:mod:`.convert` (conversion and validation of the rows); :mod:`.report` (the
report), :mod:`.rejects` (the rejects file) and :mod:`.pipeline` (the imports).

Limits
------
Nothing is read past a limit. CSV files are streamed and XLSX sheets read row by
row; both stop at the first row past ``max_rows``. Zip archives and XLSX workbooks
(zip archives too) are checked member by member before anything is unpacked
(:data:`MAX_ZIP_UNCOMPRESSED`, :data:`MAX_ZIP_RATIO`) and unpacked through streams
that stop at the declared size; a zip inside a zip is refused. Every refusal comes
before any write. The limits are read from :mod:`.limits` when they are checked:
change them there (the names here are copies).

Row numbers
-----------
CSV and XLSX: the spreadsheet row as Excel shows it. The header is normally row 1
and the first data row is row 2; when a title sits above the header (common in
unions' sheets), the header is found among the first ten rows and numbering
still follows the sheet. GeoJSON, GeoPackage and Shapefile: the feature's
position in the file, starting at 1. A JSON array of plain objects: the
object's position, starting at 1.

Ids
---
An ``id`` column holds facility ids when the file also has a ``source_id``
column (the layout of :mod:`locator.export`), when every id contains ``:`` (as
stored ids do), or when ``mapping`` names it explicitly. Otherwise it is the
user's own numbering (1, 2, 3...) and becomes ``source_id``, so that two unions'
files numbered from 1 cannot overwrite each other. Rows with neither get a
``source_id`` hashed from name and position (6 decimals). With ``source`` (the
file's stem by default) that makes re-importing the same file update the same
facilities instead of adding new ones. A ``source`` column in the file wins
row by row; the ``source`` option fills the rows without one.
"""

from .columns import FIELDS, ColumnMap, map_columns, normalize_header
from .coordinates import CHINA_BOUNDS, parse_coordinate
from .limits import (
    DEFAULT_MAX_ROWS,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_CSV_LINE,
    MAX_TEXT_BYTES,
    MAX_ZIP_RATIO,
    MAX_ZIP_UNCOMPRESSED,
)
from .pipeline import import_file, import_table, prepare_table, rows_to_facilities
from .readers import SUPPORTED_EXTENSIONS, read_table
from .report import ImportReport, RowIssue
from .table import RawRecord, RawTable

__all__ = [
    "CHINA_BOUNDS",
    "DEFAULT_MAX_ROWS",
    "FIELDS",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_CSV_LINE",
    "MAX_TEXT_BYTES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_UNCOMPRESSED",
    "SUPPORTED_EXTENSIONS",
    "ColumnMap",
    "ImportReport",
    "RawRecord",
    "RawTable",
    "RowIssue",
    "import_file",
    "import_table",
    "map_columns",
    "normalize_header",
    "parse_coordinate",
    "prepare_table",
    "read_table",
    "rows_to_facilities",
]
