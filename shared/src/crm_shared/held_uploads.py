"""Files the console holds between the import wizard's steps: short-lived by rule.

A held upload is a working copy of a file someone is about to import, kept in the console's
store (not one of the four services, and on no topic). It takes no part in the erasure saga:
instead its life is bounded, so an erasure never waits on it for long. It is deleted once
imported, or `CONSOLE_UPLOAD_HOLD_MINUTES` after the upload (purged with its pages and the
store's log), and that setting cannot exceed `MAX_HOLD_MINUTES`, far inside the erasure deadline.
Importing it later cannot bring an erased person back: the import refuses their rows as
suppressed. The console's settings take the bound from here and access bundles quote the note.
"""

from __future__ import annotations

from typing import Final

DEFAULT_HOLD_MINUTES: Final = 60
MAX_HOLD_MINUTES: Final = 24 * 60

HELD_UPLOADS_NOTE: Final[dict[str, str]] = {
    "holder": "console",
    "what": "files uploaded to the console's import wizard and not imported yet",
    "kept": (
        f"until imported, or CONSOLE_UPLOAD_HOLD_MINUTES after the upload (default "
        f"{DEFAULT_HOLD_MINUTES}, at most {MAX_HOLD_MINUTES}); then deleted"
    ),
    "erasure": (
        "not searched: deleted when its hold ends; an import of such a file refuses the "
        "erased person's rows"
    ),
}
