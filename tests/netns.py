"""A two-namespace test bed: a server namespace and a client namespace.

    with TwoNamespaceBed() as bed:
        server = bed.popen_in(bed.server_ns, ["netdesk", "serve", "--host", bed.server_addr])
        bed.run_in(bed.client_ns, ["ping", "-c1", bed.server_addr])

Builds ``<prefix>_srv`` (``10.200.50.1/24``) and ``<prefix>_cli`` (``10.200.50.2``,
``.3``, ... one address per client that must look like a different machine)
joined by a veth pair, with ``lo`` up in both. Nothing is routed anywhere
else: the namespaces have no default route, so nothing they do can leave the
machine. On exit every process started with ``popen_in`` is ended (by its
own id) and both namespaces are deleted, also when the body raised.

Needs Linux, root and ``ip`` (iproute2). Without them ``__enter__`` raises
``NetnsUnavailable`` with the reason; pytest tests call ``skip_unless_available()``
first (or catch it) so they skip with that reason instead of failing. The
module prints nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

SUBNET_PREFIX = "10.200.50"  # the bed's /24; 10.200.50.0-10.200.59.255 are ours
DEFAULT_PREFIX = "nd_atk"
IP_TIMEOUT = 15.0  # seconds for any one ``ip`` command


class NetnsUnavailable(RuntimeError):
    """This machine or user cannot build the bed (not root, no ``ip``, no netns)."""


class NetnsError(RuntimeError):
    """Building or using the bed failed."""


def unavailable_reason() -> str | None:
    """Why the bed cannot be built here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or skip these tests)"
    if shutil.which("ip") is None:
        return "the 'ip' command is missing (apt-get install -y iproute2)"
    return None


def skip_unless_available() -> None:
    """In a pytest test: skip it, with the reason, when the bed cannot be built."""
    reason = unavailable_reason()
    if reason is not None:
        import pytest

        pytest.skip(reason)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True,
                              timeout=IP_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise NetnsError(f"'ip {' '.join(args)}' took over {IP_TIMEOUT:g} s") from e
    if check and done.returncode != 0:
        raise NetnsError(f"'ip {' '.join(args)}' failed: {done.stderr.strip()}")
    return done


def existing_namespaces() -> set[str]:
    done = _ip("netns", "list", check=False)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


class NamespaceBed:
    """What every bed of namespaces does: build itself on entry (undoing what
    it made if that fails), run things inside its namespaces, and on exit end
    the processes it started and delete its namespaces. A subclass names its
    ``namespaces`` and writes ``_build``."""

    namespaces: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen] = []
        self._created: list[str] = []

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why this bed cannot be built here (a subclass may need more tools)."""
        return unavailable_reason()

    # -- building and tearing down ----------------------------------------------------
    def __enter__(self):
        reason = self.unavailable_reason()
        if reason is not None:
            raise NetnsUnavailable(reason)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        raise NotImplementedError

    def _add_namespaces(self) -> None:
        for ns in self.namespaces:
            done = _ip("netns", "add", ns, check=False)
            if done.returncode != 0:
                msg = done.stderr.strip()
                if "Operation not permitted" in msg or "Permission denied" in msg:
                    raise NetnsUnavailable(f"cannot create network namespaces here: {msg}")
                raise NetnsError(f"'ip netns add {ns}' failed: {msg}")
            self._created.append(ns)

    def _wait_link_up(self, ns: str, dev: str, seconds: float = 5.0) -> None:
        """Addresses are usable once duplicate address detection is done (IPv4: at
        once), and the link is up once the veth reports it; wait for the latter."""
        deadline = time.monotonic() + seconds
        while True:
            out = _ip("-n", ns, "-br", "link", "show", dev).stdout
            if " UP " in f" {out} " or "LOWER_UP" in out:
                return
            if time.monotonic() > deadline:
                raise NetnsError(f"the veth link did not come up within {seconds:g} s")
            time.sleep(0.05)  # a poll interval inside a deadline

    def close(self) -> None:
        """End the processes this bed started, then delete its namespaces."""
        for proc in self._procs:
            _end(proc)
        self._procs.clear()
        for ns in reversed(self._created):
            _ip("netns", "del", ns, check=False)
        self._created.clear()

    # -- running things inside ------------------------------------------------------
    def _argv(self, ns: str, argv: Sequence[str]) -> list[str]:
        if ns not in self.namespaces:
            raise ValueError(f"{ns!r} is not one of this bed's namespaces")
        return ["ip", "netns", "exec", ns, *argv]

    def run_in(self, ns: str, argv: Sequence[str], timeout: float = 60.0,
               **kwargs) -> subprocess.CompletedProcess:
        """``subprocess.run`` inside ``ns`` (bounded by ``timeout``; output captured
        as text unless ``kwargs`` say otherwise)."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self._argv(ns, argv), timeout=timeout, **kwargs)

    def popen_in(self, ns: str, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """``subprocess.Popen`` inside ``ns``, in a session of its own (so it and its
        children can be signalled together with ``os.killpg(proc.pid, ...)``); ended
        on ``close`` if still running. ``ip netns exec`` replaces itself with the
        command, so ``pid`` is the command's."""
        kwargs.setdefault("start_new_session", True)
        proc = subprocess.Popen(self._argv(ns, argv), **kwargs)
        self._procs.append(proc)
        return proc

    def end(self, proc: subprocess.Popen, grace: float = 3.0) -> None:
        """End one process (and its group) started by ``popen_in`` before the bed closes."""
        _end(proc, grace)


class TwoNamespaceBed(NamespaceBed):
    """The bed as a context manager; see the module docstring.

    ``client_addrs``: how many client addresses (2 to 250), ``10.200.50.2`` up.
    ``replace``: delete namespaces of the same names left by an earlier run
    that died (otherwise their presence raises ``NetnsError``, since another
    run may be using them).
    """

    def __init__(self, client_addrs: int = 8, prefix: str = DEFAULT_PREFIX,
                 replace: bool = False):
        super().__init__()
        if not prefix.startswith(DEFAULT_PREFIX):
            raise ValueError(f"namespace names must start with {DEFAULT_PREFIX!r}")
        if not 1 <= client_addrs <= 250:
            raise ValueError("client_addrs is 1 to 250")
        self.server_ns = f"{prefix}_srv"
        self.client_ns = f"{prefix}_cli"
        self.namespaces = (self.server_ns, self.client_ns)
        # Interface names are at most 15 bytes; both ends are created inside
        # their namespaces, so they never meet other names on the host.
        self._veth = ("nd_atk_vs", "nd_atk_vc")
        self.server_addr = f"{SUBNET_PREFIX}.1"
        self.client_addrs = [f"{SUBNET_PREFIX}.{i}" for i in range(2, 2 + client_addrs)]
        self.replace = replace

    def _build(self) -> None:
        stale = existing_namespaces() & {self.server_ns, self.client_ns}
        if stale and not self.replace:
            raise NetnsError(f"namespace(s) {', '.join(sorted(stale))} exist already "
                             f"(another run, or one that died: 'ip netns del NAME')")
        for ns in sorted(stale):
            _ip("netns", "del", ns)
        self._add_namespaces()
        vs, vc = self._veth
        _ip("link", "add", vs, "netns", self.server_ns, "type", "veth",
            "peer", "name", vc, "netns", self.client_ns)
        _ip("-n", self.server_ns, "addr", "add", f"{self.server_addr}/24", "dev", vs)
        for addr in self.client_addrs:
            _ip("-n", self.client_ns, "addr", "add", f"{addr}/24", "dev", vc)
        for ns, dev in ((self.server_ns, vs), (self.client_ns, vc)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        self._wait_link_up(self.client_ns, vc)


def _end(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: this process and its group."""
    if proc.poll() is None:
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        # Its own session (popen_in's default): the group id is its pid.
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def end_process(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """End one process started by ``popen_in`` before the bed closes."""
    _end(proc, grace)
