"""Producers take their batching from the settings (bench/broker_bench.py measured the defaults)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_shared.messaging.kafka import new_producer, producer_options
from crm_shared.settings import PlatformSettings


def test_the_defaults_send_a_lone_record_at_once_in_large_uncompressed_batches() -> None:
    options = producer_options(PlatformSettings())
    assert options["linger_ms"] == 0
    assert options["max_batch_size"] == 256 * 1024
    assert options["compression_type"] is None
    assert options["acks"] == "all"


async def test_batching_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_LINGER_MS", "20")
    monkeypatch.setenv("KAFKA_MAX_BATCH_BYTES", "1048576")
    monkeypatch.setenv("KAFKA_COMPRESSION", "gzip")
    options = producer_options(PlatformSettings())
    assert (options["linger_ms"], options["max_batch_size"], options["compression_type"]) == (
        20,
        1048576,
        "gzip",
    )
    # aiokafka takes them as they are (it refuses a codec whose library is missing).
    producer = new_producer(PlatformSettings(), client_id="test")
    await producer.stop()


@pytest.mark.parametrize(
    ("name", "value"), [("KAFKA_COMPRESSION", "lz4"), ("KAFKA_LINGER_MS", "-1")]
)
def test_a_setting_no_producer_can_use_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        PlatformSettings()
