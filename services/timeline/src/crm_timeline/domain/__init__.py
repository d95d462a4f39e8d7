"""Pure timeline models and rules; no I/O."""
