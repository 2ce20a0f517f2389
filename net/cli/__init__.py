"""The command-line faces: ``main`` parses and dispatches to ``echo``,
``scan`` and ``console`` (``netdesk serve``), which share ``common``.
Imports run one way: main -> the subcommands -> common."""
