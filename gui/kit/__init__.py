"""The Tk kit every window stands on: the tool window, the queue poller,
the theme and DPI scaling, settings, icons, error reports, releasing Tk objects."""
