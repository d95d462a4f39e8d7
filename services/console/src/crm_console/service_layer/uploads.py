"""Files held between the import wizard's steps, in the console's store so any replica has them.

An upload is kept in parts (base64 text, a few hundred KB each) with a document describing it:
its owner (the session's stored id), name, size, header and sample rows, and the choices made for
it so far. Everything expires after `hold_for`; a file is deleted as soon as it was sent on.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from crm_console.adapters.repositories import UploadRepository
from crm_console.domain.csv_head import HEAD_BYTES, UnreadableCsv, read_head
from crm_console.domain.session import new_token
from crm_shared.clock import iso, utcnow
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore

# Raw bytes per stored part: 1 MiB once base64-encoded.
PART_BYTES = 768 * 1024
PARTS_PER_WRITE = 4
assert PART_BYTES > HEAD_BYTES  # the first part holds the whole head

Reader = Callable[[int], Awaitable[bytes]]


class UploadTooLarge(ValueError):
    """The file is over the console's size limit; nothing of it was kept."""


@dataclass(frozen=True)
class HeldUpload:
    """An uploaded file waiting for its mapping (and maybe a dry run) before it is imported."""

    token: str
    owner: str
    filename: str
    size: int
    headers: list[str]
    samples: list[list[str]]
    # What the person chose when they asked for a dry run, to import the same way afterwards.
    mapping: dict[str, str] = field(default_factory=dict)
    on_duplicate: str = "skip"
    create_fields: bool = False
    dry_run_job: str | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> HeldUpload:
        """The upload a stored document describes."""
        return cls(
            token=doc["id"],
            owner=doc["owner"],
            filename=doc["filename"],
            size=doc["size"],
            headers=list(doc["headers"]),
            samples=[list(row) for row in doc["samples"]],
            mapping=dict(doc.get("mapping") or {}),
            on_duplicate=str(doc.get("on_duplicate") or "skip"),
            create_fields=bool(doc.get("create_fields")),
            dry_run_job=doc.get("dry_run_job"),
        )


async def hold_upload(
    store: DocumentStore,
    *,
    owner: str,
    filename: str,
    read: Reader,
    max_bytes: int,
    hold_for: timedelta,
) -> HeldUpload:
    """Keep a file read a part at a time (memory stays flat); its header is checked first.

    Raises UnreadableCsv (no header, not UTF-8) or UploadTooLarge, keeping nothing.
    """
    first = await read(PART_BYTES)
    if not first:
        raise UnreadableCsv("the file is empty; choose a CSV with a header row")
    head = read_head(first)
    token = new_token()
    expires_at = iso(utcnow() + hold_for)
    size, seq, part = 0, 0, first
    try:
        while part:
            batch: list[dict[str, Any]] = []
            while part and len(batch) < PARTS_PER_WRITE:
                size += len(part)
                if size > max_bytes:
                    raise UploadTooLarge(f"the file is larger than {max_bytes // 2**20} MB")
                data = base64.b64encode(part).decode()
                batch.append(
                    {
                        "id": new_id(),
                        "upload": token,
                        "seq": seq,
                        "data": data,
                        "expires_at": expires_at,
                    }
                )
                seq += 1
                part = await read(PART_BYTES)
            async with store.transaction() as tx:
                await UploadRepository(tx).add_parts(batch)
        doc = {
            "id": token,
            "owner": owner,
            "filename": filename or "upload.csv",
            "size": size,
            "headers": head.headers,
            "samples": head.samples,
            "expires_at": expires_at,
        }
        # Described last: a file half-stored when a replica died is never offered, only purged.
        async with store.transaction() as tx:
            await UploadRepository(tx).add(doc)
    except BaseException:
        await release_upload(store, token)
        raise
    return HeldUpload.of(doc)


async def held_upload(store: DocumentStore, token: str, *, owner: str) -> HeldUpload | None:
    """The held file, if this session uploaded it and it has not expired."""
    if not token:
        return None
    async with store.reader() as reader:
        doc = await UploadRepository(reader).get(token)
    if doc is None or doc["owner"] != owner or doc["expires_at"] <= iso(utcnow()):
        return None
    return HeldUpload.of(doc)


async def remember_choices(
    store: DocumentStore,
    held: HeldUpload,
    *,
    mapping: dict[str, str],
    on_duplicate: str,
    create_fields: bool,
    dry_run_job: str,
) -> None:
    """Keep the choices a dry run used, so the import can follow them unchanged."""
    async with store.transaction() as tx:
        uploads = UploadRepository(tx)
        doc = await uploads.get(held.token)
        if doc is not None:
            changes = {
                "mapping": mapping,
                "on_duplicate": on_duplicate,
                "create_fields": create_fields,
            }
            await uploads.replace({**doc, **changes, "dry_run_job": dry_run_job})


@asynccontextmanager
async def upload_file(store: DocumentStore, held: HeldUpload) -> AsyncIterator[IO[bytes]]:
    """The held file's bytes in a private temporary file (deleted on exit), read from the top."""
    with tempfile.TemporaryFile(prefix="crm-console-") as copy:
        after = -1
        while True:
            async with store.reader() as reader:
                parts = await UploadRepository(reader).parts(
                    held.token, after_seq=after, limit=PARTS_PER_WRITE
                )
            for part in parts:
                copy.write(base64.b64decode(part["data"]))
            if len(parts) < PARTS_PER_WRITE:
                break
            after = parts[-1]["seq"]
        copy.seek(0)
        yield copy


async def upload_head(store: DocumentStore, held: HeldUpload) -> bytes:
    """The held file's first part: all of it a preview reads (the importer reads a file's first
    256 KiB, a part holds 768 KiB), so checking a mapping never sends a large file again."""
    async with store.reader() as reader:
        parts = await UploadRepository(reader).parts(held.token, after_seq=-1, limit=1)
    return base64.b64decode(parts[0]["data"]) if parts else b""


async def release_upload(store: DocumentStore, token: str) -> None:
    """Forget a file once it was imported (or abandoned); the store soon forgets its pages."""
    async with store.transaction() as tx:
        await UploadRepository(tx).delete(token)
    store.forget_deleted()
