"""Every published event type, so consumers can parse an envelope's data into its model."""

from __future__ import annotations

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events.activities import ActivityRecordedV2
from crm_shared.events.campaigns import CampaignCreated, CampaignMembershipChanged
from crm_shared.events.contacts import (
    AccountCreated,
    AccountDeleted,
    AccountUpdated,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactPurged,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactState,
    ContactUpdated,
    MergeUndone,
)
from crm_shared.events.gdpr import (
    ConsentChanged,
    ErasureCompleted,
    ErasureReceipt,
    ErasureRequested,
    SuppressionLifted,
)
from crm_shared.events.imports import (
    ExportCompleted,
    ImportBatchProcessed,
    ImportContactsBatch,
    ImportJobFinished,
    JobDataDeleted,
)
from crm_shared.events.sources import (
    ConversationEnded,
    ConversationLinked,
    ConversationMessage,
    ConversationStarted,
    FormSubmitted,
    UpsertContactByExternalId,
    VisitorIdentified,
)
from crm_shared.events.timeline import (
    ActivityRecorded,
    NoteAdded,
    NoteDeleted,
    NoteEdited,
    TimelineActivityRecorded,
)

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        ContactCreated,
        ContactUpdated,
        ContactDeleted,
        ContactRestored,
        ContactAnonymized,
        ContactPurged,
        ContactsImported,
        ContactState,
        ContactsMerged,
        MergeUndone,
        AccountCreated,
        AccountUpdated,
        AccountDeleted,
        CampaignCreated,
        CampaignMembershipChanged,
        ImportContactsBatch,
        ImportBatchProcessed,
        ImportJobFinished,
        ExportCompleted,
        JobDataDeleted,
        ActivityRecorded,
        ActivityRecordedV2,
        NoteAdded,
        NoteEdited,
        NoteDeleted,
        TimelineActivityRecorded,
        ConsentChanged,
        ErasureRequested,
        ErasureReceipt,
        SuppressionLifted,
        ErasureCompleted,
        ConversationStarted,
        ConversationMessage,
        VisitorIdentified,
        ConversationEnded,
        UpsertContactByExternalId,
        ConversationLinked,
        FormSubmitted,
    )
}


def parse_event(envelope: EventEnvelope) -> EventData | None:
    """Return the typed payload of a known event type, or None for a type this code doesn't know."""
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        return None
    return model.model_validate(envelope.data)
