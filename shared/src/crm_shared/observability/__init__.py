"""What lets an operator watch a service: JSON logs, Prometheus metrics and OpenTelemetry traces."""
