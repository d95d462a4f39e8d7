"""The dry run's look-up: what importing these rows would do, decided as the batch apply
decides it (same validation, same matching, same rules) and writing nothing."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.commands import LookUpImportRows
from crm_contacts.domain.importing import prepare_rows
from crm_contacts.service_layer.imports import plan_rows
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.storage import DocumentStore


async def look_up_import_rows(
    store: DocumentStore, command: LookUpImportRows, *, tenant: str, settings: ContactsSettings
) -> list[dict[str, Any]]:
    """Each row's would-be result: created, updated, skipped or failed, with the contact it
    matched (none for a row that would create one), its reason and its warnings."""
    prepared = prepare_rows(
        command.rows, region=settings.crm_default_region, suppression_key=settings.suppression_key
    )
    async with store.reader() as session:
        planned = await plan_rows(
            session,
            tenant,
            prepared,
            policy=command.on_duplicate,
            match_on=command.match_on,
            occurred_at=command.occurred_at,
            now=now_iso(),
        )
    created = {doc["id"] for doc in planned.plan.inserts}
    # An id the plan made up for a row it would create is no contact: it is not shown.
    return [
        {**result, "contact_id": None if result["contact_id"] in created else result["contact_id"]}
        for result in planned.plan.results
    ]
