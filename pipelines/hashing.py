"""Content hashes of files (what the landing history, the sensor and the manifest identify a file by)
and fingerprints of declarations (what kept results are valid for)."""

import hashlib
import json
import pathlib

CHUNK_BYTES = 1 << 20


def sha256_of(path: pathlib.Path) -> str:
    """The SHA-256 of the file's bytes, read in chunks so a large export never sits in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_of(declaration: object) -> str:
    """A short hash of a JSON-able declaration (dates and decimals as their text) that changes whenever it does."""
    described = json.dumps(declaration, sort_keys=True, default=str)
    return hashlib.sha256(described.encode()).hexdigest()[:16]
