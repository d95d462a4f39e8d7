"""Every service's OpenAPI document declares its 4xx answers as application/problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.openapi_problems import PROBLEM_JSON, declare_problems
from tests.openapi_documents import APPS, OpenApiDocuments


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path not in ("/healthz", "/readyz")
    ]


@pytest.mark.parametrize("service", list(APPS))
def test_every_operation_declares_its_problems_as_problem_json(
    openapi_documents: OpenApiDocuments, service: str
) -> None:
    document = openapi_documents[service]
    assert "Problem" in document["components"]["schemas"]
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert {"401", "403", "422"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        if method in ("post", "patch", "put", "delete"):
            assert "409" in responses, where
        for code, response in responses.items():
            if code.startswith("4"):
                assert list(response["content"]) == [PROBLEM_JSON], (where, code)
        assert responses["401"]["headers"]["WWW-Authenticate"]


def test_a_routes_own_answers_keep_their_description() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/v1/things/{id}": {
                "get": {
                    "parameters": [{"name": "id", "in": "path"}],
                    "responses": {
                        "200": {"description": "OK", "content": {"application/json": {}}},
                        "410": {"description": "Deleted for good"},
                    },
                }
            },
            "/healthz": {"get": {"responses": {"200": {"description": "OK"}}}},
        }
    }
    declared = declare_problems(document)
    responses = declared["paths"]["/v1/things/{id}"]["get"]["responses"]
    assert responses["410"]["description"] == "Deleted for good"
    assert list(responses["410"]["content"]) == [PROBLEM_JSON]
    assert set(responses) == {"200", "404", "410", "422"}
    assert list(responses["200"]["content"]) == ["application/json"]
    assert set(declared["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_if_match_body_ids_and_uploads_declare_400_404_and_415() -> None:
    document: dict[str, Any] = {
        "components": {
            "schemas": {
                "Erase": {"type": "object", "properties": {"contact_id": {"type": "string"}}}
            }
        },
        "paths": {
            "/v1/erasures": {
                "post": {
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Erase"}}
                        }
                    },
                    "responses": {"202": {"description": "Accepted"}},
                }
            },
            "/v1/uploads": {
                "post": {
                    "requestBody": {"content": {"multipart/form-data": {"schema": {}}}},
                    "responses": {"202": {"description": "Accepted"}},
                }
            },
            "/v1/things": {
                "delete": {
                    "parameters": [{"name": "If-Match", "in": "header"}],
                    "responses": {"204": {"description": "Deleted"}},
                }
            },
        },
    }
    paths = declare_problems(document)["paths"]
    assert "404" in paths["/v1/erasures"]["post"]["responses"]
    assert "415" in paths["/v1/uploads"]["post"]["responses"]
    assert "404" not in paths["/v1/uploads"]["post"]["responses"]
    assert {"400", "412"} <= set(paths["/v1/things"]["delete"]["responses"])
