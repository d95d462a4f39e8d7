"""Consent rules two services share: the purpose slug, the filter grammar, what "granted" means.

The gdpr ledger records decisions per (purpose, channel); channel "any" applies to every channel.
The contacts service keeps each contact's current state from the ledger's events and answers
`consent=<purpose>:<channel>` (granted now) and `consent=!<purpose>:<channel>` (not granted:
withdrawn or never given) in search, exports and bulk selections. Both read these rules here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import get_args

from crm_shared.events.gdpr import ConsentChannel

# The gdpr ledger's purpose rule: a lower-case slug (forms declare purposes under it too).
PURPOSE_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
PURPOSE_BODY = r"[a-z][a-z0-9_-]{0,63}"
ANY_CHANNEL = "any"
# The channels a message can go out on; "any" is granted only when all of them are.
CONCRETE_CHANNELS: tuple[str, ...] = tuple(c for c in get_args(ConsentChannel) if c != ANY_CHANNEL)
NOT_GRANTED = "!"
# The same rule as `_SELECTOR`, for JSON Schema and pydantic (which check it before parsing).
SELECTOR_PATTERN = rf"^{NOT_GRANTED}?{PURPOSE_BODY}:({'|'.join(get_args(ConsentChannel))})$"
_SELECTOR = re.compile(
    rf"(?P<negated>{NOT_GRANTED})?(?P<purpose>{PURPOSE_BODY}):(?P<channel>[a-z]+)"
)
SELECTOR_DESCRIPTION = (
    "<purpose>:<channel> (granted now) or !<purpose>:<channel> (not granted: withdrawn or "
    f"never given); channel one of {', '.join(get_args(ConsentChannel))}"
)


def consent_token(purpose: str, channel: str) -> str:
    """How a granted (purpose, channel) is named in a filter and stored on a contact."""
    return f"{purpose}:{channel}"


@dataclass(frozen=True)
class ConsentSelector:
    """One `consent=` filter value: a (purpose, channel) granted now, or not granted."""

    purpose: str
    channel: str
    negated: bool

    @property
    def token(self) -> str:
        """The granted token this selector looks for (or for its absence)."""
        return consent_token(self.purpose, self.channel)


def parse_selector(text: str) -> ConsentSelector:
    """`marketing:email` or `!marketing:email`; ValueError naming the rule otherwise."""
    match = _SELECTOR.fullmatch(text)  # fullmatch: `$` would let a trailing newline in
    if match is None or match["channel"] not in get_args(ConsentChannel):
        raise ValueError(f"{text!r} is not {SELECTOR_DESCRIPTION}")
    return ConsentSelector(match["purpose"], match["channel"], bool(match["negated"]))


@dataclass(frozen=True)
class ConsentDecision:
    """The latest ledger decision for one (purpose, channel) and when it took effect."""

    purpose: str
    channel: str
    granted: bool
    effective_at: str
    entry_id: str

    @property
    def order(self) -> tuple[str, str]:
        """Later decisions sort after earlier ones (ids are time-ordered: they break ties)."""
        return (self.effective_at, self.entry_id)


def granted_tokens(decisions: Iterable[ConsentDecision]) -> list[str]:
    """Every (purpose, channel) granted now, as sorted tokens.

    On a concrete channel the later of its own decision and the purpose's "any" decision counts
    ("marketing withdrawn on sms" after "marketing granted on any" leaves sms withdrawn, email
    granted); `<purpose>:any` is granted when every concrete channel is.
    """
    latest: dict[tuple[str, str], ConsentDecision] = {}
    for decision in decisions:
        held = latest.get((decision.purpose, decision.channel))
        if held is None or decision.order > held.order:
            latest[(decision.purpose, decision.channel)] = decision
    tokens: list[str] = []
    for purpose in sorted({purpose for purpose, _ in latest}):
        general = latest.get((purpose, ANY_CHANNEL))
        granted_on = [
            channel
            for channel in CONCRETE_CHANNELS
            if _deciding(latest.get((purpose, channel)), general)
        ]
        tokens += [consent_token(purpose, channel) for channel in granted_on]
        if len(granted_on) == len(CONCRETE_CHANNELS):
            tokens.append(consent_token(purpose, ANY_CHANNEL))
    return sorted(tokens)


def _deciding(specific: ConsentDecision | None, general: ConsentDecision | None) -> bool:
    candidates = [d for d in (specific, general) if d is not None]
    if not candidates:
        return False
    return max(candidates, key=lambda d: d.order).granted
