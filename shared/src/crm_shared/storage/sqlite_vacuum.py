"""Compacting SQLite stores: VACUUM each service's file, an operator's step with the platform down.

A B-tree written a page at a time leaves part of each page empty: a contact's side-table
entries land between existing ones (hashed match keys, custom-field values, tags), so their
WITHOUT ROWID table keeps ~12% of every page free, ~34 bytes a contact at a million, more under
random writes; deletes leave whole pages free. VACUUM rewrites every table and index packed
(measured: 827 -> 788 bytes a contact at a million contacts, in ~10 s). Nothing it renumbers is
referenced: each collection with row keys has an `n INTEGER PRIMARY KEY` (VACUUM keeps those
rowids), FTS5 keeps its rowids in its own tables, and the outbox orders by its own sequence.

Run it with the platform stopped (`make compact`): VACUUM holds the file's write lock for its
whole run, and a running service's writes would wait on it past their busy timeout. A file
another connection is writing is left as it is and reported busy, never half done: VACUUM is one
transaction.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

STORE_SUFFIX = ".sqlite3"


@dataclass(frozen=True)
class Compacted:
    """One file's compaction: its bytes (WAL included) before and after, and how long it took;
    `busy` if another connection held the file and nothing was done."""

    path: Path
    bytes_before: int
    bytes_after: int
    seconds: float
    busy: bool = False


def file_bytes(path: Path) -> int:
    """The store's bytes on disk: the database file and its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def compact_file(path: Path) -> Compacted:
    """VACUUM one store file and fold its write-ahead log back into it."""
    before = file_bytes(path)
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return Compacted(path, before, file_bytes(path), time.perf_counter() - started, busy=True)
    finally:
        db.close()
    return Compacted(path, before, file_bytes(path), time.perf_counter() - started)


def store_files(paths: Iterable[Path]) -> list[Path]:
    """The store files named, a folder standing for the `*.sqlite3` files directly in it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{STORE_SUFFIX}")))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such store file or folder")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Compact the stores named (files, or folders of them); exit 1 if one was busy."""
    parser = argparse.ArgumentParser(
        prog="python -m crm_shared.storage.sqlite_vacuum",
        description="VACUUM SQLite store files (the platform stopped): their pages packed.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="store files or data folders")
    args = parser.parse_args(argv)
    try:
        files = store_files(args.paths)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    busy = False
    for path in files:
        done = compact_file(path)
        if done.busy:
            busy = True
            print(f"{path}: busy (another process is using it; stop the platform first)")
            continue
        print(
            f"{path}: {done.bytes_before / 1e6:,.1f} MB -> {done.bytes_after / 1e6:,.1f} MB "
            f"in {done.seconds:.1f} s"
        )
    return 1 if busy else 0


if __name__ == "__main__":
    sys.exit(main())
