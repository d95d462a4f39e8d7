"""Pure contact rules: validation, document shape, import planning. No I/O."""
