"""Where a write-to-timeline latency goes: the bench's send times joined with the service's stages.

The timeline runs with CRM_STAGE_LOG (crm_shared.observability.stages): each consumer poll it
handled writes the ids of its events and when the poll returned, its transaction waited for the
store's writer, got it and committed. Per activity that splits the latency into
  broker + fetch   sent -> the poll that returned it
  before the tx    poll -> the transaction asks for the writer (parsing, validating)
  writer wait      asks -> holds the writer (another transaction or the relay's deletes hold it)
  in the tx        holds -> its item is stamped (reads, processed marks) ...
  to commit        ... -> committed (inserts, outbox events, COMMIT)
  offsets commit   committed -> the poll's offsets committed (after the latency; the next poll
                   waits for it)
printed for all activities and for the slowest 1%, beside the relay's batches (read -> broker
acknowledged -> marked sent, the latter holding the writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# (name, from stamp, to stamp); "item" is the item's id stamp, "sent" the bench's send time.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("broker + fetch", "sent", "polled"),
    ("before the tx", "polled", "tx_wait"),
    ("writer wait", "tx_wait", "tx_locked"),
    ("in the tx", "tx_locked", "item"),
    ("to commit", "item", "tx_committed"),
    # Not part of the latency, but the next poll waits for it.
    ("offsets commit", "tx_committed", "offsets_committed"),
)


@dataclass(frozen=True)
class Activity:
    """One activity's stamps (UNIX seconds), by stage name."""

    stamps: dict[str, float]

    @property
    def latency(self) -> float:
        """Send to item stamp, as the bench's headline figure counts it."""
        return self.stamps["item"] - self.stamps["sent"]

    def stage_ms(self, start: str, end: str) -> float | None:
        """Milliseconds between two stamps (None when either is missing)."""
        if start not in self.stamps or end not in self.stamps:
            return None
        return 1000 * (self.stamps[end] - self.stamps[start])


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record the service wrote so far."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def join(
    records: list[dict[str, Any]],
    *,
    sent_at: dict[str, float],
    stamped_at: dict[str, float],
) -> list[Activity]:
    """Activities (by event id) with the bench's send time, the item stamp and the poll's stages."""
    polls: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("kind") == "poll":
            for event_id in record.get("ids", ()):
                polls[event_id] = record
    activities = []
    for event_id, sent in sent_at.items():
        if event_id not in stamped_at:
            continue
        stamps = {"sent": sent, "item": stamped_at[event_id]}
        poll = polls.get(event_id, {})
        stamps.update({k: v for k, v in poll.items() if isinstance(v, float)})
        activities.append(Activity(stamps))
    return activities


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def stage_lines(activities: list[Activity], relay: list[dict[str, Any]]) -> list[str]:
    """Printable lines: each stage's p50/p99 over all activities and its mean in the slowest 1%."""
    if not activities:
        return ["  stages: none recorded"]
    slowest = sorted(activities, key=lambda a: a.latency)[-max(1, len(activities) // 100) :]
    lines = [f"  stages (ms)       all p50   all p99   slowest 1% ({len(slowest)}) mean"]
    for name, start, end in STAGES:
        every = [v for a in activities if (v := a.stage_ms(start, end)) is not None]
        tail = [v for a in slowest if (v := a.stage_ms(start, end)) is not None]
        mean = sum(tail) / len(tail) if tail else float("nan")
        lines.append(
            f"    {name:<15} {_quantile(every, 0.5):8.1f}  {_quantile(every, 0.99):8.1f}  "
            f"{mean:8.1f}"
        )
    if relay:
        publish = [1000 * (r["acked"] - r["read"]) for r in relay]
        mark = [1000 * (r["marked"] - r["acked"]) for r in relay]
        sizes = [r["n"] for r in relay]
        lines.append(
            f"  relay: {len(relay)} batches of {sum(sizes) / len(sizes):.0f} events on average; "
            f"read->acked p50 {_quantile(publish, 0.5):.1f} / p99 {_quantile(publish, 0.99):.1f} "
            f"ms; marking sent p50 {_quantile(mark, 0.5):.1f} / p99 {_quantile(mark, 0.99):.1f} ms"
        )
    return lines


def relay_records(
    records: list[dict[str, Any]], *, since: float, until: float
) -> list[dict[str, Any]]:
    """The relay's batches read within a time window."""
    return [r for r in records if r.get("kind") == "relay" and since <= r["read"] <= until]
