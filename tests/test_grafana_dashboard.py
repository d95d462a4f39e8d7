"""The Grafana dashboard in deploy/ is built on series the services really expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import crm_shared.observability.metrics  # noqa: F401  (registers the series)

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "crm-dashboard.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _exposed_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("crm_"):
            names.add(family.name)
            names.update(sample.name for sample in family.samples)
            names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def test_every_series_the_dashboard_queries_is_one_a_service_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(expressions) >= 12
    used = {name for expr in expressions for name in re.findall(r"\bcrm_[a-z_]+", expr)}
    unknown = used - _exposed_names()
    assert not unknown, f"the dashboard queries series no service exposes: {sorted(unknown)}"
    for family in ("crm_http_requests", "crm_consumer_lag", "crm_outbox_backlog"):
        assert any(name.startswith(family) for name in used), f"no panel shows {family}"
