"""What the console decides without I/O: sessions and roles, form values, import mappings."""
