"""The importer's files: uploaded CSVs waiting to be read, and export CSVs with their id lists."""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UPLOAD = ".csv"
_PARTIAL = ".part"
_EXPORT = ".csv"
_IDS = ".ids"


def _name(item_id: str, suffix: str) -> str:
    # Ids come from our own store, but a path is no place to trust that.
    if not _SAFE_ID.match(item_id):
        raise ValueError("invalid id for a file name")
    return item_id + suffix


def _remove(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False


class ExportWriter:
    """Writes an export's CSV and id list under temporary names; `commit` makes them final."""

    def __init__(self, files: DataFiles, export_id: str, fields: list[str]) -> None:
        self._files = files
        self._id = export_id
        self._csv_part = files.exports / _name(export_id, _EXPORT + _PARTIAL)
        self._ids_part = files.exports / _name(export_id, _IDS + _PARTIAL)
        self._csv_file = self._csv_part.open("w", encoding="utf-8", newline="")
        self._ids_file = self._ids_part.open("w", encoding="ascii")
        self._writer = csv.writer(self._csv_file)
        self._writer.writerow(fields)
        self.rows = 0

    def write(self, contact_id: str, row: list[str]) -> None:
        """Append one contact's row and its id."""
        self._writer.writerow(row)
        self._ids_file.write(contact_id + "\n")
        self.rows += 1

    def flush(self) -> None:
        """Hand what was written so far to the operating system."""
        self._csv_file.flush()
        self._ids_file.flush()

    def commit(self) -> None:
        """Close both files and give them their final names."""
        self._close()
        self._ids_part.replace(self._files.export_ids_path(self._id))
        self._csv_part.replace(self._files.export_path(self._id))

    def discard(self) -> None:
        """Close and delete the partial files."""
        self._close()
        _remove(self._csv_part)
        _remove(self._ids_part)

    def _close(self) -> None:
        for handle in (self._csv_file, self._ids_file):
            if not handle.closed:
                handle.close()


class DataFiles:
    """Paths and file operations under `<CRM_DATA_DIR>/importer`."""

    def __init__(self, root: Path) -> None:
        self.uploads = root / "uploads"
        self.exports = root / "exports"

    def prepare(self) -> None:
        """Create the folders."""
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.exports.mkdir(parents=True, exist_ok=True)

    # Uploads

    def upload_path(self, job_id: str) -> Path:
        """Where a job's uploaded CSV waits until it has been read."""
        return self.uploads / _name(job_id, _UPLOAD)

    def partial_upload_path(self, job_id: str) -> Path:
        """Where an upload is written while it is still arriving and not yet validated."""
        return self.uploads / _name(job_id, _PARTIAL)

    @contextlib.contextmanager
    def open_upload(
        self, job_id: str, *, partial: bool = False, encoding: str = "utf-8-sig"
    ) -> Iterator[IO[str]]:
        """The uploaded CSV as text in its encoding (a BOM stripped), bad bytes kept as
        surrogates."""
        path = self.partial_upload_path(job_id) if partial else self.upload_path(job_id)
        with path.open(encoding=encoding, errors="surrogateescape", newline="") as text:
            yield text

    def sheet_path(self, job_id: str) -> Path:
        """Where a workbook upload's sheet is written as CSV before it replaces the upload."""
        return self.uploads / _name(job_id, ".sheet" + _PARTIAL)

    def replace_partial_upload(self, job_id: str, source: Path) -> None:
        """Make `source` (a converted sheet) the arriving upload."""
        source.replace(self.partial_upload_path(job_id))

    def open_partial_upload(self, job_id: str) -> IO[bytes]:
        """A new binary file for an arriving upload."""
        return self.partial_upload_path(job_id).open("wb")

    def accept_upload(self, job_id: str) -> None:
        """Give a validated upload its final name."""
        self.partial_upload_path(job_id).replace(self.upload_path(job_id))

    def delete_upload(self, job_id: str) -> None:
        """Delete a job's upload, final or partial (no personal data stays after an import)."""
        _remove(self.upload_path(job_id))
        _remove(self.partial_upload_path(job_id))
        _remove(self.sheet_path(job_id))

    def sweep_uploads(self, keep: set[str]) -> int:
        """Delete uploads of jobs not in `keep` (left by a crash); return how many."""
        removed = 0
        for path in self.uploads.iterdir():
            job_id = path.name.split(".", 1)[0]
            if path.suffix == _PARTIAL or job_id not in keep:
                removed += _remove(path)
        return removed

    # Exports

    def export_path(self, export_id: str) -> Path:
        """A finished export's CSV."""
        return self.exports / _name(export_id, _EXPORT)

    def export_ids_path(self, export_id: str) -> Path:
        """The ids of the contacts in a finished export, one per line."""
        return self.exports / _name(export_id, _IDS)

    def export_exists(self, export_id: str) -> bool:
        """True if a finished export's CSV is on disk."""
        return self.export_path(export_id).exists()

    def new_export(self, export_id: str, fields: list[str]) -> ExportWriter:
        """Start writing an export."""
        return ExportWriter(self, export_id, fields)

    def delete_export(self, export_id: str) -> None:
        """Delete an export's files, final or partial."""
        for suffix in (_EXPORT, _IDS, _EXPORT + _PARTIAL, _IDS + _PARTIAL):
            _remove(self.exports / _name(export_id, suffix))

    def sweep_partial_exports(self) -> int:
        """Delete half-written exports (every export still running at start-up was interrupted)."""
        return sum(_remove(path) for path in self.exports.glob("*" + _PARTIAL))

    def export_contains(self, export_id: str, contact_id: str) -> bool:
        """True if the export's id list names the contact (read line by line, memory stays flat)."""
        target = contact_id + "\n"
        try:
            with self.export_ids_path(export_id).open(encoding="ascii") as ids:
                return any(line == target for line in ids)
        except FileNotFoundError:
            return False
