"""Benchmarks that print a figure next to a ceiling measured in the same run."""
