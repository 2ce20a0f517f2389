"""The echo client window."""
