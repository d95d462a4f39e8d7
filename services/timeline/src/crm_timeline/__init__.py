"""The timeline service: each contact's activity timeline, built from events and notes."""
