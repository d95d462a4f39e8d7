"""The importer service: CSV imports in batches over the bus, CSV exports, erasure of its files."""
