"""Renders a kustomization the way `kubectl kustomize` does, for the subset deploy/k8s uses.

kustomize is not installed where the tests run, so this reads `resources` (files and folders with
their own kustomization), `namespace`, `labels` (pairs, on metadata only), `images` and
`patches` given by `path` (strategic merge: maps merge, lists of named items merge by name, other
lists are replaced). Anything else in a kustomization is refused, so the check cannot silently
skip a feature someone starts using.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def load_documents(path: Path) -> list[Doc]:
    """Every non-empty YAML document of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def render(folder: Path) -> list[Doc]:
    """The resources a kustomization folder produces, in order."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise ValueError(f"{folder}: kustomize features this renderer lacks: {sorted(unsupported)}")
    docs: list[Doc] = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        docs.extend(render(path) if path.is_dir() else load_documents(path))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{folder}: only patches given by path are supported: {patch}")
        for change in load_documents(folder / patch["path"]):
            merge(_target(docs, change, folder / patch["path"]), change)
    for entry in kustomization.get("labels", []):
        if set(entry) != {"pairs"}:
            raise ValueError(f"{folder}: labels support only `pairs`: {entry}")
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        for container in containers(docs):
            if container["image"].split(":")[0] == image["name"]:
                name = image.get("newName", image["name"])
                container["image"] = f"{name}:{image['newTag']}" if "newTag" in image else name
    return docs


def _target(docs: list[Doc], change: Doc, source: Path) -> Doc:
    for doc in docs:
        if (doc["apiVersion"], doc["kind"], doc["metadata"]["name"]) == (
            change["apiVersion"],
            change["kind"],
            change["metadata"]["name"],
        ):
            return doc
    raise ValueError(
        f"{source}: the patch of {change['kind']}/{change['metadata']['name']} matches no resource"
    )


def merge(into: Doc, change: Doc) -> None:
    """Apply a strategic-merge patch in place."""
    for key, value in change.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge(current, value)
        elif _named_list(current) and _named_list(value):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            into[key] = copy.deepcopy(value)


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def pod_spec(doc: Doc) -> Doc | None:
    """The pod spec of a workload (Deployment, Job), None for other kinds."""
    if doc["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
        spec: Doc = doc["spec"]["template"]["spec"]
        return spec
    return None


def containers(docs: list[Doc]) -> list[Doc]:
    """Every container (init containers too) of every workload."""
    found: list[Doc] = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            found.extend(spec.get("initContainers", []) + spec["containers"])
    return found
