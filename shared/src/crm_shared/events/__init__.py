"""Versioned event and command schemas; the public contract other products subscribe to."""

from crm_shared.events.campaigns import CampaignCreated, CampaignMembershipChanged
from crm_shared.events.contacts import (
    AccountCreated,
    AccountDeleted,
    AccountUpdated,
    ContactAnonymized,
    ContactCreated,
    ContactDeleted,
    ContactProfile,
    ContactPurged,
    ContactRestored,
    ContactsImported,
    ContactsMerged,
    ContactUpdated,
    FieldChange,
    ImportedContact,
    MergeUndone,
    in_import_summary,
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
    ImportRow,
    RowResult,
)
from crm_shared.events.registry import EVENT_TYPES, parse_event
from crm_shared.events.timeline import ActivityRecorded, NoteAdded

__all__ = [
    "EVENT_TYPES",
    "AccountCreated",
    "AccountDeleted",
    "AccountUpdated",
    "ActivityRecorded",
    "CampaignCreated",
    "CampaignMembershipChanged",
    "ConsentChanged",
    "ContactAnonymized",
    "ContactCreated",
    "ContactDeleted",
    "ContactProfile",
    "ContactPurged",
    "ContactRestored",
    "ContactUpdated",
    "ContactsImported",
    "ContactsMerged",
    "ErasureCompleted",
    "ErasureReceipt",
    "ErasureRequested",
    "ExportCompleted",
    "FieldChange",
    "ImportBatchProcessed",
    "ImportContactsBatch",
    "ImportJobFinished",
    "ImportRow",
    "ImportedContact",
    "MergeUndone",
    "NoteAdded",
    "RowResult",
    "SuppressionLifted",
    "in_import_summary",
    "parse_event",
]
