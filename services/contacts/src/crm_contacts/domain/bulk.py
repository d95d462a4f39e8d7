"""Bulk actions: one action over a selection of contacts, run in chunks by a background runner.

A job records its selection once (explicit ids, or a filter evaluated at the start), then its
progress chunk by chunk, so it survives a restart and its counts never drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from crm_shared.problems import Unprocessable

Action = Literal[
    "add_tags",
    "remove_tags",
    "delete",
    "restore",
    "assign_owner",
    "add_to_campaign",
    "remove_from_campaign",
    "export",
]
ACTIONS: tuple[str, ...] = get_args(Action)
Status = Literal["queued", "running", "completed", "failed", "cancelled"]
Outcome = Literal["succeeded", "failed", "skipped"]
ACTIVE: frozenset[str] = frozenset({"queued", "running"})
# Explicit ids per request; larger selections use a filter.
MAX_IDS = 10_000
# Deleting more contacts than this at once needs the admin role.
EDITOR_DELETE_LIMIT = 1_000
TAGS_PER_ACTION = 50
# Contacts an export part hands the importer by id (the ContactFilter `ids` cap).
EXPORT_PART = 10_000
DEFAULT_EXPORT_FIELDS = ["id", "name", "email", "phone", "company", "tags"]


def _problem(param: str, reason: str) -> Unprocessable:
    return Unprocessable(f"{param} {reason}", extra={"parameter": param})


def _tag_list(params: Mapping[str, Any]) -> list[str]:
    tags = params.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise _problem("params.tags", "must be a non-empty list of tag names")
    if len(tags) > TAGS_PER_ACTION:
        raise _problem("params.tags", f"may name at most {TAGS_PER_ACTION} tags")
    return list(tags)


def checked_params(action: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters `action` needs, checked for shape; 422 naming the one missing or wrong."""
    if action in ("add_tags", "remove_tags"):
        return {"tags": _tag_list(params)}
    if action == "assign_owner":
        if "owner" not in params:
            raise _problem("params.owner", "is required (a user id, or null to unassign)")
        owner = params["owner"]
        if owner is not None and not isinstance(owner, str):
            raise _problem("params.owner", "must be a user id or null")
        return {"owner": owner}
    if action in ("add_to_campaign", "remove_from_campaign"):
        campaign = params.get("campaign_id")
        if not isinstance(campaign, str) or not campaign:
            raise _problem("params.campaign_id", "is required (an id from /v1/campaigns)")
        return {"campaign_id": campaign}
    if action == "export":
        fields = params.get("fields", DEFAULT_EXPORT_FIELDS)
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise _problem("params.fields", "must be a list of export field names")
        return {"fields": list(fields)}
    return {}


def new_job(
    *,
    job_id: str,
    tenant: str,
    actor: str,
    action: str,
    params: Mapping[str, Any],
    ids: list[str] | None,
    filter_doc: Mapping[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """A queued job; `position` is the next chunk to run."""
    return {
        "id": job_id,
        "tenant": tenant,
        "version": 1,
        "actor": actor,
        "action": action,
        "params": dict(params),
        "ids": ids,
        "filter": dict(filter_doc) if filter_doc is not None else None,
        "status": "queued",
        "total": 0,
        "processed": 0,
        "succeeded": 0,
        "failed": 0,
        "skipped": 0,
        "chunks": 0,
        "position": 0,
        "error": None,
        "export_ids": [],
        "created_at": now,
        "started_at": None,
        "finished_at": None,
    }


def counted(job: Mapping[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    """The job after one more chunk with these outcomes."""
    updated = dict(job)
    updated["processed"] = int(job["processed"]) + len(outcomes)
    for name in ("succeeded", "failed", "skipped"):
        updated[name] = int(job[name]) + outcomes.count(name)
    updated["position"] = int(job["position"]) + 1
    return updated


def chunk_id(job_id: str, number: int) -> str:
    """The id of a job's selection chunk (ordered by number)."""
    return f"{job_id}-{number:07d}"
