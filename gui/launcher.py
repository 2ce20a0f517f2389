"""The main window: one button per tool; the View menu (light, dark or the
system's look) and the Help menu (About, keyboard shortcuts, data folder).

Each tool opens in a window of its own; several chat windows may be open at
once. Quit closes every window, which stops every worker and service, so
it asks first while that would cut someone off: a server with users online,
a connected chat.
"""

from __future__ import annotations

import sys
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from gui import style
from gui.confirm import confirm_destructive
from gui.icons import scaled_photo, set_window_icon
from gui.settings import Settings
from gui.tkrelease import release_all


class Launcher:
    def __init__(self, root: tk.Tk, data_dir: Path, settings: Settings, log_handler=None,
                 confirm=confirm_destructive):
        self.root = root
        self.confirm = confirm  # (parent, title, question, loses) -> bool; tests answer
        self._asking = False
        self.log_handler = log_handler
        self.panel = None
        self.data_dir = data_dir
        self.settings = settings
        self.windows: list[tk.Toplevel] = []
        root.title("netdesk")
        root.minsize(style.px(root, 320), style.px(root, 260))
        geometry = settings.get("launcher", "geometry")
        if geometry and "x" in geometry:
            root.geometry(geometry.split("+")[0])
        set_window_icon(root, "netdesk")
        root.protocol("WM_DELETE_WINDOW", self.request_quit)
        for key in ("<Control-q>", "<Control-Q>"):  # Q too: Caps Lock on
            root.bind_all(key, lambda e: (self.request_quit(), "break")[1])
        self.theme = tk.StringVar(root, settings.get("view", "theme", "system"))
        if self.theme.get() not in style.MODES:
            self.theme.set("system")
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
        px = lambda n: style.px(self.root, n)  # noqa: E731 - sizes at 96 dpi
        self.menubar = menubar = tk.Menu(self.root)
        file_menu = tk.Menu(menubar, tearoff=False)
        for key, label, _icon, opener in self.tools():
            file_menu.add_command(label=label, command=opener,
                                  underline=0 if key != "chat" else 4)
        file_menu.add_separator()
        file_menu.add_command(label="Quit", accelerator="Ctrl+Q", underline=0,
                              command=self.request_quit)
        menubar.add_cascade(label="File", menu=file_menu, underline=0)
        view_menu = tk.Menu(menubar, tearoff=False)
        for mode, label in (("light", "Light"), ("dark", "Dark"),
                            ("system", "As the system (default)")):
            view_menu.add_radiobutton(label=label, value=mode, variable=self.theme,
                                      underline=0, command=lambda: self.set_theme(
                                          self.theme.get()))
        menubar.add_cascade(label="View", menu=view_menu, underline=0)
        help_menu = tk.Menu(menubar, tearoff=False)
        help_menu.add_command(label="Keyboard shortcuts…", underline=0,
                              command=self.shortcuts)
        help_menu.add_command(label="Open data folder", underline=5,
                              command=self.open_data_folder)
        help_menu.add_separator()
        help_menu.add_command(label="About netdesk…", underline=0, command=self.about)
        menubar.add_cascade(label="Help", menu=help_menu, underline=0)
        self.menus = {"file": file_menu, "view": view_menu, "help": help_menu}
        self.root.configure(menu=menubar)

        frame = ttk.Frame(self.root, padding=px(16))
        frame.grid(row=0, column=0, sticky="nsew")
        self.root.rowconfigure(0, weight=1)
        self.root.columnconfigure(0, weight=1)
        ttk.Label(frame, text="netdesk", style="Title.TLabel").grid(row=0, column=0, sticky="w")
        ttk.Label(frame, text="A desktop network workbench", style="Hint.TLabel").grid(
            row=1, column=0, sticky="w", pady=(0, px(12)))
        ttk.Style(self.root).configure("Tool.TButton", anchor="w")
        self.buttons: dict[str, ttk.Button] = {}
        for i, (key, label, icon, opener) in enumerate(self.tools()):
            image = scaled_photo(self.root, icon, 32)
            if image:
                self._images.append(image)
            button = ttk.Button(frame, text=label, command=opener, image=image or "",
                                compound="left", padding=(px(10), px(4)),
                                style="Tool.TButton")
            button.grid(row=2 + i, column=0, sticky="ew", pady=px(3))
            button.bind("<Return>", lambda e, b=button: b.invoke())  # Tab, then Enter
            self.buttons[key] = button
        frame.columnconfigure(0, weight=1)
        first = next(iter(self.buttons.values()))
        first.focus_set()

    def _track(self, window: tk.Toplevel) -> tk.Toplevel:
        self.windows = [w for w in self.windows if not getattr(w, "closed", False)]
        self.windows.append(window)
        return window

    def own_server(self) -> tuple[str, dict[str, int]] | None:
        """Where the panel's running server listens (host, {"echo": P, "chat": P}),
        so windows opened now talk to it rather than to a remembered address."""
        panel = self.panel
        if panel is None or panel.closed or not panel.running or panel.status_now is None:
            return None
        host = panel.host.get().strip()
        # A server on every address is reached on this machine's loopback.
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        return host, dict(panel.status_now.ports)

    def open_echo(self, address: str | None = None, port: int | None = None) -> tk.Toplevel:
        """An echo client: at ``address``/``port`` if given (from the scanner),
        else at the panel's running server, else where it was last."""
        from gui.echo_window import EchoWindow
        window = EchoWindow(self.root, self.settings)
        own = self.own_server()
        if address is None and own is not None and "echo" in own[1]:
            address, port = own[0], own[1]["echo"]
        if address is not None:
            window.host.set(address)
            window.port.set(str(port))
        return self._track(window)

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
        return self._track(ScannerWindow(self.root, self.settings,
                                         open_echo=lambda a, p: self.open_echo(a, p)))

    # -- View and Help ---------------------------------------------------------------------
    def set_theme(self, mode: str) -> str:
        """Light, dark or the system's look, for every open window, remembered."""
        if mode not in style.MODES:
            raise ValueError(f"unknown theme {mode!r}")
        self.theme.set(mode)
        self.settings.update("view", theme=mode)
        return style.set_mode(self.root, mode)

    def _dialog(self, key: str, make) -> tk.Toplevel:
        """One of each dialog: a second request raises the first."""
        existing = getattr(self, key, None)
        if existing is not None and existing.winfo_exists():
            existing.deiconify()
            existing.lift()
            return existing
        dialog = make()
        setattr(self, key, dialog)
        return dialog

    def about(self) -> tk.Toplevel:
        from gui.about import AboutDialog
        return self._dialog("about_dialog", lambda: AboutDialog(self.root, self.data_dir))

    def shortcuts(self) -> tk.Toplevel:
        from gui.about import ShortcutsDialog
        return self._dialog("shortcuts_dialog", lambda: ShortcutsDialog(self.root))

    def open_data_folder(self) -> None:
        from gui.about import open_folder
        open_folder(self.data_dir)

    # -- quitting --------------------------------------------------------------------------
    def losses(self) -> list[str]:
        """What quitting now would cut off, in words for the question."""
        lost = []
        panel = self.panel
        if panel is not None and not panel.closed and getattr(panel, "running", False):
            status = getattr(panel, "status_now", None)
            online = getattr(status, "online", 0) if status is not None else 0
            users = f"{online} user{'s' if online != 1 else ''} online"
            lost.append(f"The server in the control panel stops; {users} "
                        f"{'is' if online == 1 else 'are'} disconnected.")
        chat_module = sys.modules.get("gui.chat_window")
        if chat_module is not None:
            connected = [w for w in self.windows
                         if isinstance(w, chat_module.ChatWindow) and not w.closed
                         and (getattr(w, "logged_in", False)
                              or getattr(w, "connected_to", None) is not None)]
            if connected:
                n = len(connected)
                lost.append(f"{n} chat window{'s are' if n != 1 else ' is'} connected and "
                            f"will be disconnected; unsent text is lost.")
        return lost

    def request_quit(self) -> bool:
        """Quit, after asking if that would stop a server or a chat (the
        safe answer, No, is the default). True if netdesk quit."""
        if self._asking:
            return False
        lost = self.losses()
        if lost:
            self._asking = True
            try:
                sure = self.confirm(self.root, "Quit netdesk?", "Quit netdesk?", "\n".join(lost))
            finally:
                self._asking = False
            if not sure:
                return False
        self.quit()
        return True

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
