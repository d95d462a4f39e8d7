"""The layering rules of docs/architecture.md, checked on the syntax trees (no module is imported).

1. A service's `domain/` imports no adapter, entrypoint, service layer or composition root, and no
   I/O framework or adapter module (it stays pure: rules and data).
2. A service's `entrypoints/` never open a store session (`store.transaction()` / `store.reader()`):
   routes and consumers call handlers in `service_layer/`, which own the unit of work.
3. No service imports another service's package, and `shared/` imports none of them: services
   talk over Kafka topics and HTTP only.

Code that breaks a rule today is listed in KNOWN_VIOLATIONS with the rule it breaks, so the rule
holds for everything else; whoever fixes one deletes its line (a stale line fails the test too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("contacts", "timeline", "importer", "gdpr", "console")
SERVICE_PACKAGES = {f"crm_{name}" for name in SERVICES}
FRAMEWORKS = ("fastapi", "starlette", "aiokafka", "pymongo", "sqlite3", "aiosqlite", "httpx")
# Modules of crm_shared that do I/O: a domain module must not reach them either.
SHARED_IO = (
    "crm_shared.storage.sqlite",
    "crm_shared.storage.mongo",
    "crm_shared.storage.memory",
    "crm_shared.messaging",
    "crm_shared.devstack",
    "crm_shared.runtime",
    "crm_shared.service",
)
NOT_FROM_DOMAIN = ("adapters", "entrypoints", "service_layer", "bootstrap")
SESSION_CALLS = ("transaction", "reader")


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: which rule, in which module (dotted name), and what breaks it."""

    rule: str
    module: str
    detail: str


# Each entry is a violation found when the rule was written down; delete it once fixed.
KNOWN_VIOLATIONS: frozenset[Violation] = frozenset()


@dataclass(frozen=True)
class Module:
    """A source module: its dotted name, its package's dotted name and its syntax tree."""

    name: str
    package: str
    tree: ast.Module


def _modules(src: Path) -> Iterator[Module]:
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        package = name if is_package else ".".join(parts[:-1])
        yield Module(name, package, ast.parse(path.read_text(), filename=str(path)))


def all_modules() -> list[Module]:
    """Every module of shared/src and services/*/src."""
    found = list(_modules(ROOT / "shared" / "src"))
    for service in SERVICES:
        found += _modules(ROOT / "services" / service / "src")
    return found


def imported_names(module: Module) -> Iterator[str]:
    """The absolute dotted names a module imports (relative imports resolved)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _layer(module: Module) -> tuple[str | None, str | None]:
    """(service package, layer) of a module, e.g. ("crm_contacts", "domain")."""
    parts = module.name.split(".")
    top = parts[0] if parts[0] in SERVICE_PACKAGES else None
    return top, (parts[1] if top and len(parts) > 1 else None)


def domain_violations(module: Module) -> Iterator[Violation]:
    """Rule 1: the domain stays free of I/O and of the outer layers."""
    service, layer = _layer(module)
    if layer != "domain":
        return
    forbidden = [f"{service}.{outer}" for outer in NOT_FROM_DOMAIN]
    for name in set(imported_names(module)):
        for prefix in (*forbidden, *FRAMEWORKS, *SHARED_IO):
            if _within(name, prefix):
                yield Violation("domain imports an outer layer or I/O", module.name, name)


def session_violations(module: Module) -> Iterator[Violation]:
    """Rule 2: entrypoints never open a store session themselves."""
    if _layer(module)[1] != "entrypoints":
        return
    functions = [
        n for n in ast.walk(module.tree) if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)
    ]
    for function in functions or [module.tree]:
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
            ):
                # Named by function, not line, so edits elsewhere keep KNOWN_VIOLATIONS valid.
                where = getattr(function, "name", "<module>")
                detail = f"{ast.unparse(node.func)}() in {where}"
                yield Violation("entrypoint opens a store session", module.name, detail)


def cross_service_violations(module: Module) -> Iterator[Violation]:
    """Rule 3: a service imports no other service, shared imports none."""
    owner = module.name.split(".")[0]
    for name in set(imported_names(module)):
        top = name.split(".")[0]
        if top in SERVICE_PACKAGES and top != owner:
            yield Violation("imports another service's package", module.name, name)


def violations() -> set[Violation]:
    """Every broken rule in the source tree."""
    found: set[Violation] = set()
    for module in all_modules():
        for check in (domain_violations, session_violations, cross_service_violations):
            found.update(check(module))
    return found


def test_the_layering_rules_hold_except_for_the_known_violations() -> None:
    new = sorted(violations() - KNOWN_VIOLATIONS)
    assert not new, "layering rules broken (see docs/architecture.md):\n" + "\n".join(
        f"  {v.rule}: {v.module}: {v.detail}" for v in new
    )


def test_every_known_violation_still_exists_so_the_list_only_shrinks() -> None:
    fixed = sorted(KNOWN_VIOLATIONS - violations())
    assert not fixed, "fixed, so delete from KNOWN_VIOLATIONS:\n" + "\n".join(
        f"  {v.rule}: {v.module}: {v.detail}" for v in fixed
    )


def _module(source: str, name: str) -> Module:
    package = name.rsplit(".", 1)[0]
    return Module(name, package, ast.parse(source))


@pytest.mark.parametrize(
    "source",
    [
        "import fastapi",
        "from aiokafka import AIOKafkaConsumer",
        "from crm_contacts.adapters.repository import ContactRepository",
        "from ..service_layer import handlers",
        "from crm_shared.storage.sqlite import SqliteStore",
    ],
)
def test_a_domain_module_importing_an_outer_layer_or_framework_is_caught(source: str) -> None:
    found = list(domain_violations(_module(source, "crm_contacts.domain.contact")))
    assert len(found) >= 1


def test_a_domain_module_may_use_shared_types_and_its_own_domain() -> None:
    source = "from crm_shared.storage import Eq\nfrom .contact import new_contact\nimport re"
    assert list(domain_violations(_module(source, "crm_contacts.domain.search"))) == []


def test_an_entrypoint_opening_a_session_is_caught_but_calling_a_handler_is_not() -> None:
    route = (
        "async def route(store):\n"
        "    async with store.transaction() as session:\n"
        "        pass\n"
        "    return await handlers.create_contact(store)\n"
    )
    [found] = session_violations(_module(route, "crm_contacts.entrypoints.http"))
    assert found.detail == "store.transaction() in route"


def test_importing_another_service_is_caught_in_services_and_in_shared() -> None:
    source = "from crm_contacts.domain import contact"
    assert list(cross_service_violations(_module(source, "crm_timeline.service_layer.x")))
    assert list(cross_service_violations(_module(source, "crm_shared.filters")))
    assert not list(cross_service_violations(_module(source, "crm_contacts.service_layer.x")))
