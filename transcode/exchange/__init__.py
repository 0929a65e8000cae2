"""Exchange with researchers' other tools: REFI-QDA (.qdpx/.qdc) and flat tables (CSV, Excel, pandas)."""

from transcode.exchange.refi import (
    export_qdc,
    export_qdpx,
    import_qdpx,
    read_qdc,
    read_qdpx,
    schema_errors,
)
from transcode.exchange.tables import TABLES, all_tables, write_csv, write_xlsx

__all__ = [
    "TABLES",
    "all_tables",
    "export_qdc",
    "export_qdpx",
    "import_qdpx",
    "read_qdc",
    "read_qdpx",
    "schema_errors",
    "write_csv",
    "write_xlsx",
]
