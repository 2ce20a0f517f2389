"""Free Tk variables, images and fonts on the Tk thread, before the GC does
it on another.

tkinter's ``Variable`` and ``Image`` objects call into Tcl from
``__del__``. Windows hold them in reference cycles (a widget, its
callbacks, its poller), so the cyclic garbage collector frees them, on
whichever thread happens to trigger a collection, often a worker's. Tcl
then raises "main thread is not in main loop", or aborts the process. So a
window releases its own variables and images when it closes, on the Tk
thread, leaving nothing for ``__del__`` to do.
"""

from __future__ import annotations

import gc
import tkinter as tk
from tkinter import font as tkfont


def release(obj: object) -> None:
    """Do ``obj``'s Tcl clean-up now, and make its ``__del__`` a no-op."""
    if isinstance(obj, tk.Variable):
        if obj._tk is not None:
            try:
                obj.__del__()
            except (tk.TclError, RuntimeError):
                pass
            obj._tk = None
    elif isinstance(obj, tk.Image) and obj.name:
        try:
            obj.__del__()
        except (tk.TclError, RuntimeError):
            pass
        obj.name = None
    elif isinstance(obj, tkfont.Font) and getattr(obj, "delete_font", False):
        # A font's __del__ deletes it in Tcl: on a worker thread that waits
        # for the Tk thread, which may be waiting for that worker.
        try:
            obj._call("font", "delete", obj.name)
        except (tk.TclError, RuntimeError):
            pass
        obj.delete_font = False


def release_attributes(owner: object) -> None:
    """Release the variables, images and fonts held by ``owner``'s attributes."""
    for value in list(vars(owner).values()):
        items = value.values() if isinstance(value, dict) else \
            value if isinstance(value, (list, tuple, set)) else (value,)
        for item in list(items):
            release(item)


def release_all(interp) -> None:
    """Release every live variable and image of one Tcl interpreter (at exit)."""
    for obj in gc.get_objects():
        if isinstance(obj, tk.Variable) and obj._tk is interp or \
                isinstance(obj, (tk.Image, tkfont.Font)) and getattr(obj, "tk", None) is interp:
            release(obj)
