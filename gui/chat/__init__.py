"""The chat client window and what it alone needs (certificate pins)."""
