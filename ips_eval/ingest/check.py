"""Read a delivery exactly as a run's ingest does, into a throw-away database, and say what
would happen to every line: what `ips-eval check` prints before anyone runs the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ips_eval.ingest.load import load_delivery


@dataclass
class DeliveryCheck:
    """Per file: rows read, accepted, rejected, withdrawn and empty; and every rejected row."""

    loads: pd.DataFrame  # file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty
    rejected: pd.DataFrame  # file, line, column, rule, message (never the raw row)


def check_delivery(delivery: Path, cutoff: dt.date | None = None) -> DeliveryCheck:
    """Run the identity guard, the contracts and (with a cut-off) the consent withdrawals on
    `delivery` in memory. Raises `DeliveryRefused` or `IdentityCodeFound` as a run would.

    Examples
    --------
    >>> result = check_delivery(Path("data/demo/delivery"))  # doctest: +SKIP
    >>> result.loads.columns.tolist()  # doctest: +SKIP
    ['file', 'rows_read', 'rows_accepted', 'rows_rejected', 'rows_withdrawn', 'rows_empty']
    """
    with duckdb.connect() as con:
        load_delivery(con, Path(delivery), cutoff)
        loads = con.execute(
            "SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads"
            " WHERE file IS NOT NULL ORDER BY export, file").df()
        rejected = con.execute(
            'SELECT file, line, "column", rule, message FROM audit.rejected_rows ORDER BY file, line').df()
    return DeliveryCheck(loads, rejected)
