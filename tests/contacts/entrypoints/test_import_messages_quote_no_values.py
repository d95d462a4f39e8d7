"""Import row errors and warnings name the field and the kind of problem, never the cell.

They travel on the bus (batch results), into the importer's store and its reports; the cells
stay only in the user's own file and in errors.csv, which repeats the row.
"""

from __future__ import annotations

import logging

import orjson
import pytest

from crm_shared.events import ImportBatchProcessed
from tests.conftest import ADMIN_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch

# Cells that do not validate, each unlike any word of a message.
BAD_EMAIL = "zq-ada@@lovelace"
BAD_PHONE = "+0987651234"
BAD_TIMEZONE = "Mars/Olympus"
BAD_OPTION = "Platinumzz"
RETIRED_OPTION = "Legacyzz"
LONELY_EMAIL = "zq-nobody@"


async def test_no_published_record_and_no_log_line_quotes_a_refused_cell(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await define_field(harness, "plan", "dropdown", options=["Gold", RETIRED_OPTION])
    response = await harness.client.patch(
        "/v1/custom-fields/plan",
        json={"retired_options": [RETIRED_OPTION]},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code in (200, 202), response.text
    caplog.set_level(logging.DEBUG)
    rows = [
        {"name": "Ada", "email": BAD_EMAIL, "phone": BAD_PHONE, "timezone": BAD_TIMEZONE},
        {"name": "Bo", "custom_fields": {"plan": BAD_OPTION}},
        {"name": "Cy", "custom_fields": {"plan": RETIRED_OPTION}},
        {"email": LONELY_EMAIL},
    ]
    await harness.handle(envelope(import_batch(rows, policy="update")))

    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    results = processed.data["results"]
    assert [r["status"] for r in results] == ["created", "created", "created", "failed"]
    assert sorted(results[0]["warnings"]) == [
        "email is not a valid address (left out)",
        "phone is not a valid phone number (left out)",
        "timezone is not a valid IANA timezone name (for example Europe/Paris) (left out)",
    ]
    assert results[1]["warnings"][0].startswith("custom_fields.plan: is not an option of 'plan'")
    retired = "custom_fields.plan: is a retired option of 'plan' (left out)"
    assert results[2]["warnings"] == [retired]
    assert results[3]["error"] == "row 4: email is not a valid address"

    published = b"".join(orjson.dumps(event.data) for event in await harness.outbox())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for cell in (BAD_EMAIL, BAD_PHONE, BAD_TIMEZONE, BAD_OPTION, LONELY_EMAIL):
        assert cell.encode() not in published, cell
        assert cell not in logged, cell
