"""Erasure saga rules: receipts decide the request's status and when the outcome is announced."""

from __future__ import annotations

from crm_gdpr.domain.erasure import ErasureRequest, ReceiptApplied, apply_receipt

NOW = "2025-01-02T00:00:00.000000Z"


def _open() -> ErasureRequest:
    return ErasureRequest.open(
        id="r1", tenant="acme", contact_id="c1", requested_by="key_a", requested_at=NOW
    )


def _apply(
    request: ErasureRequest, service: str, status: str = "completed", detail: str | None = None
) -> ReceiptApplied:
    return apply_receipt(
        request,
        service=service,
        status="completed" if status == "completed" else "failed",
        at=NOW,
        detail=detail,
        now=NOW,
    )


def test_new_request_awaits_every_participant() -> None:
    request = _open()
    assert request.status == "pending"
    assert {s: r.status for s, r in request.receipts.items()} == {
        "contacts": "pending",
        "timeline": "pending",
        "importer": "pending",
    }


def test_all_completed_receipts_complete_the_request_and_announce_it() -> None:
    request = _open()
    request = _apply(request, "contacts").request
    request = _apply(request, "timeline").request
    applied = _apply(request, "importer")
    assert applied.request.status == "completed"
    assert applied.request.completed_at == NOW
    assert applied.announce == "completed"


def test_partial_receipts_keep_the_request_pending_without_announcing() -> None:
    applied = _apply(_open(), "contacts")
    assert applied.request.status == "pending"
    assert applied.announce is None


def test_a_failed_receipt_fails_the_request_and_keeps_the_detail() -> None:
    applied = _apply(_open(), "timeline", "failed", "disk full")
    assert applied.request.status == "failed"
    assert applied.request.receipts["timeline"].detail == "disk full"
    assert applied.announce is None


def test_failure_is_announced_once_every_participant_reported() -> None:
    request = _apply(_open(), "timeline", "failed", "disk full").request
    request = _apply(request, "contacts").request
    applied = _apply(request, "importer")
    assert (applied.request.status, applied.announce) == ("failed", "failed")


def test_a_retried_receipt_can_complete_a_failed_request() -> None:
    request = _apply(_open(), "timeline", "failed", "disk full").request
    request = _apply(request, "contacts").request
    request = _apply(request, "importer").request
    applied = _apply(request, "timeline")
    assert (applied.request.status, applied.announce) == ("completed", "completed")


def test_same_receipt_again_changes_nothing() -> None:
    request = _apply(_open(), "contacts").request
    applied = _apply(request, "contacts")
    assert applied.changed is False
    assert applied.request == request


def test_completed_request_ignores_later_receipts() -> None:
    request = _open()
    for service in ("contacts", "timeline", "importer"):
        request = _apply(request, service).request
    applied = _apply(request, "timeline", "failed", "late")
    assert applied.changed is False
    assert applied.request.status == "completed"


def test_receipt_from_a_non_participant_is_ignored() -> None:
    applied = _apply(_open(), "billing")
    assert applied.changed is False
