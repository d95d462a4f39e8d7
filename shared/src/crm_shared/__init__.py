"""Event schemas and common plumbing shared by the CRM services."""
