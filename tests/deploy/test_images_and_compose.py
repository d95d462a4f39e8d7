"""deploy/Dockerfile and deploy/compose.yaml, checked by reading them: no Docker engine here, so
the images are never built in this suite (`make images` builds them where Docker is)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.service_settings import DEPLOYABLES, unknown_env

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@dataclass
class Stage:
    """One FROM ... AS name block of a Dockerfile and its instructions."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args_of(self, instruction: str) -> list[str]:
        return [args for op, args in self.instructions if op == instruction]


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    found: list[Stage] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        if op.upper() == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            assert match, line
            found.append(Stage(match.group(1), match.group(2) or ""))
        elif found:
            found[-1].instructions.append((op.upper(), args.strip()))
    return found


STAGES = stages((DEPLOY / "Dockerfile").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_dockerfile_builds_in_stages_and_ships_only_the_virtualenv() -> None:
    names = [s.name for s in STAGES]
    assert names[-1] == "runtime" and "build" in names
    runtime = STAGES[-1]
    copies = runtime.args_of("COPY")
    assert any("--from=build" in c and "/app/.venv" in c for c in copies)
    assert not any("--from=uv" in c for c in copies), "uv stays in the build stage"
    build = next(s for s in STAGES if s.name == "build")
    syncs = [r for r in build.args_of("RUN") if "uv sync" in r]
    assert syncs and all("--frozen" in r and "--no-dev" in r for r in syncs)


def test_the_runtime_image_runs_as_a_non_root_user() -> None:
    (user,) = STAGES[-1].args_of("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric uid lets runAsNonRoot verify it"
    runs = " ".join(STAGES[-1].args_of("RUN"))
    assert f"--uid {uid}" in runs


def test_every_service_is_accepted_as_a_build_argument() -> None:
    build = next(s for s in STAGES if s.name == "build")
    case = next(r for r in build.args_of("RUN") if "case" in r)
    accepted = set(re.search(r"\s([a-z|]+)\)\s*;;", case).group(1).split("|"))  # type: ignore[union-attr]
    assert accepted == set(DEPLOYABLES)


def test_make_images_builds_each_service_with_its_settings_port() -> None:
    makefile = (ROOT / "Makefile").read_text()
    ports = dict(re.findall(r"(\w+):(\d{4})", re.search(r"IMAGE_PORTS :=(.*)", makefile).group(1)))  # type: ignore[union-attr]
    assert {name: int(port) for name, port in ports.items()} == {
        name: d.port for name, d in DEPLOYABLES.items()
    }


@pytest.mark.parametrize("service", sorted(DEPLOYABLES))
def test_compose_runs_each_service_with_variables_its_settings_read(service: str) -> None:
    spec = COMPOSE["services"][service]
    assert spec["build"]["args"] == {"SERVICE": service, "PORT": str(DEPLOYABLES[service].port)}
    assert unknown_env(service, set(spec["environment"])) == set()
    assert spec["environment"][f"{service.upper()}_PORT"] == str(DEPLOYABLES[service].port)


def test_compose_sends_traces_to_its_collector_which_has_a_config() -> None:
    collector = COMPOSE["services"]["otel-collector"]
    (mount,) = collector["volumes"]
    source, target, _ = mount.split(":")
    config = yaml.safe_load((DEPLOY / source).read_text())
    assert f"--config={target}" in collector["command"]
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    port = http.rsplit(":", 1)[1]
    for service in ("contacts", "timeline", "importer", "gdpr"):
        endpoint = COMPOSE["services"][service]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint == f"http://otel-collector:{port}"
    pipelines = config["service"]["pipelines"]
    assert "otlp" in pipelines["traces"]["receivers"]
    targets = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["static_configs"]
    assert set(targets[0]["targets"]) == {
        f"{s}:{DEPLOYABLES[s].port}"
        for s in ("contacts", "timeline", "importer", "gdpr", "console")
    }
