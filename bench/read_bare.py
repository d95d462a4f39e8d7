"""The read benchmark's ceilings: bare Starlette routes on the contacts store, no service code.

`GET /json` answers one fixed contact document (a bare JSON route); `GET /contacts/{id}` reads a
document with hand-written SQL; `GET /search?q=` runs a bare FTS5 query. Served by uvicorn as
the services are, on the same HTTP protocol (`python -m bench.read_bare --port N`: for
httptools, the services' crm_shared.http_server protocol), the store's path in READ_BENCH_DB.
"""

from __future__ import annotations

import argparse
import os
import sqlite3

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crm_shared.http_server import http_protocol
from crm_shared.storage.sqlite_ids import stored_id
from crm_shared.storage.sqlite_tenants import stored_tenant
from crm_shared.storage.sqlite_text import match_expression
from crm_shared.text import search_fold

_DB = sqlite3.connect(
    f"file:{os.environ.get('READ_BENCH_DB', ':memory:')}?mode=ro", uri=True, check_same_thread=False
)
# The rows hold the tenant's code (sqlite_tenants.py): looked up once, as the store does.
_TENANT = stored_tenant(_DB, os.environ.get("READ_BENCH_TENANT", "bench"))
_ONE = _DB.execute("SELECT doc FROM c_contacts LIMIT 1").fetchone()
_FIXED = _ONE[0].encode() if _ONE else b"{}"


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def fixed(request: Request) -> Response:
    """One fixed contact document: the cost of a bare JSON route."""
    return _json(_FIXED)


async def contact(request: Request) -> Response:
    """A contact read with hand-written SQL."""
    row = _DB.execute(
        "SELECT doc FROM c_contacts WHERE tenant = ? AND id = ?",
        (_TENANT, stored_id(request.path_params["contact_id"])),
    ).fetchone()
    return _json(row[0].encode()) if row else _json(b"{}", 404)


async def search(request: Request) -> Response:
    """A bare FTS5 query, first 50 matches."""
    # The index keeps no positions: a word is all of its trigrams (the store's own expression).
    expression = match_expression(search_fold(request.query_params.get("q", "")).split())
    if expression is None:
        return _json(b'{"items": []}')
    rows = _DB.execute(
        "SELECT c.doc FROM ft_contacts AS f CROSS JOIN c_contacts AS c ON c.n = f.rowid "
        "WHERE ft_contacts MATCH ? LIMIT 50",
        (expression,),
    ).fetchall()
    return _json(b'{"items": [' + b",".join(r[0].encode() for r in rows) + b"]}")


app = Starlette(
    routes=[
        Route("/json", fixed),
        Route("/contacts/{contact_id}", contact),
        Route("/search", search),
    ]
)


def main() -> None:
    """Serve the bare routes as a service is served (the same uvicorn protocol and loop)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    uvicorn.run(
        app,
        port=args.port,
        log_level="warning",
        access_log=False,  # as the services serve (their access line is their own)
        http=http_protocol(args.http),
        loop=args.loop,
    )


if __name__ == "__main__":
    main()
