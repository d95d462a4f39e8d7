"""Repositories over the storage port."""
