"""The server's control boundary: the controller that runs the services,
the typed commands it takes and the typed events it reports, and the
control thread the panel drives it through. The console's words live in
net/cli; nothing here knows about a terminal or a window."""
