"""Following a rewrite job over HTTP until it ends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import VIEWER_KEY, auth
from tests.polling import eventually


async def job_finished(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    """The job a 202 answer points at (`Location`), once it completed or failed."""
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location.startswith("/v1/jobs/")

    async def read() -> dict[str, Any]:
        answer = await client.get(location, headers=auth(VIEWER_KEY))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    return await eventually(
        read, lambda job: job["status"] in ("completed", "failed"), what="the job to end"
    )
