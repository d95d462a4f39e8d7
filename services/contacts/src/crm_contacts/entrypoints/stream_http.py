"""`GET /v1/contacts/stream`: every contact matching the listing's filter, one JSON per line.

Exports read a tenant's contacts through it (the importer writes them to CSV or .xlsx as the
lines arrive). Documents go out as the listing shows them (`public_view`), serialized by orjson
straight from the stored dicts: a pydantic model per contact, as the listing builds, would cost
more than reading the contact. With `fields` (an export's columns) the store builds each line
itself and it is sent as read (service_layer/contact_stream.py). Registered before
`/v1/contacts/{contact_id}`, which would otherwise take `stream` for an id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from crm_contacts.domain.contact import public_view
from crm_contacts.entrypoints.deps import Store
from crm_contacts.entrypoints.search_http import listing_criteria
from crm_contacts.service_layer.contact_stream import ContactStream, open_stream, stream_paths
from crm_shared.cursors import UUID_PATTERN
from crm_shared.http import ViewerAuth
from crm_shared.problems import Unprocessable

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

# Paging parameters of the listing mean nothing here: refused rather than silently ignored.
_PAGING = frozenset({"limit", "cursor", "sort"})
_NOT_FILTERS = frozenset({"after", "include_deleted", "fields"})
_DESCRIPTION = """Every contact matching the filter, in creation (id) order, as
`application/x-ndjson`: one contact per line, shaped as `GET /v1/contacts` lists them. The filter
parameters are the listing's, with the same rules (erased contacts never; soft-deleted ones with
`deleted=true` or `include_deleted=true`, editor role). `after` (a contact id) starts after that
contact: a client whose connection dropped resumes after the last line it read. A bad filter is a
422 before any line is sent; `limit`, `cursor` and `sort` are refused (no pages, one order).

`fields` (comma-separated, as an export names them: `id,name,email,tags,custom.plan`; a custom
field may also be named `custom_fields.plan`) reduces each line to the contact's `id` and those
fields, shaped as in the full line (`{"id": ..., "name": ..., "custom_fields": {"plan": ...}}`;
a custom field the contact lacks is null). A field no export may list, or one named twice, is a
422 before any line is sent."""
_NDJSON = "application/x-ndjson"


async def _lines(stream: ContactStream) -> AsyncIterator[bytes]:
    newline = orjson.OPT_APPEND_NEWLINE
    async for docs in stream.chunks():
        yield b"".join([orjson.dumps(public_view(doc), option=newline) for doc in docs])


async def _projected_lines(stream: ContactStream, paths: tuple[str, ...]) -> AsyncIterator[bytes]:
    # The store's JSON goes out as read: one join per chunk.
    async for rows in stream.json_chunks(paths):
        yield b"\n".join([line for _, line in rows]) + b"\n"


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"description": "One contact per line", "content": {_NDJSON: {}}}},
    description=_DESCRIPTION,
)
async def stream_contacts(
    request: Request,
    principal: ViewerAuth,
    store: Store,
    after: Annotated[
        str | None,
        Query(description="A contact id: start after it", pattern=f"^{UUID_PATTERN.pattern}$"),
    ] = None,
    include_deleted: Annotated[
        bool, Query(description="Live and soft-deleted contacts alike (editor)")
    ] = False,
    fields: Annotated[
        str | None,
        Query(
            description="Comma-separated export fields: each line holds the id and these only",
            examples=["id,name,email,tags,custom.plan"],
        ),
    ] = None,
) -> StreamingResponse:
    """Stream the contacts matching the filter in the query string."""
    params = request.query_params.multi_items()
    if refused := sorted({name for name, _ in params} & _PAGING):
        raise Unprocessable(
            f"{refused[0]} does not apply to the stream: it has no pages and one order",
            extra={"parameter": refused[0]},
        )
    filters = (p for p in params if p[0] not in _NOT_FILTERS)
    criteria = listing_criteria(principal, filters, include_deleted)
    paths = stream_paths(fields) if fields is not None else None
    stream = await open_stream(
        store,
        tenant=principal.tenant,
        criteria=criteria,
        after=after,
        include_deleted=include_deleted,
    )
    lines = _lines(stream) if paths is None else _projected_lines(stream, paths)
    return StreamingResponse(lines, media_type=_NDJSON)
