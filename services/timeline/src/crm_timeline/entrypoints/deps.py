"""Dependencies the routes get from the objects the app's lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_shared.storage import DocumentStore


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


StoreDep = Annotated[DocumentStore, Depends(_store)]
