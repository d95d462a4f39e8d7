"""Pure models and rules of the gdpr service: no I/O."""
