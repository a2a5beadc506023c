"""The checksum manifest of an auditors' pack: ``MANIFEST.sha256``, the SHA-256 of every other file of
the period's folder, one ``<hex digest>  <relative path>`` line each (the format of ``sha256sum``, so
``cd <period> && sha256sum -c MANIFEST.sha256`` checks a copy without Python)."""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST = "MANIFEST.sha256"
CHUNK = 1 << 20


def digest(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
    return sha.hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: Path) -> Path:
    """Write ``folder/MANIFEST.sha256`` over every other file of ``folder`` (last: after the pack is written)."""
    lines = "".join(f"{digest(folder / name)}  {name}\n" for name in _files(folder))
    target = folder / MANIFEST
    target.write_text(lines, encoding="utf-8")
    return target


def verify_manifest(folder: Path) -> list[str]:
    """What does not agree with the manifest: files changed, missing or not listed (empty: intact)."""
    listed = {}
    for line in (folder / MANIFEST).read_text(encoding="utf-8").splitlines():
        hexdigest, name = line.split("  ", 1)
        listed[name] = hexdigest
    problems = [f"missing: {name}" for name in listed if not (folder / name).is_file()]
    present = {name: hexdigest for name, hexdigest in listed.items() if (folder / name).is_file()}
    problems += [f"changed: {name}" for name, hexdigest in present.items() if digest(folder / name) != hexdigest]
    problems += [f"not listed: {name}" for name in _files(folder) if name not in listed]
    return problems
