"""The server controller: runs the services and carries out the commands.

One implementation of shutdown, pause, resume, logs, clear-logs,
clear-users, status, clients, kick and help, shared by the ``netdesk serve``
console and the control-panel window. The services listen on threads of
their own; the controller is called from whichever thread the user commands
from.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from net import datadir
from net.chat_server import ChatOptions, ChatServer
from net.echo_server import DEFAULT_PORT as ECHO_PORT
from net.echo_server import EchoServer

log = logging.getLogger("netdesk.control")


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"
    echo_port: int = ECHO_PORT
    chat_port: int | None = None  # None: the chat service is not run
    chat_options: ChatOptions = field(default_factory=ChatOptions)


@dataclass
class Reply:
    """What a command answers: text for the user, and whether to exit."""

    text: str
    ok: bool = True
    stop: bool = False


class ServerController:
    def __init__(self, data_dir: Path, config: ServerConfig,
                 log_handler: datadir.PrivateRotatingFileHandler | None = None):
        self.data_dir = data_dir
        self.config = config
        self.log_handler = log_handler
        self._lock = threading.RLock()
        self.echo: EchoServer | None = None
        self.chat: ChatServer | None = None
        self.started_at: float | None = None
        self.stopped = threading.Event()

    # -- life cycle -------------------------------------------------------
    def start(self) -> list[tuple[str, str, int]]:
        """Start every configured service; returns (service, host, port) rows."""
        with self._lock:
            started = []
            try:
                self.echo = EchoServer(self.config.host, self.config.echo_port)
                started.append(("echo", *self.echo.start()))
                if self.config.chat_port is not None:
                    self.chat = ChatServer(self.data_dir, self.config.host,
                                           self.config.chat_port, self.config.chat_options)
                    started.append(("chat", *self.chat.start()))
            except BaseException:
                self._stop_services()
                raise
            self.started_at = time.monotonic()
            self.stopped.clear()
            return started

    def shutdown(self) -> None:
        with self._lock:
            self._stop_services()
            self.started_at = None
            self.stopped.set()

    def _stop_services(self) -> None:
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
        return [s for s in (self.echo, self.chat) if s is not None]

    # -- commands ---------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            for service in self.services():
                service.listener.pause()

    def resume(self) -> None:
        with self._lock:
            for service in self.services():
                service.listener.resume()

    @property
    def paused(self) -> bool:
        return self.running and not any(s.listener.listening for s in self.services())

    def log_lines(self, n: int = 20) -> list[str]:
        path = datadir.log_path(self.data_dir)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()[-n:] if n > 0 else []
        except FileNotFoundError:
            return []

    def clear_logs(self) -> None:
        if self.log_handler is not None:
            self.log_handler.clear()
        else:
            datadir.open_private(datadir.log_path(self.data_dir), "w").close()
        log.info("log cleared by the operator")

    def execute(self, line: str) -> Reply:
        """Run one console command line and say what happened."""
        words = line.split()
        if not words:
            return Reply("")
        name, rest = words[0].lower(), words[1:]
        handler = _COMMANDS.get(name)
        if handler is None:
            return Reply(f"unknown command {name!r}; type 'help' for the list", ok=False)
        try:
            return handler(self, rest)
        except (OSError, ValueError) as e:
            return Reply(f"{name}: {e}", ok=False)

    def _cmd_shutdown(self, rest: list[str]) -> Reply:
        self.shutdown()
        return Reply("server stopped", stop=True)

    def _cmd_pause(self, rest: list[str]) -> Reply:
        if self.paused:
            return Reply("already paused")
        self.pause()
        return Reply("paused: new connections are refused; current sessions go on")

    def _cmd_resume(self, rest: list[str]) -> Reply:
        if not self.paused:
            return Reply("not paused")
        self.resume()
        return Reply("resumed: " + ", ".join(
            f"{s.listener.name} on port {s.listener.port}" for s in self.services()))

    def _cmd_logs(self, rest: list[str]) -> Reply:
        n = int(rest[0]) if rest else 20
        lines = self.log_lines(n)
        return Reply("\n".join(lines) if lines else "(the log is empty)")

    def _cmd_clear_logs(self, rest: list[str]) -> Reply:
        self.clear_logs()
        return Reply("log cleared")

    def _cmd_status(self, rest: list[str]) -> Reply:
        if not self.running:
            return Reply("stopped")
        state = "paused" if self.paused else "listening"
        uptime = time.monotonic() - (self.started_at or time.monotonic())
        parts = [f"{state}, up {format_duration(uptime)}"]
        for s in self.services():
            parts.append(f"{s.listener.name}: port {s.listener.port}, "
                         f"{s.listener.connection_count()} connection(s)")
        return Reply("\n".join(parts))

    def _cmd_help(self, rest: list[str]) -> Reply:
        return Reply(HELP)


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


HELP = """commands:
  status            ports, paused or not, clients, uptime
  pause             stop listening (current sessions go on)
  resume            listen again on the same ports
  logs [N]          the last N log lines (default 20)
  clear-logs        empty the log file
  help              this list
  shutdown          stop every service and exit"""

_COMMANDS = {
    "shutdown": ServerController._cmd_shutdown,
    "quit": ServerController._cmd_shutdown,
    "exit": ServerController._cmd_shutdown,
    "pause": ServerController._cmd_pause,
    "resume": ServerController._cmd_resume,
    "logs": ServerController._cmd_logs,
    "clear-logs": ServerController._cmd_clear_logs,
    "status": ServerController._cmd_status,
    "help": ServerController._cmd_help,
    "?": ServerController._cmd_help,
}
