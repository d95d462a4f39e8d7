"""Which imports created or changed a contact: what `GET /v1/contacts?import_id=` finds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# A contact imported again and again keeps the latest imports only, so its document stays small.
MAX_IMPORT_IDS = 20


def mark_imported(docs: Iterable[dict[str, Any]], job_id: str) -> None:
    """Record on each document (created or changed by import `job_id`) that this import did it."""
    for doc in docs:
        earlier = [i for i in doc.get("import_ids") or () if i != job_id]
        doc["import_ids"] = [*earlier, job_id][-MAX_IMPORT_IDS:]
