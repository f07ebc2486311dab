"""A delivery folder: which files it holds, their fingerprints, and refusals of whole files.

Everything here looks at files as bytes and never writes; the guard and the readers use it
before anything reaches the warehouse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ips_eval.ingest.contracts import Contract, load_contracts


class DeliveryRefused(Exception):
    """A file cannot be read as a whole: the run stops, naming the file and the reason."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class DeliveredFile:
    export: str
    path: Path
    relative: str
    format: str  # 'csv' or 'parquet'


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(delivery: Path, contract: Contract) -> DeliveredFile | None:
    """The file of one export, or None for an absent optional (register) export."""
    delivery = Path(delivery)
    found = [p for p in contract.candidate_paths(delivery) if p.is_file()]
    if len(found) > 1:
        names = " and ".join(str(p.relative_to(delivery)) for p in found)
        raise DeliveryRefused(names, "the same extract is delivered twice (CSV and Parquet); deliver one")
    if not found:
        if contract.optional:
            return None
        raise DeliveryRefused(contract.file, "the file is missing from the delivery")
    path = found[0]
    fmt = "parquet" if path.suffix.lower() == ".parquet" else "csv"
    return DeliveredFile(contract.export, path, path.relative_to(delivery).as_posix(), fmt)


def inventory(delivery: Path) -> list[DeliveredFile]:
    """Every export file present in the delivery, in load order."""
    delivery = Path(delivery)
    if not delivery.is_dir():
        raise DeliveryRefused(str(delivery), "the delivery folder does not exist")
    files = []
    for contract in load_contracts().values():
        f = locate(delivery, contract)
        if f is not None:
            files.append(f)
    return files


def all_files(delivery: Path) -> list[Path]:
    """Every regular file under the delivery, known or not: the guard scans them all."""
    return sorted(p for p in Path(delivery).rglob("*") if p.is_file())


def fingerprint(files: list[DeliveredFile]) -> str:
    """One hash of the whole delivery: the sorted (file, sha256) pairs."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.relative):
        digest.update(f"{f.relative}\t{sha256(f.path)}\n".encode())
    return digest.hexdigest()
