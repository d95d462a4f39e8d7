"""CSV files between the wizard's upload step and its start step, in a private temp folder."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crm_console.domain.session import new_token

SAMPLE_ROWS = 3
# An upload whose mapping was never confirmed is deleted after this long.
HOLD_FOR = timedelta(hours=1)


class UnreadableCsv(ValueError):
    """The file has no header row the wizard can read; the message says what to fix."""


@dataclass(frozen=True)
class HeldUpload:
    """An uploaded file waiting for its mapping: who uploaded it, its header and first rows."""

    token: str
    owner: str
    filename: str
    path: Path
    headers: list[str]
    samples: list[list[str]]
    held_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class UploadStore:
    """Uploaded CSVs by token; only the session that uploaded one can use it."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root or Path(tempfile.mkdtemp(prefix="crm-console-uploads-"))
        self._held: dict[str, HeldUpload] = {}

    def hold(self, *, owner: str, filename: str, content: bytes) -> HeldUpload:
        """Keep the file and read its header row and a few sample rows."""
        self._drop_abandoned()
        headers, samples = _read_head(content)
        token = new_token()
        path = self._root / f"{token}.csv"
        path.write_bytes(content)
        held = HeldUpload(token, owner, filename or "upload.csv", path, headers, samples)
        self._held[token] = held
        return held

    def get(self, token: str, *, owner: str) -> HeldUpload | None:
        """The held file, if this session uploaded it."""
        held = self._held.get(token)
        return held if held is not None and held.owner == owner else None

    def release(self, token: str) -> None:
        """Forget a file once it was sent on (or abandoned)."""
        held = self._held.pop(token, None)
        if held is not None:
            held.path.unlink(missing_ok=True)

    def _drop_abandoned(self) -> None:
        oldest = datetime.now(UTC) - HOLD_FOR
        for token in [t for t, held in self._held.items() if held.held_at < oldest]:
            self.release(token)

    def close(self) -> None:
        """Delete every held file."""
        shutil.rmtree(self._root, ignore_errors=True)
        self._held.clear()


def _read_head(content: bytes) -> tuple[list[str], list[list[str]]]:
    try:
        text = content[: 256 * 1024].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < 256 * 1024 - 4:
            raise UnreadableCsv("the file is not UTF-8 text; save it as CSV (UTF-8)") from None
        text = content[: exc.start].decode("utf-8-sig")
    rows = csv.reader(io.StringIO(text))
    headers = next(rows, None)
    if not headers or not any(h.strip() for h in headers):
        raise UnreadableCsv("the file has no header row; the first line must name the columns")
    samples: list[list[str]] = []
    for row in rows:
        if len(samples) >= SAMPLE_ROWS:
            break
        samples.append(row)
    return [h.strip() for h in headers], samples
