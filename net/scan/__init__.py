"""The TCP port scanner: ``targets`` and ``ports`` say what to scan,
``engine`` scans it (``connects``, ``procs`` and ``timing`` do the work),
``events`` is what it reports, ``services`` and ``banners`` name what it found.

It stands on its own: nothing here imports the servers, and the command
line and the window both render the engine's plain events.
"""
