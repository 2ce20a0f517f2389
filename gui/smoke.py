"""``netdesk --smoke-test``: prove a build works without a person.

Builds the launcher and every tool window, waits until each is drawn,
closes them all (which stops every worker) and exits 0 within 10 s; any
error, or a window not drawn in time, exits 1 with the reason on stderr.
A headless run under Xvfb thus checks a frozen executable end to end.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback

from net.i18n import _, ngettext, number

DEADLINE = 10.0


def run_smoke(launcher) -> int:
    root = launcher.root
    start = time.monotonic()
    errors: list[str] = []
    root.report_callback_exception = lambda exc, val, tb: errors.append(
        "".join(traceback.format_exception(exc, val, tb)))
    try:
        windows = [root] + [opener() for _, _, _, opener in launcher.tools()]
        while not all(w.winfo_ismapped() for w in windows):
            root.update()
            if time.monotonic() - start > DEADLINE / 2:
                missing = [w.title() for w in windows if not w.winfo_ismapped()]
                raise TimeoutError(_("not drawn in time: {windows}").format(
                    windows=", ".join(missing)))
            time.sleep(0.01)
        root.update()
        drawn = [w.title() for w in windows]
        from gui.kit.style import theme_in_use
        theme = theme_in_use(root)
        launcher.quit()
        # Every worker thread must be gone, as after a real Quit.
        while threading.active_count() > 1 and time.monotonic() - start < DEADLINE:
            time.sleep(0.01)
        left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        if left:
            raise RuntimeError(_("threads left behind: {threads}").format(
                threads=", ".join(left)))
        if errors:
            raise RuntimeError(errors[0])
    except Exception as e:
        print(_("smoke test failed: {error}").format(error=e), file=sys.stderr)
        return 1
    print(ngettext("smoke test passed: {n} window drawn and closed in {seconds} s "
                   "({titles}); theme {theme}",
                   "smoke test passed: {n} windows drawn and closed in {seconds} s "
                   "({titles}); theme {theme}", len(drawn)).format(
        n=number(len(drawn)), seconds=number(time.monotonic() - start, 2),
        titles="; ".join(drawn), theme=theme), flush=True)
    return 0
