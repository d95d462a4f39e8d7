"""Checking the wizard's mapping with the importer's preview before a dry run or an import.

The importer answers which columns go to custom fields the tenant has not defined
(`mapping_problems`: the column, the field, the type it would be created with, whether the
upload would create it), so the mapping step can show them next to the columns and offer to
create the fields. The preview stores and creates nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crm_console.adapters.api import ApiError, PlatformApi
from crm_console.service_layer.uploads import HeldUpload, upload_head
from crm_shared.storage import DocumentStore


@dataclass(frozen=True)
class MappingCheck:
    """What the importer said about a mapping."""

    # Column header -> the importer's mapping problem for it.
    problems: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How the importer reads the file (rows above the header, custom fields it could not check).
    warnings: list[str] = field(default_factory=list)
    # Why the mapping could not be checked at all (the importer refused or did not answer).
    unchecked: str | None = None

    @property
    def fields_to_create(self) -> list[dict[str, Any]]:
        """The undefined custom fields, each once."""
        return list({p["field"]: p for p in self.problems.values()}.values())


async def check_mapping(
    api: PlatformApi,
    store: DocumentStore,
    held: HeldUpload,
    *,
    key: str,
    mapping: dict[str, str],
    create_fields: bool,
) -> MappingCheck:
    """The importer's preview of the held file under `mapping`; never raises for its refusal
    (the dry run and the import check again and say why)."""
    head = await upload_head(store, held)
    try:
        response = await api.send(
            "importer",
            "POST",
            "/v1/imports/preview",
            key=key,
            files={"file": (held.filename, head, "text/csv")},
            data={"mapping": json.dumps(mapping), "create_fields": str(create_fields).lower()},
        )
    except ApiError as exc:
        return MappingCheck(unchecked=exc.message)
    preview = response.json()
    problems = {p["column"]: p for p in preview.get("mapping_problems") or []}
    return MappingCheck(problems=problems, warnings=list(preview.get("warnings") or []))
