"""The TCP port scanner: ``ports`` parses what to scan, ``engine`` scans it.

It stands on its own: nothing here imports the servers, and the command
line and the window both render the engine's plain events.
"""
