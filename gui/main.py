"""The ``netdesk`` entry point: subcommands go to the console side in
``net``; with none, the desktop window opens.
"""

from __future__ import annotations

import argparse
import sys

from net import datadir
from net.cli import main as cli
from net.cli.common import EXIT_INTERRUPTED
from net.i18n import _

STOP_TIMEOUT = 10.0  # seconds the services get to stop after the last window closed


def main(argv: list[str] | None = None) -> int:
    try:
        return cli.main(argv, open_gui=run_gui)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def run_gui(args: argparse.Namespace) -> int:
    import tkinter as tk

    from gui.kit.settings import Settings
    from gui.launcher import Launcher, choose_language

    try:
        data_dir = datadir.ensure_data_dir(args.data_dir)
    except OSError as e:
        print("netdesk: " + _("cannot use data directory: {reason}").format(reason=e),
              file=sys.stderr)
        return 1
    # --lang (already in force), else the Language menu's last choice, else the system's.
    settings = Settings(data_dir / "settings.json")
    choose_language(settings, args.lang)
    handler = datadir.setup_logging(data_dir, args.log_level.upper())
    try:
        root = tk.Tk(className="netdesk")
    except tk.TclError as e:
        print("netdesk: " + _("cannot open a window ({reason}). Is there a display? "
                              "The subcommands serve, echo and scan work without one.").format(
            reason=e), file=sys.stderr)
        datadir.remove_logging(handler)
        return 1
    prepare_root(root, data_dir, settings)
    launcher = None
    try:
        launcher = Launcher(root, data_dir, settings, handler, lang=args.lang)
        if args.smoke_test:
            from gui.smoke import run_smoke
            return run_smoke(launcher)
        if args.exit_when_drawn:
            while not root.winfo_ismapped():
                root.update()
            root.update()
            from gui.kit.style import theme_in_use
            print(f"drawn {theme_in_use(root)}", flush=True)
            launcher.quit()
            return 0
        root.mainloop()
        return 0
    finally:
        # The windows are gone; the services a panel ran finish stopping on
        # their control thread (clients get their bye), joined here, bounded.
        if launcher is not None:
            launcher.finish(STOP_TIMEOUT)
        datadir.remove_logging(handler)


def prepare_root(root, data_dir, settings) -> None:
    """The look the user chose last (or the system's), and errors in Tk
    callbacks logged and shown: a windowed build has no stderr."""
    from gui.kit import errors, style
    style.apply(root, settings.get("view", "theme", "system"))
    errors.install(root, datadir.log_path(data_dir))
