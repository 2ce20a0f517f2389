"""The server controller: runs the services and carries out the commands.

One implementation of shutdown, pause, resume, logs, clear-logs,
clear-users, status, clients, kick and help, shared by the ``netdesk serve``
console and the control-panel window. The services listen on threads of
their own; the controller is called from whichever thread the user commands
from (the console's main thread, the panel's control thread), and a lock
keeps two commands from interleaving.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from net import datadir, fields
from net.budgets import Budgets
from net.chat.accounts import Accounts
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.chat.server import USERS_FILE, ChatOptions, ChatServer
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.echo.server import EchoServer
from net.i18n import N_, _, ngettext, number, pgettext, time_text
from net.irc.server import DEFAULT_PORT as IRC_PORT
from net.irc.server import IrcOptions, IrcServer

log = logging.getLogger("netdesk.control")


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"
    echo_port: int = ECHO_PORT
    chat_port: int | None = CHAT_PORT  # None: the chat service is not run
    chat_options: ChatOptions = field(default_factory=ChatOptions)
    irc_port: int | None = IRC_PORT  # None: no IRC gateway (it needs the chat service)
    irc_options: IrcOptions = field(default_factory=IrcOptions)
    budgets: Budgets = field(default_factory=Budgets)  # for every service


@dataclass
class Reply:
    """What a command answers: text for the user, and whether to exit."""

    text: str
    stop: bool = False


@dataclass(frozen=True)
class Status:
    running: bool
    paused: bool  # some service is not listening
    ports: dict[str, int]
    listening: dict[str, bool]
    connections: int
    online: int
    messages: int
    uptime: float
    # TLS on the chat port: the certificate's fingerprint, the chat
    # connections that speak TLS out of all of them, and whether plain
    # logins are refused.
    tls_fingerprint: str | None = None
    tls_connections: int = 0
    chat_connections: int = 0
    require_tls: bool = False


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

    def kick(self, name: str) -> bool:
        with self._lock:
            return bool(self.chat and self.chat.kick(name))

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
            log.warning("identification file cleared (%d account(s))", count)
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

    # -- the console's words ------------------------------------------------------------
    def execute(self, line: str) -> Reply:
        """Run one console command line and say what happened."""
        words = line.split()
        if not words:
            return Reply("")
        name, rest = words[0].lower(), words[1:]
        handler = _COMMANDS.get(name)
        if handler is None:
            shown = name if len(name) <= 20 else name[:20] + "..."
            return Reply(_("unknown command {name}; type 'help' for the list").format(
                name=repr(shown)))
        try:
            return handler(self, rest)
        except (OSError, ValueError, sqlite3.Error) as e:
            return Reply(f"{name}: {e}")
        except Exception as e:  # a bug: logged in full, one line for the user
            log.exception("command %s failed", name)
            return Reply(_("{command} failed: {error}: {reason} (details in the log)").format(
                command=name, error=type(e).__name__, reason=e))

    def _cmd_shutdown(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("shutdown")
        self.shutdown()
        return Reply(_("server stopped"), stop=True)

    def _cmd_pause(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("pause")
        if self.paused:
            return Reply(_("already paused"))
        self.pause()
        return Reply(_("paused: new connections are refused; current sessions go on"))

    def _cmd_resume(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("resume")
        if not self.paused:
            return Reply(_("not paused") if self.running else _("the server is not running"))
        self.resume()
        return Reply(_("resumed: {services}").format(services=", ".join(
            _("{service} on port {port}").format(service=service_name(s.listener.name),
                                                 port=s.listener.port)
            for s in self.services())))

    def _cmd_logs(self, rest: list[str]) -> Reply:
        most = 10_000
        usage = Reply(_("usage: logs [N], N a number of lines from 1 to {most}").format(
            most=most))
        if len(rest) > 1:
            return usage
        n = 20
        if rest:
            try:
                n = fields.whole_number(rest[0], 1, most)
            except fields.FieldError:
                return usage
        lines = self.log_lines(n)
        return Reply("\n".join(lines) if lines else _("(the log is empty)"))

    def _cmd_clear_logs(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("clear-logs")
        self.clear_logs()
        return Reply(_("log cleared"))

    def _cmd_clear_users(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("clear-users")
        count = self.clear_users()
        return Reply(ngettext("identification file cleared: {n} account forgotten; "
                              "users online now stay until they leave",
                              "identification file cleared: {n} accounts forgotten; "
                              "users online now stay until they leave", count).format(
            n=number(count)))

    def _cmd_status(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("status")
        s = self.status()
        if not s.running:
            return Reply(_("stopped"))
        ports = "; ".join(
            (_("listening: {service} port {port}") if s.listening[name]
             else _("paused: {service} port {port}")).format(service=service_name(name),
                                                             port=port)
            for name, port in s.ports.items())
        counts = ", ".join([
            ngettext("{n} connection", "{n} connections", s.connections).format(
                n=number(s.connections)),
            ngettext("{n} user online", "{n} users online", s.online).format(
                n=number(s.online)),
            ngettext("{n} message since start", "{n} messages since start", s.messages).format(
                n=number(s.messages))])
        text = _("{ports}; {counts}; up {uptime}").format(
            ports=ports, counts=counts, uptime=format_duration(s.uptime))
        if s.tls_fingerprint:
            text += "\n" + tls_summary(s)
        return Reply(text)

    def _cmd_tls(self, rest: list[str]) -> Reply:
        usage = Reply(_("usage: tls [require on|off]"))
        if rest:
            if len(rest) != 2 or rest[0].lower() != "require" \
                    or rest[1].lower() not in ("on", "off"):
                return usage
            required = self.set_require_tls(rest[1].lower() == "on")
            return Reply(_("TLS is now required for logins; plain sessions already "
                           "logged in go on") if required
                         else _("plain logins are accepted again"))
        s = self.status()
        if not s.running or not s.tls_fingerprint:
            return Reply(_("the chat service is not running"))
        return Reply(_("chat tls fingerprint {fingerprint}").format(
            fingerprint=s.tls_fingerprint) + "\n" + tls_summary(s))

    def _cmd_clients(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("clients")
        rows = self.clients()
        if not rows:
            return Reply(_("no chat clients connected"))
        name, address = pgettext("clients column", "name"), pgettext("clients column", "address")
        since, messages = pgettext("clients column", "since"), pgettext("clients column",
                                                                         "messages")
        via = pgettext("clients column", "via")
        logging_in = _("(logging in)")
        tls = pgettext("clients column", "TLS")
        yes, no = _("yes"), _("no")
        lines = [f"{name:20s} {address:24s} {since:8s} {via:5s} {tls:4s} {messages}"]
        for c in rows:
            since = time_text(datetime.fromtimestamp(c["since"]), seconds=True)
            lines.append(f"{c['name'] or logging_in:20s} {c['address']:24s} {since:8s} "
                         f"{service_name(c.get('via', 'chat')):5s} "
                         f"{yes if c.get('tls') else no:4s} {number(c['messages'])}")
        return Reply("\n".join(lines))

    def _cmd_kick(self, rest: list[str]) -> Reply:
        if len(rest) != 1:
            return Reply(_("usage: kick NAME"))
        name = rest[0]
        if len(name) > 32:  # longer than any chat name (net/chat/protocol.NAME_MAX)
            return Reply(_("{name} is not online").format(name=name[:32] + "..."))
        if self.kick(name):
            return Reply(_("{name} disconnected").format(name=name))
        return Reply(_("{name} is not online").format(name=name))

    def _cmd_budgets(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("budgets")
        rows = self.budgets()
        width = max(len(name) for name, _ in rows)
        return Reply("\n".join(f"{name:{width}s}  {value}" for name, value in rows))

    def _cmd_help(self, rest: list[str]) -> Reply:
        if rest:
            return _no_arguments("help")
        return Reply(help_text())


def _no_arguments(command: str) -> Reply:
    return Reply(_("usage: {command} (no arguments)").format(command=command))


def service_name(service: str) -> str:
    """A service's name for people: ``echo`` and ``chat`` (``эхо``, ``чат``)."""
    names = {"echo": pgettext("service", "echo"), "chat": pgettext("service", "chat"),
             "irc": pgettext("service", "irc")}
    return names.get(service, service)


def tls_summary(s: Status) -> str:
    """``TLS: 3 of 4 chat connections; plain logins accepted``, for people."""
    share = ngettext("TLS: {tls} of {n} chat connection", "TLS: {tls} of {n} chat connections",
                     s.chat_connections).format(tls=number(s.tls_connections),
                                                n=number(s.chat_connections))
    mode = _("plain logins refused") if s.require_tls else _("plain logins accepted")
    return f"{share}; {mode}"


def format_duration(seconds: float) -> str:
    """``1h02m03s``, ``2m05s`` (``1 ч 02 мин 03 с``)."""
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return _("{h}h{m:02d}m{s:02d}s").format(h=h, m=m, s=s)
    return _("{m}m{s:02d}s").format(m=m, s=s)


# The console's commands and what each does, in the order ``help`` lists them
# (marked with N_, shown through _() when asked: the language may change).
HELP = [
    ("status", N_("ports, paused or not, clients, messages, uptime")),
    ("clients", N_("who is online, from where, since when")),
    (N_("kick NAME"), N_("disconnect a chat or IRC user")),
    ("pause", N_("stop listening (current sessions go on)")),
    ("resume", N_("listen again on the same ports")),
    ("logs [N]", N_("the last N log lines (default 20, at most 10000)")),
    ("clear-logs", N_("empty the log file")),
    ("clear-users", N_("clear the identification file (all accounts and tokens)")),
    ("budgets", N_("what one client or address may use (see --help of serve)")),
    ("tls", N_("the certificate's fingerprint and how many use TLS")),
    ("tls require on|off", N_("refuse (or accept again) logins without TLS")),
    ("help", N_("this list")),
    ("shutdown", N_("stop every service and exit")),
]


def help_text() -> str:
    """What ``help`` answers, in the current language."""
    lines = [_("commands:")]
    lines += [f"  {_(command):17s} {_(what)}" for command, what in HELP]
    return "\n".join(lines)

_COMMANDS = {
    "shutdown": ServerController._cmd_shutdown,
    "quit": ServerController._cmd_shutdown,
    "exit": ServerController._cmd_shutdown,
    "pause": ServerController._cmd_pause,
    "resume": ServerController._cmd_resume,
    "logs": ServerController._cmd_logs,
    "clear-logs": ServerController._cmd_clear_logs,
    "clear-users": ServerController._cmd_clear_users,
    "status": ServerController._cmd_status,
    "clients": ServerController._cmd_clients,
    "kick": ServerController._cmd_kick,
    "budgets": ServerController._cmd_budgets,
    "tls": ServerController._cmd_tls,
    "help": ServerController._cmd_help,
    "?": ServerController._cmd_help,
}


class ControlThread:
    """The control thread: carries out commands on a controller, one at a
    time, off the caller's thread, and reports what happened.

    ``submit(name, *args)`` queues ``controller.<name>(*args)``; the result
    comes back through ``emit`` as ``("done", name, result)`` or
    ``("failed", name, message)``. While the services run it also emits
    ``("snapshot", Status, clients)`` every ``interval`` seconds.
    """

    def __init__(self, controller: ServerController, emit, interval: float = 1.0):
        self.controller = controller
        self._emit = emit
        self.interval = interval
        self._commands: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()

    def submit(self, name: str, *args) -> None:
        self._commands.put((name, args))

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the queued commands, then end the thread and join it."""
        self._commands.put(None)
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            try:
                item = self._commands.get(timeout=self.interval)
            except queue.Empty:
                item = ("snapshot", ())
            if item is None:
                return
            name, args = item
            if name == "snapshot":
                if self.controller.running:
                    self._emit(("snapshot", self.controller.status(), self.controller.clients()))
                continue
            try:
                result = getattr(self.controller, name)(*args)
            except (OSError, ValueError, sqlite3.Error) as e:
                self._emit(("failed", name, str(e)))
            except Exception as e:  # shown to the user, never swallowed
                log.exception("control: %s failed", name)
                self._emit(("failed", name, f"{type(e).__name__}: {e}"))
            else:
                self._emit(("done", name, result))
            if self.controller.running or name == "shutdown":
                self._emit(("snapshot", self.controller.status(), self.controller.clients()))


class QueueLogHandler(logging.Handler):
    """Hands each log record, formatted, to ``emit`` as ``("log", levelno, line)``."""

    def __init__(self, emit, level: int = logging.DEBUG):
        super().__init__(level)
        self._emit = emit
        self.setFormatter(logging.Formatter(datadir.LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(("log", record.levelno, self.format(record)))
        except Exception:
            self.handleError(record)
