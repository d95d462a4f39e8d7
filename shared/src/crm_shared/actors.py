"""Who caused an event: one readable principal format, `<kind>:<name>`, the same everywhere.

It is the envelope's `actor`, the audit log's actor and a consent entry's `recorded_by`:

- `key:<label>`: an API key, by the label given in CRM_API_KEYS (`key:tenant:roles:label`), or by
  its fingerprint (12 hex digits of its SHA-256, never the key) when it has none;
- `user:<subject>`: a bearer token's subject (OIDC);
- `import:<job id>`: an import job;
- `job:<job id>`: a background job rewriting many contacts (tag rename, field type change);
- `system:<task>`: a platform task (`system:erasure`, `system:retention`);
- `form:<form id>`: a public form's submission (it carries no API key);
- other products name themselves, e.g. `product:<name>` (the timeline keeps what they send).
"""

from __future__ import annotations

import re

# No "@": a label like an email address could carry personal data into every event.
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ACTOR_PATTERN = r"^[a-z][a-z0-9-]*:.+$"


def key_actor(label: str) -> str:
    """The actor of an API key, by its label (or its fingerprint when it has none)."""
    return f"key:{label}"


def import_actor(job_id: str) -> str:
    """The actor of what an import job wrote."""
    return f"import:{job_id}"


def system_actor(task: str) -> str:
    """The actor of a platform task acting on its own (erasure, retention)."""
    return f"system:{task}"


def form_actor(form_id: str) -> str:
    """The actor of what a public form's submission wrote."""
    return f"form:{form_id}"


def valid_label(label: str) -> str:
    """A key label, refused unless it is 1-64 plain characters (it is logged and published)."""
    if not LABEL_PATTERN.match(label):
        raise ValueError(
            "an API key label must be 1-64 letters, digits or . _ - (starting with a letter "
            "or digit)"
        )
    return label


def job_actor(job_id: str) -> str:
    """The actor of what a background job (a tenant-wide rewrite) wrote."""
    return f"job:{job_id}"
