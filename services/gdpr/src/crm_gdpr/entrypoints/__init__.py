"""HTTP routes and Kafka consumers."""
