"""The main window: one button per tool, an About box, and Quit.

Each tool opens in a window of its own; several chat windows may be open at
once. Quit closes every window, which stops every worker and service.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import messagebox, ttk

from gui.icons import photo, set_window_icon
from gui.settings import Settings
from gui.tkrelease import release_all
from net import __version__


class Launcher:
    def __init__(self, root: tk.Tk, data_dir: Path, settings: Settings, log_handler=None):
        self.root = root
        self.log_handler = log_handler
        self.panel = None
        self.data_dir = data_dir
        self.settings = settings
        self.windows: list[tk.Toplevel] = []
        root.title("netdesk")
        root.minsize(320, 260)
        geometry = settings.get("launcher", "geometry")
        if geometry and "x" in geometry:
            root.geometry(geometry.split("+")[0])
        set_window_icon(root, "netdesk")
        root.protocol("WM_DELETE_WINDOW", self.quit)
        root.bind_all("<Control-q>", lambda e: self.quit())
        self._images: list[tk.PhotoImage] = []
        self._build()

    def tools(self) -> list[tuple[str, str, str, object]]:
        """(key, label, icon, opener) for every tool the launcher offers."""
        return [
            ("server", "Server control panel", "server", self.open_control),
            ("chat", "New chat window", "chat", self.open_chat),
            ("scanner", "Port scanner", "scanner", self.open_scanner),
            ("echo", "Echo client", "echo", self.open_echo),
        ]

    def _build(self) -> None:
        menubar = tk.Menu(self.root)
        app_menu = tk.Menu(menubar, tearoff=False)
        app_menu.add_command(label="About netdesk", command=self.about)
        app_menu.add_separator()
        app_menu.add_command(label="Quit", accelerator="Ctrl+Q", command=self.quit)
        menubar.add_cascade(label="netdesk", menu=app_menu)
        self.root.configure(menu=menubar)

        frame = ttk.Frame(self.root, padding=16)
        frame.grid(row=0, column=0, sticky="nsew")
        self.root.rowconfigure(0, weight=1)
        self.root.columnconfigure(0, weight=1)
        ttk.Label(frame, text="netdesk", font=("TkDefaultFont", 16, "bold")).grid(
            row=0, column=0, sticky="w")
        ttk.Label(frame, text="A desktop network workbench").grid(
            row=1, column=0, sticky="w", pady=(0, 12))
        ttk.Style(self.root).configure("Tool.TButton", anchor="w")
        self.buttons: dict[str, ttk.Button] = {}
        for i, (key, label, icon, opener) in enumerate(self.tools()):
            image = photo(self.root, icon, 32)
            if image:
                self._images.append(image)
            button = ttk.Button(frame, text=label, command=opener, image=image or "",
                                compound="left", padding=(10, 4), style="Tool.TButton")
            button.grid(row=2 + i, column=0, sticky="ew", pady=3)
            button.bind("<Return>", lambda e, b=button: b.invoke())  # Tab, then Enter
            self.buttons[key] = button
        frame.columnconfigure(0, weight=1)
        first = next(iter(self.buttons.values()))
        first.focus_set()

    def _track(self, window: tk.Toplevel) -> tk.Toplevel:
        self.windows = [w for w in self.windows if not getattr(w, "closed", False)]
        self.windows.append(window)
        return window

    def open_echo(self) -> tk.Toplevel:
        from gui.echo_window import EchoWindow
        return self._track(EchoWindow(self.root, self.settings))

    def open_control(self) -> tk.Toplevel:
        """One panel: a second would only fight the first for the ports."""
        if self.panel is not None and not self.panel.closed:
            self.panel.deiconify()
            self.panel.lift()
            return self.panel
        from gui.control_panel import ControlPanel
        self.panel = ControlPanel(self.root, self.data_dir, self.settings, self.log_handler)
        return self._track(self.panel)

    def open_chat(self) -> tk.Toplevel:
        from gui.chat_window import ChatWindow
        return self._track(ChatWindow(self.root, self.settings))

    def open_scanner(self) -> tk.Toplevel:
        from gui.scanner_window import ScannerWindow
        return self._track(ScannerWindow(self.root, self.settings))

    def about(self) -> None:
        messagebox.showinfo("About netdesk",
                            f"netdesk {__version__}\n\nEcho and chat servers, a chat client, "
                            f"a port scanner and a server control panel.\n\n"
                            f"Data: {self.data_dir}", parent=self.root)

    def close_all(self) -> None:
        for window in list(self.windows):
            if getattr(window, "closed", True):
                continue
            if window is self.panel:
                window.close_now()  # Quit already means "stop the services"
            else:
                window.close()
        self.windows.clear()

    def quit(self) -> None:
        """Close every window (stopping every worker and service) and exit."""
        try:
            self.settings.update("launcher", geometry=self.root.geometry())
        except tk.TclError:
            pass
        self.close_all()
        interp = self.root.tk
        self.root.destroy()
        release_all(interp)
