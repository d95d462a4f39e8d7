"""The four services' APIs as an httpx MockTransport: just enough for the console's routes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

SUPPRESSED = "ab" * 32
ROLES = {"admin-key": "admin", "editor-key": "editor", "viewer-key": "viewer"}


def contact(**changes: Any) -> dict[str, Any]:
    """A stored contact as the contacts API returns it."""
    doc: dict[str, Any] = {
        "id": "c1",
        "version": 3,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": None,
        "phone_raw": None,
        "emails": [],
        "phones": [],
        "phones_raw": [],
        "company": "Analytical Engines",
        "account_id": None,
        "timezone": None,
        "owner": None,
        "tags": ["vip", "source:manual"],
        "custom_fields": {"plan": "pro"},
        "source": "manual",
        "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-02T10:00:00Z",
        "deleted_at": None,
    }
    doc.update(changes)
    return doc


@dataclass
class FakePlatform:
    """Answers like the services would, and records what the console sent."""

    stored: dict[str, Any] = field(default_factory=contact)
    calls: list[httpx.Request] = field(default_factory=list)
    # None: this platform has no duplicates or merges API (FastAPI's bare 404 for the route).
    duplicates: list[dict[str, Any]] | None = None
    # None: no bulk-actions API; otherwise the bodies it received.
    bulk_bodies: list[dict[str, Any]] | None = None
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    # True: the tenant has no contacts (every listing is empty).
    no_contacts: bool = False
    # Each import the importer received: its form fields and the file's bytes.
    imports: list[dict[str, Any]] = field(default_factory=list)
    # Each preview the importer received, likewise; a status to answer them with instead.
    previews: list[dict[str, Any]] = field(default_factory=list)
    # The body of each export the importer was asked for.
    exports: list[dict[str, Any]] = field(default_factory=list)
    preview_status: int | None = None

    def transport(self) -> httpx.MockTransport:
        """The transport to give the console app."""
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        role = ROLES.get(key)
        if role is None:
            return _problem(401, "missing or unknown API key")
        path, method = request.url.path, request.method
        if path == "/v1/audit-log":
            return _problem(403, "needs admin") if role != "admin" else self._audit(request)
        if path == "/v1/contacts" and method == "GET":
            if request.url.params.get("deleted") == "true" and role == "viewer":
                return _problem(403, "needs editor")
            if self.no_contacts:
                return _json({"items": [], "next_cursor": None})
            return _json({"items": [self.stored], "next_cursor": "next-page-cursor"})
        if path == "/v1/contacts" and method == "POST":
            body = json.loads(request.content)
            if "@" not in (body.get("email") or "@"):
                errors = [{"loc": ["body", "email"], "msg": "is not a valid email address"}]
                return _problem(422, "email is not a valid email address", errors=errors)
            return _json({**contact(), **body, "id": "c2"}, status=201)
        if path == "/v1/custom-fields":
            plan = {"key": "plan", "label": "Plan", "type": "dropdown", "options": ["basic", "pro"]}
            return _json({"items": [{**plan, "required": False}]})
        if path == "/v1/contacts/c1" and method == "GET":
            return _json(self.stored)
        if path == "/v1/contacts/c3" and method == "GET":
            return _json(contact(id="c3", name="Ada L.", company="Dup Corp", version=1))
        if path == "/v1/contacts/c1" and method == "PATCH":
            return self._patch(request)
        if path == "/v1/contacts/c1/timeline":
            item = {"id": "t1", "type": "note", "occurred_at": "2026-01-02T10:00:00Z"}
            return _json({"items": [{**item, "source": "x", "summary": "Met", "data": {}}]})
        if path.startswith("/v1/bulk-actions"):
            if self.bulk_bodies is None:
                return _no_route()
            if method == "POST":
                self.bulk_bodies.append(json.loads(request.content))
            job = {"id": "b1", "action": "add_tags", "status": "running", "total": 2}
            job.update({"processed": 1, "succeeded": 1, "failed": 0, "skipped": 0, "error": None})
            return _json(job, status=202 if method == "POST" else 200)
        if path.startswith("/v1/merges") or path == "/v1/contacts/c1/duplicates":
            return self._merging(request)
        if path in ("/v1/tags", "/v1/tag-rules"):
            return _json({"items": []})
        if path.startswith("/v1/forms"):
            return self._forms(request)
        if path.startswith("/v1/suppressions"):
            return self._suppressions(request)
        if path == "/v1/campaigns":
            spring = {"id": "cmp1", "name": "Spring launch", "description": None, "version": 1}
            return _json({"items": [spring], "next_cursor": None})
        if path.startswith("/v1/imports"):
            return self._importing(request)
        if path == "/v1/exports" and method == "POST":
            self.exports.append(json.loads(request.content))
            return _json({"id": "x1", "status": "queued"}, status=202)
        if path == "/v1/exports/x1":
            export = {"id": "x1", "status": "completed", "rows": 1, "fields": ["name"]}
            return _json({**export, "error": None})
        if path == "/v1/erasure-requests" and method == "GET":
            return self._erasures(request)
        if path == "/v1/erasure-requests" and method == "POST":
            body = {"id": "e9", "status": "pending", **json.loads(request.content)}
            return _json(body, status=202)
        if path == "/v1/contacts/c1/consents":
            return _json({"contact_id": "c1", "purposes": []})
        return _problem(404, f"no route {method} {path}")

    def _forms(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/forms":
            return _json({"items": list(self.forms.values())})
        if request.method == "GET":
            form = self.forms.get(request.url.path.rsplit("/", 1)[1])
            return _json(form) if form else _problem(404, "form not found")
        body = json.loads(request.content)
        if not {"email", "phone"} & set(body["fields"].values()):
            errors = [{"loc": ["body", "fields"], "msg": "an email or a phone must be mapped"}]
            return _problem(422, "fields: an email or a phone must be mapped", errors=errors)
        form_id = request.url.path.rsplit("/", 1)[1] if request.method == "PUT" else "f1"
        stored = {"id": form_id, "key": "fk_1", "submit_url": f"/v1/forms/{form_id}/submissions"}
        self.forms[form_id] = {**stored, **body}
        return _json(self.forms[form_id], status=200 if request.method == "PUT" else 201)

    def _suppressions(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            entry = {"hash": SUPPRESSED, "reason": "erasure", "created_at": "2026-01-03T10:00:00Z"}
            return _json({"items": [entry], "next_cursor": None})
        if request.url.path == "/v1/suppressions/check":
            hit = "ada@example.com" in json.loads(request.content).get("emails", [])
            return _json({"suppressed": hit, "hashes": [SUPPRESSED] if hit else []})
        return httpx.Response(204)

    def _audit(self, request: httpx.Request) -> httpx.Response:
        """One entry a page, two pages; a contact id with a space is refused as gdpr would."""
        if " " in request.url.params.get("contact_id", ""):
            return _problem(422, "contact_id: String should match pattern")
        cursor = request.url.params.get("cursor")
        entry = {"seq": 2 if cursor else 1, "at": "2026-01-02T10:00:00.000000Z", "fields": []}
        entry.update({"actor": "key:ops", "action": "crm.gdpr.erasure.requested.v1"})
        return _json(
            {"items": [{**entry, "target": "c1"}], "next_cursor": None if cursor else "a2"}
        )

    def _erasures(self, request: httpx.Request) -> httpx.Response:
        """Two pages of one request each: the cursor "stale" is one gdpr no longer accepts."""
        cursor = request.url.params.get("cursor")
        if cursor == "stale":
            return _problem(400, "cursor was made for sort=due_at; pass the same sort with it")
        number = 2 if cursor else 1
        erasure = {
            "id": f"e{number}",
            "contact_id": f"c{number}",
            "status": "pending",
            "requested_at": "2026-01-0{number}T10:00:00Z",
            "due_at": "2026-02-0{number}T10:00:00Z",
            "overdue": False,
        }
        return _json({"items": [erasure], "next_cursor": None if cursor else "erasure-page-2"})

    def _importing(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/imports/preview":
            return self._preview(request)
        if request.method == "POST" and request.url.path == "/v1/imports":
            fields, file = _multipart(request)
            undefined = _undefined_fields(fields)
            if undefined and fields.get("create_fields") != "true":
                return _problem(422, f"column '{undefined[0][0]}' maps to an undefined field")
            if undefined and ROLES[request.headers["authorization"][7:]] != "admin":
                return _problem(403, "creating a custom field needs the admin role")
            self.imports.append({**fields, "file": file})
            return _json({"id": f"j{len(self.imports)}", "status": "queued"}, status=202)
        if request.url.path.endswith("/errors"):
            cursor = request.url.params.get("cursor")
            row = {"row_number": 4 if cursor else 3, "reason": "name: is required"}
            row["values"] = {"Full Name": "", "E-mail": "no.name@example.com"}
            return _json({"items": [row], "next_cursor": None if cursor else "r2"})
        number = request.url.path.removeprefix("/v1/imports/j")
        if number.isdigit() and 0 < int(number) <= len(self.imports):
            sent = self.imports[int(number) - 1]
            job = {"id": f"j{number}", "status": "completed", "dry_run": "dry_run" in sent}
            counts = {"processed_rows": 2, "total_rows": 2, "created": 2, "updated": 0}
            return _json({**job, **counts, "skipped": 0, "failed": 0, "error": None})
        return _problem(404, "no such import")

    def _preview(self, request: httpx.Request) -> httpx.Response:
        """Like the importer's preview: the mapping's undefined custom fields (the only one the
        tenant has is `plan`), typed number when the column is called "Points"."""
        fields, file = _multipart(request)
        self.previews.append({**fields, "file": file})
        if self.preview_status is not None:
            return _problem(self.preview_status, "the importer is busy")
        create = fields.get("create_fields") == "true"
        problems = [
            {
                "column": column,
                "field": target,
                "problem": "undefined_custom_field",
                "type": "number" if column == "Points" else "text",
                "created_on_upload": create,
                "message": f"column '{column}' maps to '{target}', which is not defined",
            }
            for column, target in _undefined_fields(fields)
        ]
        return _json({"columns": [], "rows": [], "warnings": [], "mapping_problems": problems})

    def _merging(self, request: httpx.Request) -> httpx.Response:
        if self.duplicates is None:
            return _no_route()
        if request.url.path.endswith("/duplicates"):
            return _json({"items": self.duplicates})
        if request.url.path == "/v1/merges/preview":
            body = json.loads(request.content)
            chosen = body["field_choices"].get("company")
            company = "Dup Corp" if chosen == "c3" else self.stored["company"]
            values = [
                {"contact_id": "c1", "value": self.stored["company"]},
                {"contact_id": "c3", "value": "Dup Corp"},
            ]
            return _json(
                {
                    "contact": {**self.stored, "company": company},
                    "conflicts": [{"field": "company", "values": values}],
                }
            )
        return _problem(404, "no such merge")

    def _patch(self, request: httpx.Request) -> httpx.Response:
        expected = request.headers.get("if-match", "").strip('"')
        if expected and int(expected) != self.stored["version"]:
            return _problem(412, "contact c1 changed meanwhile", current=self.stored)
        body = json.loads(request.content)
        self.stored = {**self.stored, **body, "version": self.stored["version"] + 1}
        return _json(self.stored)


def _undefined_fields(fields: dict[str, str]) -> list[tuple[str, str]]:
    """(column, field) of each column mapped to a custom field other than `plan`."""
    mapping: dict[str, str] = json.loads(fields.get("mapping") or "{}")
    return [
        (column, target)
        for column, target in mapping.items()
        if target.startswith("custom.") and target != "custom.plan"
    ]


def _multipart(request: httpx.Request) -> tuple[dict[str, str], bytes]:
    """The text fields and the file of a multipart/form-data request."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields: dict[str, str] = {}
    file = b""
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = part.partition(b"\r\n\r\n")
        body = body.removesuffix(b"\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        if b"filename=" in head:
            file = body
        else:
            fields[name] = body.decode()
    return fields, file


def _no_route() -> httpx.Response:
    # What the services answer for a route they do not have.
    body = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found"}
    return httpx.Response(404, json=body, headers={"content-type": "application/problem+json"})


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _problem(status: int, detail: str, **extra: Any) -> httpx.Response:
    kind = "https://crm.example/problems/problem"
    body = {"type": kind, "title": "Problem", "status": status, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})
