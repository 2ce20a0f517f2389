"""The echo service and its client (PROTOCOL.md section 1)."""
