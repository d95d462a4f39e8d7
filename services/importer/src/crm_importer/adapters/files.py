"""The importer's files: uploaded CSVs waiting to be read, and export files with their id lists."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import IO

from crm_importer.adapters.sheets import CsvSheet, Sheet, XlsxSheet
from crm_importer.domain.exports import ExportFormat

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE_OWNER = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_UPLOAD = ".csv"
_PARTIAL = ".part"
_EXPORT_SUFFIXES: dict[ExportFormat, str] = {"csv": ".csv", "xlsx": ".xlsx"}
_IDS = ".ids"


def _name(item_id: str, suffix: str) -> str:
    # Ids come from our own store, but a path is no place to trust that.
    if not _SAFE_ID.match(item_id):
        raise ValueError("invalid id for a file name")
    return item_id + suffix


# An accepted upload no job names is left by a crash between the rename and the job's commit,
# which follow each other within moments; older than this, nobody is about to commit its job.
UNQUEUED_GRACE = 600.0


def _owner(path: Path) -> str | None:
    """The owner in `<job>.<owner>.part` or `<job>.<owner>.sheet.part`; None for other names."""
    parts = path.name.split(".")
    return parts[1] if path.suffix == _PARTIAL and len(parts) >= 3 else None


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _remove(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False


class ExportWriter:
    """Writes an export's file and id list under temporary names; `commit` makes them final."""

    def __init__(
        self,
        files: DataFiles,
        export_id: str,
        fields: list[str],
        *,
        file_format: ExportFormat = "csv",
        bom: bool = False,
    ) -> None:
        self._files = files
        self._id = export_id
        self._format = file_format
        self._sheet_part = files.exports / _name(
            export_id, _EXPORT_SUFFIXES[file_format] + _PARTIAL
        )
        self._ids_part = files.exports / _name(export_id, _IDS + _PARTIAL)
        self._ids_file = self._ids_part.open("w", encoding="ascii")
        self._sheet: Sheet = (
            XlsxSheet(self._sheet_part, fields)
            if file_format == "xlsx"
            else CsvSheet(self._sheet_part, fields, bom=bom)
        )
        self.rows = 0

    def write(self, contact_id: str, row: list[str]) -> None:
        """Append one contact's row and its id."""
        self._sheet.write(row)
        self._ids_file.write(contact_id + "\n")
        self.rows += 1

    def write_columns(self, contact_ids: list[str], columns: Sequence[list[str]]) -> None:
        """Append contacts' rows, given column by column (a cell per id in each), and their ids."""
        if any(len(column) != len(contact_ids) for column in columns):
            raise ValueError("one cell per contact id in every column")
        self._sheet.write_columns(columns)
        if contact_ids:
            self._ids_file.write("\n".join(contact_ids) + "\n")
        self.rows += len(contact_ids)

    def flush(self) -> None:
        """Hand what was written so far to the operating system."""
        self._sheet.flush()
        self._ids_file.flush()

    def commit(self) -> None:
        """Close both files and give them their final names."""
        self._close()
        self._ids_part.replace(self._files.export_ids_path(self._id))
        self._sheet_part.replace(self._files.export_path(self._id, self._format))

    def discard(self) -> None:
        """Close and delete the partial files."""
        self._close()
        _remove(self._sheet_part)
        _remove(self._ids_part)

    def _close(self) -> None:
        self._sheet.close()
        if not self._ids_file.closed:
            self._ids_file.close()


class DataFiles:
    """Paths and file operations under `<CRM_DATA_DIR>/importer`.

    Replicas share the folder. An upload still arriving is named after its owner, the instance
    receiving it (`<job>.<owner>.part`, crm_shared.presence), so that a replica cleaning up after
    a crash deletes only what instances that are gone left behind.
    """

    def __init__(self, root: Path, *, owner: str = "local") -> None:
        if not _SAFE_OWNER.match(owner):
            raise ValueError("invalid owner for a file name")
        self.uploads = root / "uploads"
        self.exports = root / "exports"
        self.owner = owner

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
        return self.uploads / _name(job_id, f".{self.owner}{_PARTIAL}")

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
        return self.uploads / _name(job_id, f".{self.owner}.sheet{_PARTIAL}")

    def replace_partial_upload(self, job_id: str, source: Path) -> None:
        """Make `source` (a converted sheet) the arriving upload."""
        source.replace(self.partial_upload_path(job_id))

    def upload_sample(self, job_id: str, size: int = 64 * 1024) -> tuple[bytes, int]:
        """The first bytes of an arriving upload and its size (a workbook's: its converted
        sheet's), to estimate its rows."""
        path = self.partial_upload_path(job_id)
        with path.open("rb") as raw:
            return raw.read(size), path.stat().st_size

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

    def upload_owners(self) -> set[str]:
        """The owners of the uploads still arriving (or left half-written by a crash)."""
        return {owner for path in self.uploads.iterdir() if (owner := _owner(path)) is not None}

    def sweep_uploads(
        self, keep: set[str], *, gone: set[str], unqueued_after: float = UNQUEUED_GRACE
    ) -> int:
        """Delete what crashes left; return how many files.

        A half-written upload goes when its owner is in `gone` (or it names none); an accepted
        upload of a job not in `keep` goes once it is older than `unqueued_after` seconds (the
        job is committed just after the file is accepted: a younger file may be a job arriving).
        """
        removed = 0
        oldest = time.time() - unqueued_after
        for path in self.uploads.iterdir():
            if path.suffix == _PARTIAL:
                owner = _owner(path)
                if owner is None or owner in gone:
                    removed += _remove(path)
            elif path.name.split(".", 1)[0] not in keep and _modified(path) < oldest:
                removed += _remove(path)
        return removed

    # Exports

    def export_path(self, export_id: str, file_format: ExportFormat = "csv") -> Path:
        """A finished export's file."""
        return self.exports / _name(export_id, _EXPORT_SUFFIXES[file_format])

    def export_ids_path(self, export_id: str) -> Path:
        """The ids of the contacts in a finished export, one per line."""
        return self.exports / _name(export_id, _IDS)

    def export_exists(self, export_id: str) -> bool:
        """True if a finished export's file (of any format) is on disk."""
        return any(self.export_path(export_id, f).exists() for f in _EXPORT_SUFFIXES)

    def new_export(
        self,
        export_id: str,
        fields: list[str],
        *,
        file_format: ExportFormat = "csv",
        bom: bool = False,
    ) -> ExportWriter:
        """Start writing an export."""
        return ExportWriter(self, export_id, fields, file_format=file_format, bom=bom)

    def delete_export(self, export_id: str) -> None:
        """Delete an export's files, final or partial, of any format."""
        for suffix in (*_EXPORT_SUFFIXES.values(), _IDS):
            _remove(self.exports / _name(export_id, suffix))
            _remove(self.exports / _name(export_id, suffix + _PARTIAL))

    def sweep_partial_exports(self, keep: set[str]) -> int:
        """Delete half-written exports but those in `keep` (still written by a live replica)."""
        return sum(
            _remove(path)
            for path in self.exports.glob("*" + _PARTIAL)
            if path.name.split(".", 1)[0] not in keep
        )

    def contacts_in_export(self, export_id: str, contact_ids: Collection[str]) -> set[str]:
        """Which of these contacts the export's id list names: one read of the list, however
        many contacts are asked about (line by line, memory stays flat)."""
        wanted = {contact_id + "\n" for contact_id in contact_ids}
        found: set[str] = set()
        try:
            with self.export_ids_path(export_id).open(encoding="ascii") as ids:
                for line in ids:
                    if line in wanted:
                        found.add(line[:-1])
        except FileNotFoundError:
            pass
        return found
