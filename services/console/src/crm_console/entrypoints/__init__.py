"""The console's HTTP routes: HTML pages and htmx fragments."""
