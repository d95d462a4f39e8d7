"""Kafka plumbing: topic creation, the producer, the outbox relay and the idempotent consumer."""
