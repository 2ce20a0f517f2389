"""Shared test helpers: waiting on conditions, real Tk roots, thread checks.

Modelled on Porcupine's conftest: ``wait_until`` pumps Tk while it waits,
and two autouse guards fail a test that would otherwise pass in silence:
``tk_callbacks_must_not_raise`` (Tk only prints a failing callback's
traceback) and ``no_logged_errors`` (a server thread's crash is only
logged). A test that provokes errors on purpose takes them over with the
``logged_errors`` fixture and asserts on them itself.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import tkinter as tk

import pytest

from net import i18n
from net.budgets import Budgets
from net.chat.server import ChatOptions
from net.echo.server import EchoServer

# The suite reads English whatever the machine's locale: subprocesses get
# C.UTF-8 (run_env() sets it again), in-process code that asks the system
# finds it here, and every test starts in English (``english`` below).
ENGLISH_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
for _var in ("LANGUAGE", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ.update(ENGLISH_ENV)


@pytest.fixture(autouse=True)
def english():
    """Each test starts in English (a test may switch to Russian)."""
    i18n.setup("en")
    yield
    i18n.setup("en")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes a second or more (a build, a bed, a flood, a real peer); "
        "the fast subset is -m 'not slow'")


# What takes a second or more on the two-core machine (pytest --durations=0):
# whole modules that build something or drive a real peer, and single tests.
# The fast subset (-m "not slow") leaves them out and runs in under two minutes.
SLOW_MODULES = {"test_frozen.py", "test_scan_bed.py", "test_chat_netns.py",
                "test_irc_irssi.py", "test_irctest.py"}
SLOW_TESTS = {
    "test_chat_budgets.py::test_a_client_that_asks_for_history_and_never_reads_is_dropped",
    "test_chat_budgets.py::test_a_deleted_history_db_is_written_back_without_a_write",
    "test_chat_budgets.py::test_a_deleted_users_db_is_written_back",
    "test_chat_budgets.py::test_an_address_s_frames_are_read_at_its_budget",
    "test_chat_budgets.py::test_connections_per_address_are_capped_and_others_still_get_in",
    "test_chat_budgets.py::test_failures_from_strangers_do_not_lock_the_owner_out",
    "test_chat_budgets.py::test_login_floods_with_new_invalid_names_keep_no_limiter_state",
    "test_chat_budgets.py::test_look_alike_names_are_not_new_accounts",
    "test_chat_budgets.py::test_new_accounts_per_address_are_limited",
    "test_chat_budgets.py::test_new_connections_per_address_are_metered",
    "test_chat_budgets.py::test_trusted_addresses_skip_the_per_address_cap",
    "test_chat_protocol.py::test_a_stalled_client_is_dropped_after_the_stall_timeout",
    "test_chat_protocol.py::test_every_client_receives_the_same_order",
    "test_chat_protocol.py::test_ping_pong_and_idle_close",
    "test_chat_protocol.py::test_private_message",
    "test_chat_protocol.py::test_queued_output_is_delivered_whole_and_in_order_once_the_client_reads",
    "test_chat_tls.py::test_a_stalled_handshake_ends_at_the_login_deadline",
    "test_chat_tls.py::test_require_tls_refuses_plain_logins_without_looking_at_the_password",
    "test_control_panel.py::test_closing_while_running_asks_and_stops_everything",
    "test_control_panel.py::test_kick_needs_a_named_row",
    "test_control_panel.py::test_panel_start_pause_resume_logs_kick_clear_and_stop",
    "test_control_panel.py::test_the_panel_speaks_russian_with_a_server_running",
    "test_framing.py::test_any_split_of_a_valid_stream_gives_back_the_objects",
    "test_irc.py::test_a_client_that_stops_reading_is_cut_off_alone",
    "test_launcher.py::test_lang_wins_over_the_menu_which_wins_over_the_system",
    "test_launcher.py::test_two_chats_through_a_server_from_the_panel_then_quit",
    "test_look.py::test_ctrl_q_in_a_chat_asks_while_a_server_has_users_and_no_keeps_it",
    "test_scan_banners.py::test_no_socket_is_left_open",
    "test_scan_banners.py::test_parallel_bounds_the_connections_in_flight",
    "test_scan_targets.py::test_target_file_is_bounded",
    "test_scanner.py::test_progress_comes_at_least_ten_times_a_second",
    "test_scanner.py::test_starved_scanner_does_not_turn_closed_ports_filtered",
    "test_scanner_window.py::test_a_flood_of_open_ports_is_drawn_in_batches_in_order",
    "test_scanner_window.py::test_cancel_during_a_flood_shows_the_result_at_once",
    "test_tls_windows.py::test_the_panel_shows_the_fingerprint_the_share_and_requires_tls",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        name = f"{module}::{item.originalname}"
        if module in SLOW_MODULES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


class _Errors(logging.Handler):
    """Every record at ERROR or above, from any thread, for the test to see."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_logged_errors(request):
    """Fails a test in which anything logged an error it did not take over."""
    handler = _Errors()
    # netdesk's logger may not propagate (the data dir's handler is on it).
    loggers = [logging.getLogger(), logging.getLogger("netdesk")]
    for logger in loggers:
        logger.addHandler(handler)
    request.node._logged_errors = handler.records
    yield handler.records
    for logger in loggers:
        logger.removeHandler(handler)
    if getattr(request.node, "_errors_taken_over", False):
        return
    seen = {id(r): r for r in handler.records}.values()
    if seen:
        lines = [f"{r.name}: {r.getMessage()}" for r in seen]
        pytest.fail("the test logged errors:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
def logged_errors(request, no_logged_errors):
    """The errors logged during the test; the test asserts on them itself."""
    request.node._errors_taken_over = True
    return no_logged_errors


@pytest.fixture(autouse=True)
def tk_callbacks_must_not_raise(monkeypatch):
    """Fails a test in which a Tk callback raised, whatever root it ran in
    (a root of the test's own may still install a reporter of its own)."""
    errors: list[BaseException] = []
    monkeypatch.setattr(tk.Tk, "report_callback_exception",
                        lambda self, exc, val, tb: errors.append(val))
    yield errors
    if errors:
        raise errors[0]


@pytest.fixture
def make_server(tmp_path):
    """Starts chat servers on loopback port 0 (in ``tmp_path`` unless
    ``data_dir`` says otherwise) and stops them after the test."""
    from net.chat.server import ChatServer
    servers = []

    def make(data_dir=None, **options) -> ChatServer:
        server = ChatServer(data_dir or tmp_path, "127.0.0.1", 0, chat_options(**options))
        server.start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def gateway(tmp_path):
    """A chat server with its IRC gateway; options through ``make``."""
    from net.chat.server import ChatServer
    from net.irc.server import IrcOptions, IrcServer
    made = []

    def make(guests: bool = False, **options):
        chat = ChatServer(tmp_path, "127.0.0.1", 0, chat_options(**options))
        chat.start()
        irc = IrcServer(chat, "127.0.0.1", 0, IrcOptions(guests=guests))
        irc.start()
        made.append((chat, irc))
        return chat, irc

    yield make
    for chat, irc in made:
        irc.stop()
        chat.stop()


def chat_options(**options) -> ChatOptions:
    """ChatOptions from keyword arguments, budgets among them (say_burst=5, ...)."""
    budget_names = set(Budgets.__dataclass_fields__)
    budgets = Budgets(**{k: v for k, v in options.items() if k in budget_names})
    return ChatOptions(budgets=budgets,
                       **{k: v for k, v in options.items() if k not in budget_names})


def wait_until(condition, timeout: float = 10.0, root: tk.Misc | None = None,
               message: str = "condition") -> None:
    """Wait (pumping Tk events if a root is given) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        if root is not None:
            root.update()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.01)  # a poll interval inside a deadline, not a synchronisation


# Tk interpreters are kept until the end of the run: freeing one (and the
# variables of a window a test left open) is only safe on the main thread,
# and the garbage collector may run on any thread.
_KEEP_ALIVE: list[tk.Tk] = []


def retire_root(root: tk.Tk) -> None:
    """Destroy a test's root on this (the Tk) thread and release its objects."""
    from gui.kit.tkrelease import release_all
    try:
        for after_id in root.tk.call("after", "info"):
            root.after_cancel(after_id)
        root.destroy()
    except tk.TclError:
        pass
    release_all(root.tk)
    _KEEP_ALIVE.append(root)


@pytest.fixture
def tk_root():
    errors: list[BaseException] = []
    root = tk.Tk()
    root.report_callback_exception = lambda exc, val, tb: errors.append(val)
    root.withdraw()
    yield root
    retire_root(root)
    if errors:
        raise errors[0]


class JoinsOnThisThread:
    """Records every join that could block the calling thread (the Tk
    thread, in a window test): the state "close() never waited", asserted
    without a clock that a loaded two-core machine would make flaky."""

    def __init__(self, monkeypatch):
        self.joins: list[tuple[str, float | None]] = []
        me = threading.current_thread()
        real = threading.Thread.join

        def join(thread, timeout=None):
            if threading.current_thread() is me and (timeout is None or timeout > 0):
                self.joins.append((thread.name, timeout))
            return real(thread, timeout)

        monkeypatch.setattr(threading.Thread, "join", join)


@pytest.fixture
def blocking_joins(monkeypatch):
    """``.joins``: the joins that might have blocked this (the test's) thread."""
    return JoinsOnThisThread(monkeypatch)


@pytest.fixture
def settle_threads():
    """Yields a function asserting no thread started since the test began is left."""
    before = set(threading.enumerate())

    def check(timeout: float = 5.0) -> None:
        wait_until(lambda: not (set(threading.enumerate()) - before), timeout,
                   message="threads to end")

    return check


@pytest.fixture
def echo_server():
    server = EchoServer("127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def listen_on(ports: list[int] | None = None, count: int = 0,
              most: int | None = None) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1: ``count`` on ports the system picks,
    plus one on each free port of ``ports``, ``most`` of them at the most.
    The caller closes them."""
    socks = []
    for port in [0] * count + list(ports or []):
        if most is not None and len(socks) >= count + most:
            break
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        s.listen(64)
        socks.append(s)
    return socks


# -- shared window helpers (used by several test modules) --------------------------------
def quick_session(emit):
    """A chat session that reconnects quickly: tests wait less."""
    from net.chat.client import ChatSession
    return ChatSession(emit, reconnect_delays=(0.05, 0.1, 0.2, 0.3, 0.5, 0.5, 1, 1, 1))


def open_window(root, server, name, password="pw", settings=None,
                session_factory=quick_session):
    """A chat window logged in to ``server`` as ``name`` (or showing why not)."""
    from gui.chat.window import ChatWindow
    w = ChatWindow(root, settings, session_factory=session_factory, autoconnect=False)
    w.host.set(server.address[0])
    w.port.set(str(server.address[1]))
    w.name.set(name)
    w.password.set(password)
    w.login_button.invoke()
    wait_until(lambda: w.logged_in or w.login_error.get(), 20, root, f"{name} to log in")
    return w


def focus(widget) -> None:
    widget.focus_force()
    widget.update()


def press(widget, key: str) -> None:
    """A key pressed in ``widget`` (focused first, as a user's click would)."""
    focus(widget)
    widget.event_generate(key)
    widget.update()


def say(window, text: str) -> None:
    """Type a line into a chat window's message box and press Enter."""
    focus(window.entry)
    window.entry.delete("1.0", "end")
    window.entry.insert("insert", text)
    press(window.entry, "<Return>")  # Enter sends


def start(panel, root):
    """Start a control panel's services on loopback, every port any free one;
    the chat's and the echo's addresses."""
    panel.host.set("127.0.0.1")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.irc_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None and panel.status_now.running, 10, root,
               "the services to start")
    return panel.controller.chat.address, panel.controller.echo.address


def panel_at_minimum(tk_root, tmp_path, lang: str):
    """A control panel in ``lang`` and netdesk's own look (its fonts and
    paddings), shown at its minimum size; the caller closes it."""
    from gui.kit import style
    from gui.panel.window import ControlPanel
    i18n.setup(lang)
    style.apply(tk_root, "light")
    p = ControlPanel(tk_root, tmp_path, None)
    width, height = p.minsize()
    p.geometry(f"{width}x{height}")
    p.deiconify()
    wait_until(lambda: (p.winfo_width(), p.winfo_height()) == (width, height), 5,
               tk_root, "the size")
    return p


def netdesk_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gui", *args]


def run_env(**extra: str) -> dict:
    """The environment of a test's subprocess: unbuffered, in English (the
    C locale) unless ``extra`` says otherwise (``LANG="ru_RU.UTF-8"``)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    for var in ("LANGUAGE", "LC_MESSAGES"):
        env.pop(var, None)
    env.update(ENGLISH_ENV)
    if "LANG" in extra:
        env.pop("LC_ALL")  # LC_ALL would win over the LANG asked for
    env.update(extra)
    return env


def reap(proc: subprocess.Popen) -> None:
    """End a test's subprocess if it still runs, and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except (OSError, ValueError):
                pass


def start_serve(tmp_path, *extra: str) -> tuple[subprocess.Popen, dict[str, tuple[str, int]]]:
    """Start ``netdesk serve`` on loopback with port 0; wait for its lines."""
    proc = subprocess.Popen(
        netdesk_cmd("--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1",
                    "--echo-port", "0", "--chat-port", "0", "--irc-port", "0", *extra),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=run_env())
    services: dict[str, tuple[str, int]] = {}
    want = {"echo", "chat", "irc"}
    deadline = time.monotonic() + 20
    proc.startup_lines = []  # every line read here, for tests of what else it printed
    while set(services) != want and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        proc.startup_lines.append(line.rstrip("\n"))
        parts = line.split()
        if len(parts) == 4 and parts[1:3] == ["listening", "on"]:
            host, port = parts[3].rsplit(":", 1)
            services[parts[0]] = (host, int(port))
    if set(services) != want:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"netdesk serve did not start: {err}")
    return proc, services
