"""Helpers that drive real transcode components in tests and benchmarks (not used by the commands)."""
