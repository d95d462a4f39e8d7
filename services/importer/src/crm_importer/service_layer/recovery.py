"""Cleaning up after crashed instances: the exports they were writing, the uploads they received.

Replicas share the store and the data folder, so a starting instance must not take another live
instance's work for leftovers. Each export and each arriving upload names its owner (the
instance's presence id, crm_shared.presence); only work whose owner is gone is failed or deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import WorkQueue
from crm_importer.service_layer.dry_runs import fail_interrupted_dry_runs
from crm_importer.service_layer.exports import fail_interrupted_exports
from crm_shared.presence import Presence
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)
_ALL = 100_000


@dataclass(frozen=True)
class Recovered:
    """What a recovery cleaned up."""

    failed_exports: int
    deleted_uploads: int


class _Liveness:
    """Asks the store once per owner whether it is gone."""

    def __init__(self, presence: Presence) -> None:
        self._presence = presence
        self._known: dict[str, bool] = {}

    async def gone(self, owner: str) -> bool:
        if owner not in self._known:
            self._known[owner] = await self._presence.is_gone(owner)
        return self._known[owner]


async def recover(store: DocumentStore, files: DataFiles, presence: Presence) -> Recovered:
    """Fail the exports of gone instances and delete the uploads they left half-written, and
    accepted uploads no job names (a crash between accepting a file and committing its job)."""
    liveness = _Liveness(presence)
    failed = await fail_interrupted_exports(store, files, owner_gone=liveness.gone)
    # Before the sweep: a failed dry run keeps its upload until its rows' cells are copied.
    failed += await fail_interrupted_dry_runs(store, files, owner_gone=liveness.gone)
    async with store.reader() as session:
        queue = WorkQueue(session)
        # Uploads stay while their job is read, awaits results, or has failed rows to copy.
        queued = {
            job_id
            for kind in ("import", "results", "errors")
            for job_id, _ in await queue.items(kind, limit=_ALL)
        }
    gone = {owner for owner in files.upload_owners() if await liveness.gone(owner)}
    deleted = files.sweep_uploads(keep=queued, gone=gone)
    if failed or deleted:
        log.info(
            "recovery: %d interrupted export(s) and dry run(s) failed, %d stale upload(s) deleted",
            failed,
            deleted,
        )
    return Recovered(failed_exports=failed, deleted_uploads=deleted)
