"""The console's use cases: signing in and reading what a screen shows from the services."""
