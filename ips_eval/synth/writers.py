"""Bytes on disk: Finnish office-tool CSV, register CSV and Parquet, all reproducible.

Formatting lives here so that the generators deal in dates and numbers, and the quirks
of each source (date styles, decimal comma, encodings, byte-order marks, header case)
are applied in one place. Nothing written depends on the clock or on the machine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq



# ---- Finnish project exports ---------------------------------------------------------

def fi_date(d: dt.date | None, padded: bool = False) -> str:
    """`3.4.2023` or, padded, `03.04.2023`; None -> blank."""
    if d is None:
        return ""
    if padded:
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    return f"{d.day}.{d.month}.{d.year}"


def fi_timestamp(t: dt.datetime | None) -> str:
    """`d.m.yyyy H:MM`."""
    if t is None:
        return ""
    return f"{t.day}.{t.month}.{t.year} {t.hour}:{t.minute:02d}"


def fi_decimal(x: float | None) -> str:
    """Decimal comma, no needless zeros: 18.5 -> `18,5`, 20.0 -> `20`."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s.replace(".", ",")


def styled_headers(headers: Sequence[str], style: str) -> list[str]:
    """Header case and stray spaces vary between regions; `style` says how this file does it."""
    if style == "plain":
        return list(headers)
    if style == "upper":
        return [h.upper() for h in headers]
    if style == "title_spaced":  # ` Person_ID `, `Tyyppi`, `Alkupvm ` ...
        out = []
        for i, h in enumerate(headers):
            t = h.title().replace("_Id", "_ID")
            out.append(f" {t} " if i == 0 else (t + " " if i % 3 == 1 else t))
        return out
    if style == "mixed":
        return [h.upper() if i % 2 else h.capitalize() for i, h in enumerate(headers)]
    raise ValueError(style)


def write_fi_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]], *,
                 encoding: str = "utf-8", bom: bool = False, newline: str = "\n") -> dict:
    """Write a `;`-delimited file exactly as given (values are already formatted strings).

    No quoting is ever needed: generators never put `;`, quotes or line breaks in a value,
    which keeps line numbers equal to row number + 2 (header = line 1). Returns file facts.
    """
    lines = [";".join(header)]
    n = 0
    for r in rows:
        for v in r:
            if ";" in v or '"' in v or "\n" in v or "\r" in v:
                raise ValueError(f"{path.name}: value {v!r} would need quoting")
        lines.append(";".join(r))
        n += 1
    text = newline.join(lines) + newline
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return {"rows": n, "encoding": encoding, "bom": bom,
            "line_ending": "CRLF" if newline == "\r\n" else "LF", "header": list(header)}


# ---- register extracts ------------------------------------------------------------------

class RegisterWriter:
    """One register extract written chunk by chunk, as CSV (`;`, ISO dates) or Parquet.

    Parquet gets a fixed schema and no pandas metadata, so the bytes depend only on the
    data and the pyarrow version.
    """

    def __init__(self, path_stem: Path, schema: pa.Schema, fmt: str) -> None:
        self.fmt = fmt
        self.schema = schema
        self.path = path_stem.with_suffix(f".{fmt}")
        self.rows = 0
        if fmt == "parquet":
            self._pq = pq.ParquetWriter(self.path, schema, compression="zstd", use_dictionary=True,
                                        write_statistics=True, store_schema=False)
        else:
            self._fh = open(self.path, "wb")
            self._fh.write((";".join(schema.names) + "\n").encode("utf-8"))

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        if self.fmt == "parquet":
            self._pq.write_table(table, row_group_size=1_000_000)
        else:
            pacsv.write_csv(table, self._fh, pacsv.WriteOptions(
                include_header=False, delimiter=";", quoting_style="none"))

    def close(self) -> dict:
        if self.fmt == "parquet":
            self._pq.close()
        else:
            self._fh.close()
        return {"rows": self.rows, "format": self.fmt, "columns": list(self.schema.names)}


