"""The chat service and its client (PROTOCOL.md section 2).

``protocol`` holds the rules both sides share, ``framing`` the wire format,
``accounts`` and ``history`` the server's two stores, ``server`` the
service and ``client`` the blocking client and the window's session thread.
"""
