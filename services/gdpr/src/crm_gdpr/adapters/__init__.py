"""Repositories over the storage session and HTTP clients of other services."""
