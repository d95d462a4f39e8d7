"""The gdpr service: consent ledger, data-subject exports, erasure saga and the audit log."""
