"""The console's outside world: its session store and the four services' HTTP APIs."""
