"""HTTP routes and Kafka consumers of the contacts service."""
