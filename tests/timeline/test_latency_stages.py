"""The latency bench's stage split: the service's poll records joined with the bench's sends."""

from __future__ import annotations

from bench.latency_stages import join, relay_records, stage_lines


def test_each_activity_gets_its_polls_stamps_and_the_slowest_are_named() -> None:
    records = [
        {
            "kind": "poll",
            "ids": ["a", "b"],
            "polled": 10.010,
            "tx_wait": 10.011,
            "tx_locked": 10.031,
            "tx_committed": 10.040,
            "offsets_committed": 10.045,
        },
        {"kind": "relay", "n": 2, "read": 10.05, "acked": 10.06, "marked": 10.0601},
        {"kind": "relay", "n": 1, "read": 99.0, "acked": 99.1, "marked": 99.2},
    ]
    activities = join(
        records,
        sent_at={"a": 10.000, "b": 10.005, "c": 10.006},
        stamped_at={"a": 10.035, "b": 10.036},
    )

    assert [round(a.latency * 1000) for a in activities] == [35, 31]
    assert round(activities[0].stage_ms("tx_wait", "tx_locked") or 0) == 20
    relay = relay_records(records, since=10.0, until=10.1)
    assert [r["n"] for r in relay] == [2]
    lines = stage_lines(activities, relay)
    writer_wait = next(line for line in lines if "writer wait" in line)
    assert writer_wait.split()[2:] == ["20.0", "20.0", "20.0"]
    assert "relay: 1 batches of 2 events" in lines[-1]
