"""The port scanner window."""
