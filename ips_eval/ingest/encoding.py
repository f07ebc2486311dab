"""Text encodings of the project exports: UTF-8 with or without a BOM, or Windows-1252.

DuckDB reads UTF-8 only (other encodings need an extension this machine cannot fetch), so
a Windows-1252 file is transcoded to UTF-8 first. The decision is made on the bytes with
Python's codecs, never guessed from a sample: a file that is valid UTF-8 is UTF-8; one that
is not but decodes strictly as Windows-1252 is that; anything else is refused.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from pathlib import Path

from ips_eval.ingest.delivery import DeliveryRefused

CHUNK = 1 << 22


def detect(path: Path, relative: str) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1252'; refuses NUL bytes and undecodable text."""
    with open(path, "rb") as f:
        head = f.read(3)
    bom = head == codecs.BOM_UTF8
    if _decodes(path, "utf-8", relative):
        return "utf-8-sig" if bom else "utf-8"
    if _decodes(path, "cp1252", relative):
        return "cp1252"
    raise DeliveryRefused(relative, "the file is neither UTF-8 nor Windows-1252 text (unreadable encoding)")


def _decodes(path: Path, encoding: str, relative: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            nul = block.find(b"\x00")
            if nul >= 0:
                raise DeliveryRefused(relative, f"the file holds NUL bytes (byte {offset + nul}): not a text export")
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return False
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def as_utf8(path: Path, encoding: str, workdir: Path, normalise_line_ends: bool = False) -> Path:
    """A path DuckDB can read: the file itself when UTF-8 without BOM, else a UTF-8 copy.

    With `normalise_line_ends`, CRLF becomes LF in the copy: office tools sometimes mix the
    two in one file, which DuckDB's CSV state machine cannot follow. (Used for the project
    exports, which are small; register extracts are read in place.)
    """
    if encoding == "utf-8" and not normalise_line_ends:
        return path
    fd, name = tempfile.mkstemp(suffix=".csv", dir=workdir)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open(path, encoding=encoding, newline="") as src:
        carry = ""
        while block := src.read(CHUNK):
            text = carry + block
            carry = "\r" if normalise_line_ends and text.endswith("\r") else ""
            if carry:
                text = text[:-1]
            out.write(text.replace("\r\n", "\n") if normalise_line_ends else text)
        out.write(carry)
    return Path(name)


def read_text(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        return f.read()
