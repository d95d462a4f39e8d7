"""The contacts service: contacts, tags and the suppression list; contact lifecycle events."""
