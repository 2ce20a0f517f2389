"""The server control panel window."""
