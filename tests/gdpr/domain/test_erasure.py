"""Erasure saga rules: per-record receipts decide the request's status and its announcement."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_gdpr.domain.erasure import ErasureRequest, ReceiptApplied, ReceiptStatus, apply_receipt

NOW = "2025-01-02T00:00:00.000000Z"
RECEIVED = datetime(2025, 1, 1, tzinfo=UTC)


class Saga:
    """A request and the stored status of each (record, service) receipt, as the handler keeps."""

    def __init__(self, records: int = 1) -> None:
        self.request = ErasureRequest.open(
            id="r1",
            tenant="acme",
            contact_id="c0",
            record_count=records,
            selector="contact_ids" if records > 1 else "contact_id",
            requested_by="key:a",
            received=RECEIVED,
            deadline_days=30,
            participants=("contacts", "timeline", "importer"),
        )
        self.stored: dict[tuple[str, str], ReceiptStatus] = {}

    def apply(
        self, service: str, status: str = "completed", detail: str | None = None, record: str = "c0"
    ) -> ReceiptApplied:
        previous = self.stored.get((record, service), "pending")
        applied = apply_receipt(
            self.request,
            service=service,
            previous=previous,
            status="completed" if status == "completed" else "failed",
            at=NOW,
            detail=detail,
            now=NOW,
        )
        if applied.changed:
            self.stored[(record, service)] = "completed" if status == "completed" else "failed"
            self.request = applied.request
        return applied


def test_new_request_awaits_every_participant_and_is_due_in_the_legal_month() -> None:
    request = Saga().request
    assert request.status == "pending"
    assert {s: r.status for s, r in request.receipts.items()} == {
        "contacts": "pending",
        "timeline": "pending",
        "importer": "pending",
    }
    assert request.received_at.startswith("2025-01-01T00:00:00")
    assert request.due_at.startswith("2025-01-31T00:00:00")
    assert request.warn_at.startswith("2025-01-25T00:00:00")  # 80% of 30 days


def test_overdue_only_while_open_past_the_warning_time() -> None:
    saga = Saga()
    assert not saga.request.overdue("2025-01-24T23:59:59.000000Z")
    assert saga.request.overdue("2025-01-25T00:00:01.000000Z")
    for service in ("contacts", "timeline", "importer"):
        saga.apply(service)
    assert not saga.request.overdue("2025-02-25T00:00:00.000000Z")


def test_all_completed_receipts_complete_the_request_and_announce_it() -> None:
    saga = Saga()
    saga.apply("contacts")
    saga.apply("timeline")
    applied = saga.apply("importer")
    assert applied.request.status == "completed"
    assert applied.request.completed_at == NOW
    assert applied.announce == "completed"


def test_every_record_needs_every_services_receipt() -> None:
    saga = Saga(records=2)
    for service in ("contacts", "timeline", "importer"):
        saga.apply(service, record="c0")
    assert saga.request.status == "pending"
    assert saga.request.services["timeline"].completed == 1
    saga.apply("contacts", record="c1")
    saga.apply("timeline", record="c1")
    applied = saga.apply("importer", record="c1")
    assert (applied.request.status, applied.announce) == ("completed", "completed")


def test_partial_receipts_keep_the_request_pending_without_announcing() -> None:
    applied = Saga().apply("contacts")
    assert applied.request.status == "pending"
    assert applied.announce is None


def test_a_failed_receipt_fails_the_request_and_keeps_the_detail() -> None:
    applied = Saga().apply("timeline", "failed", "disk full")
    assert applied.request.status == "failed"
    assert applied.request.receipts["timeline"].detail == "disk full"
    assert applied.request.receipts["timeline"].status == "failed"
    assert applied.announce is None


def test_failure_is_announced_once_every_participant_reported() -> None:
    saga = Saga()
    saga.apply("timeline", "failed", "disk full")
    saga.apply("contacts")
    applied = saga.apply("importer")
    assert (applied.request.status, applied.announce) == ("failed", "failed")


def test_a_retried_receipt_can_complete_a_failed_request() -> None:
    saga = Saga()
    saga.apply("timeline", "failed", "disk full")
    saga.apply("contacts")
    saga.apply("importer")
    applied = saga.apply("timeline")
    assert (applied.request.status, applied.announce) == ("completed", "completed")
    assert applied.request.services["timeline"].failed == 0


def test_same_receipt_again_changes_nothing() -> None:
    saga = Saga()
    saga.apply("contacts")
    request = saga.request
    applied = saga.apply("contacts")
    assert applied.changed is False
    assert applied.request == request


def test_completed_request_ignores_later_receipts() -> None:
    saga = Saga()
    for service in ("contacts", "timeline", "importer"):
        saga.apply(service)
    applied = saga.apply("timeline", "failed", "late", record="c9")
    assert applied.changed is False
    assert applied.request.status == "completed"


def test_receipt_from_a_non_participant_is_ignored() -> None:
    applied = Saga().apply("billing")
    assert applied.changed is False
