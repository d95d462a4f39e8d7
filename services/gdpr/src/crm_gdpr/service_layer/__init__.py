"""Handlers: one unit of work each, writing changes and their events together."""
