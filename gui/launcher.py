"""The main window: one button per tool; the View menu (light, dark or the
system's look), the Language menu (English, Русский or the system's) and the
Help menu (About, keyboard shortcuts, data folder).

Each tool opens in a window of its own; several chat windows may be open at
once. Quit closes every window, which stops every worker and service, so
it asks first while that would cut someone off: a server with users online,
a connected chat.

The language: ``--lang`` on the command line, else the Language menu's
remembered choice, else the system's (``choose_language``). A choice in the
menu is remembered and applies to windows opened from then on; the launcher
rebuilds its own words at once.
"""

from __future__ import annotations

import sys
import time
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from gui.kit import style
from gui.kit.icons import scaled_photo, set_window_icon
from gui.kit.settings import Settings
from gui.kit.tkrelease import release_all
from gui.widgets.confirm import confirm_destructive
from net import i18n
from net.i18n import N_, _, ngettext, number

SYSTEM = "system"  # the Language menu's "As the system"
# The menu bar's menus; "&" marks the letter Alt opens each with, in every language.
MENUS = {"file": N_("&File"), "view": N_("&View"), "language": N_("&Language"),
         "help": N_("&Help")}


def mnemonic(text: str) -> tuple[str, int]:
    """A label with "&" before its access key, as Tk wants it: ("View", 0) for
    "&View"; -1 when the label has none."""
    at = text.find("&")
    if at < 0 or at == len(text) - 1:
        return text, -1
    return text[:at] + text[at + 1:], at


def access_key(text: str) -> str:
    """The key Alt takes with a marked label: "V" for "&View" ("" for none)."""
    label, at = mnemonic(text)
    return label[at].upper() if at >= 0 else ""


def shown(text: str) -> str:
    """A marked label without its "&", for a button."""
    return mnemonic(text)[0]


def remembered_language(settings: Settings) -> str:
    """The Language menu's last choice: "en", "ru" or "system"."""
    choice = settings.get("view", "language", SYSTEM)
    return choice if choice in i18n.LANGUAGES else SYSTEM


def choose_language(settings: Settings, cli_lang: str | None = None) -> str:
    """Install the desktop's language: ``--lang`` wins, then the Language
    menu's remembered choice, then the system's. Returns "en" or "ru"."""
    if cli_lang:
        return i18n.setup(cli_lang)
    choice = remembered_language(settings)
    return i18n.setup(None if choice == SYSTEM else choice)


def tk_language(root: tk.Misc) -> None:
    """Tk's own dialogs (Yes/No, file dialogs) in the language in force."""
    try:
        root.tk.call("::msgcat::mclocale", i18n.current())
    except tk.TclError:  # no msgcat: Tk's dialogs stay in their language
        pass


class Launcher:
    def __init__(self, root: tk.Tk, data_dir: Path, settings: Settings, log_handler=None,
                 confirm=confirm_destructive, lang: str | None = None):
        """``lang``: the language --lang asked for, which the Language menu
        then shows as chosen (without remembering it)."""
        self.root = root
        self.confirm = confirm  # (parent, title, question, loses) -> bool; tests answer
        self._asking = False
        self.log_handler = log_handler
        self.panel = None
        # Every panel's control thread: closing a panel only signals it (the
        # Tk thread never joins); ``finish`` joins them after the event loop.
        self.control_threads: list = []
        self.data_dir = data_dir
        self.settings = settings
        self.windows: list[tk.Toplevel] = []
        root.title("netdesk")
        root.minsize(style.px(root, 320), style.px(root, 260))  # _fit_minimum() grows it
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
        self.language = tk.StringVar(root, lang if lang in i18n.LANGUAGES
                                     else remembered_language(settings))
        self.language_note = ""  # what the last change of language did, in its words
        self._images: list[tk.PhotoImage] = []
        self.menubar: tk.Menu | None = None
        self.frame: ttk.Frame | None = None
        tk_language(root)
        self._build()

    def tools(self) -> list[tuple[str, str, str, object]]:
        """(key, label, icon, opener) for every tool the launcher offers; the
        label marks its menu access key with "&" (``shown()`` drops it)."""
        return [
            ("server", _("&Server control panel"), "server", self.open_control),
            ("chat", _("New &chat window"), "chat", self.open_chat),
            ("scanner", _("&Port scanner"), "scanner", self.open_scanner),
            ("echo", _("&Echo client"), "echo", self.open_echo),
        ]

    def _build(self) -> None:
        """The menus and the buttons, in the language in force (again after a
        change of language: the old ones go first)."""
        px = lambda n: style.px(self.root, n)  # noqa: E731 - sizes at 96 dpi
        focused_key = None
        if self.frame is not None:
            focus = self.root.focus_get() if self.root.winfo_exists() else None
            focused_key = next((k for k, b in self.buttons.items() if b is focus), None)
            self.frame.destroy()
        old_menubar = self.menubar

        def cascade(bar: tk.Menu, key: str, menu: tk.Menu) -> None:
            label, underline = mnemonic(_(MENUS[key]))
            bar.add_cascade(label=label, menu=menu, underline=underline)

        def command(menu: tk.Menu, text: str, **options) -> None:
            label, underline = mnemonic(text)
            menu.add_command(label=label, underline=underline, **options)

        self.menubar = menubar = tk.Menu(self.root)
        file_menu = tk.Menu(menubar, tearoff=False)
        for _key, label, _icon, opener in self.tools():
            command(file_menu, label, command=opener)
        file_menu.add_separator()
        command(file_menu, _("&Quit"), accelerator="Ctrl+Q", command=self.request_quit)
        cascade(menubar, "file", file_menu)
        view_menu = tk.Menu(menubar, tearoff=False)
        for mode, text in (("light", _("&Light")), ("dark", _("&Dark")),
                           ("system", _("As the &system (default)"))):
            label, underline = mnemonic(text)
            view_menu.add_radiobutton(label=label, value=mode, variable=self.theme,
                                      underline=underline, command=lambda: self.set_theme(
                                          self.theme.get()))
        cascade(menubar, "view", view_menu)
        language_menu = tk.Menu(menubar, tearoff=False)
        # Each language by its own name, so anyone finds theirs.
        choices = [(code, name, 0) for code, name in i18n.LANGUAGES.items()]
        choices.append((SYSTEM, *mnemonic(_("As the &system ({language})").format(
            language=i18n.language_name(i18n.system_language())))))
        for code, label, underline in choices:
            language_menu.add_radiobutton(label=label, value=code, variable=self.language,
                                          underline=underline, command=lambda: self.set_language(
                                              self.language.get()))
        cascade(menubar, "language", language_menu)
        help_menu = tk.Menu(menubar, tearoff=False)
        command(help_menu, _("&Keyboard shortcuts…"), command=self.shortcuts)
        command(help_menu, _("Open data &folder"), command=self.open_data_folder)
        help_menu.add_separator()
        command(help_menu, _("&About netdesk…"), command=self.about)
        cascade(menubar, "help", help_menu)
        self.menus = {"file": file_menu, "view": view_menu, "language": language_menu,
                      "help": help_menu}
        self.root.configure(menu=menubar)
        if old_menubar is not None:
            old_menubar.destroy()

        self.frame = frame = ttk.Frame(self.root, padding=px(16))
        frame.grid(row=0, column=0, sticky="nsew")
        self.root.rowconfigure(0, weight=1)
        self.root.columnconfigure(0, weight=1)
        ttk.Label(frame, text="netdesk", style="Title.TLabel").grid(row=0, column=0, sticky="w")
        self.subtitle = ttk.Label(frame, text=_("A desktop network workbench"),
                                  style="Hint.TLabel", justify="left")
        self.subtitle.grid(row=1, column=0, sticky="ew", pady=(0, px(12)))
        ttk.Style(self.root).configure("Tool.TButton", anchor="w")
        self.buttons: dict[str, ttk.Button] = {}
        if not self._images:
            self._images = [scaled_photo(self.root, icon, 32) for _k, _l, icon, _o in
                            self.tools()]
        for i, (key, label, _icon, opener) in enumerate(self.tools()):
            image = self._images[i]
            button = ttk.Button(frame, text=shown(label), command=opener, image=image or "",
                                compound="left", padding=(px(10), px(4)),
                                style="Tool.TButton")
            button.grid(row=2 + i, column=0, sticky="ew", pady=px(3))
            button.bind("<Return>", lambda e, b=button: b.invoke())  # Tab, then Enter
            self.buttons[key] = button
        # What the last change of language did; wraps to the window's width.
        self.note = ttk.Label(frame, text=self.language_note, style="Hint.TLabel",
                              justify="left")
        self.note.grid(row=2 + len(self.buttons), column=0, sticky="ew", pady=(px(8), 0))
        # The hint lines wrap to the window's width rather than being cut.
        for label in (self.subtitle, self.note):
            label.bind("<Configure>", lambda e, w=label: w.configure(
                wraplength=max(e.width, px(100))))
        if not self.language_note:
            self.note.grid_remove()
        frame.columnconfigure(0, weight=1)
        self.buttons[focused_key or next(iter(self.buttons))].focus_set()
        self._fit_minimum()

    def _fit_minimum(self) -> None:
        """The smallest size shows every button and hint whole: 320 px wide
        (at 96 dpi) or the widest button, the hints wrapped to that, and as
        tall as that needs in the words of the language in force."""
        px = lambda n: style.px(self.root, n)  # noqa: E731 - sizes at 96 dpi
        widest = max(b.winfo_reqwidth() for b in self.buttons.values())
        width = max(px(320), widest + 2 * px(16))
        kept = {label: int(str(label.cget("wraplength")) or 0)
                for label in (self.subtitle, self.note)}
        for label in kept:
            label.configure(wraplength=width - 2 * px(16))  # as the narrowest window wraps
        self.root.update_idletasks()
        height = max(px(260), self.frame.winfo_reqheight())
        for label, wraplength in kept.items():
            if wraplength > 0:  # laid out already: its <Configure> keeps it right
                label.configure(wraplength=wraplength)
        self.root.minsize(width, height)

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
        from gui.echo.window import EchoWindow
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
        from gui.panel.window import ControlPanel
        self.panel = ControlPanel(self.root, self.data_dir, self.settings, self.log_handler)
        self.control_threads = [t for t in self.control_threads if t.alive]
        self.control_threads.append(self.panel.control)
        return self._track(self.panel)

    def open_chat(self) -> tk.Toplevel:
        from gui.chat.window import ChatWindow
        own = self.own_server()
        address = (own[0], own[1]["chat"]) if own is not None and "chat" in own[1] else None
        return self._track(ChatWindow(self.root, self.settings, address=address))

    def open_scanner(self) -> tk.Toplevel:
        from gui.scanner.window import ScannerWindow
        return self._track(ScannerWindow(self.root, self.settings,
                                         open_echo=lambda a, p: self.open_echo(a, p)))

    # -- View, Language and Help -----------------------------------------------------------
    def set_language(self, choice: str) -> str:
        """English, Russian or the system's ("en", "ru", "system"): remembered,
        and in force for every window opened from now on; the launcher says so
        and speaks it at once. Returns the language now in force."""
        if choice != SYSTEM and choice not in i18n.LANGUAGES:
            raise ValueError(f"unknown language {choice!r}")
        self.language.set(choice)
        self.settings.update("view", language=choice)
        lang = i18n.setup(None if choice == SYSTEM else choice)
        tk_language(self.root)
        note = _("Windows opened from now on use {language}.").format(
            language=i18n.language_name(lang))
        open_now = [w for w in self.windows if not getattr(w, "closed", True)]
        if open_now:
            note += " " + ngettext("The window open now keeps its words until it is "
                                   "opened again.",
                                   "The {n} windows open now keep their words until "
                                   "they are opened again.",
                                   len(open_now)).format(n=number(len(open_now)))
        self.language_note = note
        self._build()
        return lang

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
        keys = {key: access_key(_(text)) for key, text in MENUS.items()}
        return self._dialog("shortcuts_dialog", lambda: ShortcutsDialog(self.root, keys))

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
            lost.append(ngettext(
                "The server in the control panel stops; {n} user online is disconnected.",
                "The server in the control panel stops; {n} users online are disconnected.",
                online).format(n=number(online)))
        chat_module = sys.modules.get("gui.chat.window")
        if chat_module is not None:
            connected = [w for w in self.windows
                         if isinstance(w, chat_module.ChatWindow) and not w.closed
                         and (getattr(w, "logged_in", False)
                              or getattr(w, "connected_to", None) is not None)]
            if connected:
                n = len(connected)
                lost.append(ngettext(
                    "{n} chat window is connected and will be disconnected; "
                    "unsent text is lost.",
                    "{n} chat windows are connected and will be disconnected; "
                    "unsent text is lost.", n).format(n=number(n)))
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
                sure = self.confirm(self.root, _("Quit netdesk?"), _("Quit netdesk?"),
                                    "\n".join(lost))
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

    def finish(self, timeout: float = 10.0) -> bool:
        """After the event loop: wait (at most ``timeout`` seconds in all)
        for the panels' control threads to finish stopping their services,
        so chat clients get their ``bye`` before the process exits. Never
        on a running event loop. True if every one ended."""
        deadline = time.monotonic() + timeout
        for thread in self.control_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.alive for thread in self.control_threads)

    def quit(self) -> None:
        """Close every window (signalling every worker and service to stop)
        and leave the event loop at once; ``finish`` waits for the services."""
        try:
            self.settings.update("launcher", geometry=self.root.geometry())
        except tk.TclError:
            pass
        self.close_all()
        interp = self.root.tk
        self.root.destroy()
        release_all(interp)
