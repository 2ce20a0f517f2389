"""The server controller: runs the services and carries out the commands.

One implementation of start, shutdown, pause, resume, logs, clear-logs,
clear-users, status, clients, kick, budgets and TLS, shared by the
``netdesk serve`` console and the control-panel window. It takes the typed
commands of net/control/commands.py (``perform``) and answers with plain
data; it knows nothing of console words or windows. The services listen on
threads of their own; the controller is called from whichever thread the
user commands from (the console's main thread, the panel's control
thread), and a lock keeps two commands from interleaving.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from net import datadir
from net.chat.accounts import Accounts
from net.chat.server import USERS_FILE, ChatServer
from net.control import commands as c
from net.control.config import ServerConfig
from net.control.events import Impact, KickResult, Status
from net.echo.server import EchoServer
from net.i18n import _, pgettext
from net.irc.server import IrcServer

log = logging.getLogger("netdesk.control")

__all__ = ["ServerConfig", "ServerController", "Status", "service_name"]


class ServerController:
    def __init__(self, data_dir: Path, config: ServerConfig | None = None,
                 log_handler: datadir.PrivateRotatingFileHandler | None = None):
        self.data_dir = Path(data_dir)
        self.config = config or ServerConfig()
        self.log_handler = log_handler
        self._lock = threading.RLock()
        self.echo: EchoServer | None = None
        self.chat: ChatServer | None = None
        self.irc: IrcServer | None = None
        self.started_at: float | None = None
        self.stopped = threading.Event()
        self._renew_certificate = False  # NewCertificate: the next start makes one

    # -- life cycle ---------------------------------------------------------------
    def start(self, config: ServerConfig | None = None) -> list[tuple[str, str, int]]:
        """Start every configured service (with ``config``, if given, from now
        on); returns (service, host, port) rows. Raises OSError or ValueError
        with a message for people."""
        with self._lock:
            if self.running:
                raise ValueError(_("already running"))
            if config is not None:
                self.config = config
            cfg = self.config
            if self._renew_certificate:  # asked for before this start's config came
                cfg.chat_options = replace(cfg.chat_options, new_certificate=True)
            started = []
            try:
                self.echo = EchoServer(cfg.host, cfg.echo_port, budgets=cfg.budgets)
                started.append(("echo", *self.echo.start()))
                if cfg.chat_port is not None:
                    self.chat = ChatServer(self.data_dir, cfg.host, cfg.chat_port,
                                           replace(cfg.chat_options, budgets=cfg.budgets))
                    started.append(("chat", *self.chat.start()))
                    # A new certificate once, not on every restart from the panel.
                    cfg.chat_options = replace(cfg.chat_options, new_certificate=False)
                    self._renew_certificate = False
                    if cfg.irc_port is not None:
                        self.irc = IrcServer(self.chat, cfg.host, cfg.irc_port, cfg.irc_options)
                        started.append(("irc", *self.irc.start()))
            except BaseException:
                self._stop_services()
                raise
            self.started_at = time.monotonic()
            self.stopped.clear()
            return started

    def shutdown(self) -> None:
        """Stop every service: chat clients get ``bye``, every thread is joined."""
        with self._lock:
            self._stop_services()
            self.started_at = None
            self.stopped.set()

    def _stop_services(self) -> None:
        if self.irc is not None:  # first: its sessions stand on the chat server
            self.irc.stop()
            self.irc = None
        if self.chat is not None:
            self.chat.stop()
            self.chat = None
        if self.echo is not None:
            self.echo.stop()
            self.echo = None

    @property
    def running(self) -> bool:
        return self.started_at is not None

    def services(self) -> list:
        return [s for s in (self.echo, self.chat, self.irc) if s is not None]

    # -- commands as methods (the window calls these) ------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._require_running()
            for service in self.services():
                service.listener.pause()

    def resume(self) -> None:
        """Listen again on every paused service. If one cannot (another
        program took its port), the others still resume and the error names it."""
        with self._lock:
            self._require_running()
            failed = []
            for service in self.services():
                try:
                    service.listener.resume()
                except OSError as e:
                    failed.append(f"{service_name(service.listener.name)}: {e}")
            if failed:
                raise OSError(_("{failures} (still paused; try again later)").format(
                    failures="; ".join(failed)))

    def _require_running(self) -> None:
        if not self.running:
            raise ValueError(_("the server is not running"))

    @property
    def paused(self) -> bool:
        return self.running and not all(s.listener.listening for s in self.services())

    def status(self) -> Status:
        with self._lock:
            chat = self.chat
            clients = self.clients()  # over TLS or not, on the chat port and IRC
            return Status(
                running=self.running, paused=self.paused,
                ports={s.listener.name: s.listener.port for s in self.services()},
                listening={s.listener.name: s.listener.listening for s in self.services()},
                connections=sum(s.listener.connection_count() for s in self.services()),
                online=len(chat.online_names()) if chat else 0,
                messages=chat.accepted if chat else 0,
                uptime=time.monotonic() - self.started_at if self.started_at else 0.0,
                tls_fingerprint=chat.certificate.fingerprint if chat and chat.certificate
                else None,
                tls_connections=sum(1 for c in clients if c.get("tls")),
                chat_connections=len(clients),
                require_tls=chat.require_tls if chat else
                self.config.chat_options.require_tls)

    def clients(self) -> list[dict]:
        """Chat and IRC connections: name (None before login), address, since,
        messages, via (``chat`` or ``irc``)."""
        with self._lock:
            rows = self.chat.clients() if self.chat else []
            if self.irc is not None:
                rows = sorted(rows + self.irc.clients(), key=lambda c: c["since"])
            return rows

    def kick(self, name: str, reason: str = "") -> bool:
        """Disconnect ``name``; the reason, if given, goes to the log (the
        chat's ``bye`` and IRC's closing line stay as the protocol has them)."""
        with self._lock:
            kicked = bool(self.chat and self.chat.kick(name))
            if kicked and reason:
                log.warning("kicked %s: %s", name, reason)
            return kicked

    def set_require_tls(self, required: bool) -> bool:
        """Refuse plain logins (or accept them again), now and after a restart.
        Sessions already logged in go on either way."""
        with self._lock:
            self.config.chat_options = replace(self.config.chat_options,
                                               require_tls=required)
            if self.chat is not None:
                self.chat.require_tls = required
            log.warning("chat: TLS %s for logins from now on",
                        "required" if required else "no longer required")
            return required

    def budgets(self) -> list[tuple[str, str]]:
        """The budgets in force (or that the next start will use), for people."""
        with self._lock:
            return self.config.budgets.describe()

    def clear_users(self) -> int:
        """Clear the identification file; sessions online now go on."""
        with self._lock:
            if self.chat is not None:
                return self.chat.clear_users()
            accounts = Accounts(self.data_dir / USERS_FILE)
            try:
                count = accounts.clear()
            finally:
                accounts.close()
            log.warning("identification file cleared (%s)", accounts_text(count))
            return count

    def log_lines(self, n: int = 20) -> list[str]:
        path = datadir.log_path(self.data_dir)
        with self._lock:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    return [line.rstrip("\n") for line in deque(f, maxlen=n)] if n > 0 else []
            except FileNotFoundError:
                return []

    def clear_logs(self) -> None:
        with self._lock:
            if self.log_handler is not None:
                self.log_handler.clear()
            else:
                datadir.open_private(datadir.log_path(self.data_dir), "w").close()


    def new_certificate(self) -> bool:
        """The next start makes a fresh self-signed certificate (chat clients
        that pinned the old one are warned). True if the chat runs now on the
        old one, i.e. the change waits for a restart."""
        with self._lock:
            self._renew_certificate = True
            log.warning("chat: a new certificate on the next start")
            return self.chat is not None

    # -- what a destructive command would take away ------------------------------------
    def impact(self) -> Impact:
        with self._lock:
            status = self.status()
            return Impact(running=status.running, online=status.online,
                          connections=status.connections, accounts=self.account_count(),
                          log_lines=self.log_line_count())

    def account_count(self) -> int | None:
        """Accounts in the identification file, read without creating it."""
        path = self.data_dir / USERS_FILE
        if not path.exists():
            return 0
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return None
        try:
            return int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        except sqlite3.Error:
            return None
        finally:
            db.close()

    def log_line_count(self) -> int | None:
        """Lines in the current log file (rotated older files are not cleared)."""
        try:
            with open(datadir.log_path(self.data_dir), "rb") as f:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))
        except FileNotFoundError:
            return 0
        except OSError:
            return None

    # -- typed commands -----------------------------------------------------------------
    def perform(self, command: c.Command) -> object:
        """Carry out one command object; raises TypeError on anything else,
        and OSError, ValueError or sqlite3.Error with a message for people."""
        match command:
            case c.Start(config):
                return self.start(config)
            case c.Shutdown():
                return self.shutdown()
            case c.Pause():
                return self.pause()
            case c.Resume():
                return self.resume()
            case c.Kick(name, reason):
                return KickResult(name, self.kick(name, reason))
            case c.ClearLogs():
                return self.clear_logs()
            case c.ClearUsers():
                return self.clear_users()
            case c.ReadLog(lines):
                return self.log_lines(lines)
            case c.ShowBudgets():
                return self.budgets()
            case c.SetRequireTls(on):
                return self.set_require_tls(on)
            case c.CountImpact():
                return self.impact()
            case c.NewCertificate():
                return self.new_certificate()
            case c.GetStatus():
                return self.status()
            case c.ListClients():
                return self.clients()
        raise TypeError(f"not a control command: {command!r}")


def accounts_text(count: int) -> str:
    """``1 account``, ``2 accounts``: for the log, which stays English."""
    return f"{count} account" if count == 1 else f"{count} accounts"


def service_name(service: str) -> str:
    """A service's name for people: ``echo`` and ``chat`` (``эхо``, ``чат``)."""
    names = {"echo": pgettext("service", "echo"), "chat": pgettext("service", "chat"),
             "irc": pgettext("service", "irc")}
    return names.get(service, service)
