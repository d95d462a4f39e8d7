"""Handlers: one unit of work each, writing the change and its events together."""
