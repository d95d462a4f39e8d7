"""Storage repositories of the contacts service."""
