"""Pre-coding: ingest -> de-identify -> split into thought units -> embed -> propose domains.

:func:`precode` runs every stage in one loop, in this process or on a Dask
cluster (:mod:`~transcode.pipeline.cluster`), with byte-identical output; the
stages themselves live in :mod:`~transcode.pipeline.stages`. The CLI reads the
files and writes the results at the edges.
"""

from transcode.pipeline.precode import PrecodeRun, classified, precode, propose, save_run, write_proposals
from transcode.pipeline.stages import (
    CaseResult,
    CaseVectors,
    IngestOptions,
    PreparedCase,
    contract_record,
    load_classifier,
    prepare,
    read_all,
)

__all__ = [
    "CaseResult",
    "CaseVectors",
    "IngestOptions",
    "PrecodeRun",
    "PreparedCase",
    "classified",
    "contract_record",
    "load_classifier",
    "precode",
    "prepare",
    "propose",
    "read_all",
    "save_run",
    "write_proposals",
]
