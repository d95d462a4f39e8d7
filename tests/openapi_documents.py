"""Each service's OpenAPI document, built once a test session instead of once a test.

Building one walks every route's models: contacts' took 0.5 s at load ~1 and 2.7 s at load ~6,
and nine tests read it. Tests that check an app serves its document still ask the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from crm_contacts.bootstrap import create_app as contacts_app
from crm_gdpr.bootstrap import create_app as gdpr_app
from crm_importer.bootstrap import create_app as importer_app
from crm_timeline.bootstrap import create_app as timeline_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "contacts": contacts_app,
    "timeline": timeline_app,
    "importer": importer_app,
    "gdpr": gdpr_app,
}


class OpenApiDocuments:
    """Each service's document, built on first use in the test environment `env`.

    Every read parses its own copy (as a client reads /openapi.json), so a test that changes
    what it got leaves the next test's copy alone.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._built: dict[str, bytes] = {}

    def __getitem__(self, service: str) -> dict[str, Any]:
        if service not in self._built:
            with pytest.MonkeyPatch.context() as patch:
                for name, value in self._env.items():
                    patch.setenv(name, value)
                self._built[service] = orjson.dumps(APPS[service]().openapi())
        document: dict[str, Any] = orjson.loads(self._built[service])
        return document
