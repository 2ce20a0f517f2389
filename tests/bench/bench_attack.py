"""Chat server under attack: does a victim on another address still get served?

For each attack a fresh ``netdesk serve`` runs in namespace ``nd_atk_srv``
(10.200.50.1); in ``nd_atk_cli`` an attacker process (10.200.50.3, and .3-.7
for attack 6) and a victim process (10.200.50.2) run at once. The victim logs
in (a new account first, before the attack starts; then during the attack it
alternates logging in again and creating a few more accounts) and chats: each
``say`` is timed until its own ``message`` comes back. After the attack an
auditor (10.200.50.9, a new account) pages through ``history`` and looks for
every message the victim had acknowledged (its echo seen).

Attacks (PROTOCOL.md v1.1, 2.6 and 2.7):
  1 one unauthenticated connection: 8,000 ``login`` frames, each a new
    60,000-character name
  2 a logged-in client sends ``history`` (limit 500) in a loop, never reads
    (it first says 200 messages of 4,000 characters, so pages are large)
  3 one address opens 1,000 connections and holds them (answers pings only)
  4 reconnect + ``resume`` + 250 ``say`` in a loop
  5 account creation from one address, 16 workers in a loop
  6 5 wrong passwords for the victim's name from 5 addresses; the victim must
    still log in from its own address, where it logged in before
  7 duplicate-key and malformed frames, one per connection, 4 workers

Measured per attack: victim login latency (connect to ``welcome``) and
``say`` -> own ``message`` latency, p50/p99; server RSS before the attack and
its peak during it (VmRSS of the server process); acknowledged victim messages
missing from history afterwards; what the attacker got (errors, closes,
accepted work). Goals: login p99 <= 200 ms, say p99 <= 50 ms, RSS growth
<= 100 MB, lost 0 (and no failed victim logins or says, server alive).

Everything is bounded: every read has a timeout, every loop a count and a
deadline. If the server's RSS passes 2 GB the attacker is killed and the
row says so; past 3 GB the server is killed too. A server that dies is
reported, not crashed on.

Needs root and iproute2 (network namespaces; nothing leaves the machine):

    python tests/bench/bench_attack.py [--attacks 1 2 ...] [--seconds 8] [--json FILE]

The same file is the attacker, victim and auditor (``--role``), run inside
the client namespace by the orchestrator.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import selectors
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from net.chat.client import CLIENT_MAX_PAYLOAD  # noqa: E402
from net.chat.framing import (  # noqa: E402
    HEADER,
    FrameDecoder,
    FrameError,
    FrameReader,
    encode,
    send_frame,
)

GOAL_LOGIN_P99 = 200.0  # ms
GOAL_SAY_P99 = 50.0  # ms
GOAL_RSS_MB = 100.0
RSS_CAP = 2 << 30  # bytes: stop the attack
RSS_KILL = 3 << 30  # bytes: kill the server
READ_TIMEOUT = 10.0  # any one read by the victim, attacker or auditor
PASSWORD = "victim-password-1"
ATTACK_NAMES = {
    1: "8k logins, 60k-char names",
    2: "history loop, never reads",
    3: "1,000 held connections",
    4: "reconnect+resume+250 says",
    5: "account creation loop",
    6: "5 wrong passwords, 5 addrs",
    7: "dup-key/malformed frames",
}

# -- client side helpers (inside the client namespace) ---------------------------------


def parse_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


class Conn:
    """A blocking chat connection from a chosen source address; every read bounded."""

    def __init__(self, server: tuple[str, int], bind: str, timeout: float = READ_TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection(server, timeout=timeout, source_address=(bind, 0))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = FrameReader(self.sock, CLIENT_MAX_PAYLOAD)
        self.name: str | None = None

    def hello(self) -> dict:
        msg = self.recv()
        if msg is None:
            raise ConnectionError("closed before hello")
        if msg.get("type") != "hello":
            raise ConnectionError(f"expected hello, got {msg!r:.100}")
        return msg

    def send(self, obj: dict) -> None:
        send_frame(self.sock, obj, self.timeout)

    def recv(self, timeout: float | None = None) -> dict | None:
        return self.reader.read(self.timeout if timeout is None else timeout)

    def until(self, types: tuple[str, ...], timeout: float | None = None) -> dict:
        """Next message of one of ``types`` (answering pings); raises on close/timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for _ in range(1_000_000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            msg = self.recv(left)
            if msg is None:
                raise ConnectionError("the server closed the connection")
            if msg.get("type") == "ping":
                self.send({"type": "pong"})
            if msg.get("type") in types:
                return msg
        raise TimeoutError(f"no {'/'.join(types)} in time")

    def login(self, name: str, password: str, resume: str | None = None) -> dict:
        """``welcome`` or ``error`` (a dict either way)."""
        self.send({"type": "resume", "token": resume} if resume
                  else {"type": "login", "name": name, "password": password})
        reply = self.until(("welcome", "error", "bye"))
        if reply["type"] == "welcome":
            self.name = reply.get("name")
        return reply

    def logout(self) -> None:
        try:
            self.send({"type": "logout"})
            self.until(("bye",), 1.0)
        except (OSError, FrameError, TimeoutError):
            pass
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def raw_socket(server: tuple[str, int], bind: str, timeout: float = 3.0) -> socket.socket:
    return socket.create_connection(server, timeout=timeout, source_address=(bind, 0))


def emit(obj) -> None:
    print(json.dumps(obj) if not isinstance(obj, str) else obj, flush=True)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def err_name(e: BaseException) -> str:
    return type(e).__name__ if not str(e) else f"{type(e).__name__}: {str(e)[:60]}"


# -- the victim --------------------------------------------------------------------------


def run_victim(args) -> None:
    server = parse_hostport(args.server)
    name = args.name
    logins: list[float] = []
    login_fail: Counter = Counter()
    says: list[float] = []
    say_fail: Counter = Counter()
    acked: list[list] = []
    first_login = None
    nonce = secrets.token_hex(3)

    def one_login(account: str) -> Conn | None:
        t0 = time.monotonic()
        try:
            conn = Conn(server, args.bind)
        except OSError as e:
            login_fail[f"connect: {err_name(e)}"] += 1
            return None
        try:
            conn.hello()
            reply = conn.login(account, PASSWORD)
        except (OSError, FrameError, TimeoutError) as e:
            conn.close()
            login_fail[err_name(e)] += 1
            return None
        if reply["type"] != "welcome":
            conn.close()
            login_fail[reply.get("code", reply["type"])] += 1
            return None
        logins.append((time.monotonic() - t0) * 1000)
        return conn

    # Before the attack: the account is made, and this address has logged in as it.
    conn = one_login(name)
    if conn is not None:
        first_login = logins.pop()
        conn.logout()
    emit("READY")
    go = sys.stdin.readline()  # the attacker is in place (bounded by the orchestrator)
    if not go:
        return
    start = time.monotonic()
    deadline = start + args.seconds
    cycle = new_accounts = 0
    while time.monotonic() < deadline and cycle < 500:
        cycle += 1
        account = name
        if cycle % 2 == 0 and new_accounts < 6:
            new_accounts += 1
            account = f"{name}n{new_accounts}"
        conn = one_login(account)
        if conn is None:
            time.sleep(0.2)
            continue
        try:
            for k in range(10):
                if time.monotonic() >= deadline:
                    break
                text = f"victim {nonce} c{cycle} k{k}"
                t0 = time.monotonic()
                conn.send({"type": "say", "text": text})
                for _ in range(100_000):
                    msg = conn.until(("message", "error"), 5.0)
                    if msg["type"] == "error":
                        say_fail[msg.get("code", "error")] += 1
                        break
                    if msg.get("from") == conn.name and msg.get("text") == text:
                        says.append((time.monotonic() - t0) * 1000)
                        acked.append([msg.get("id"), text])
                        break
                time.sleep(max(0.0, 0.06 - (time.monotonic() - t0)))  # under 20 says/s
        except (OSError, FrameError, TimeoutError) as e:
            say_fail[err_name(e)] += 1
        conn.logout()
    emit({"first_login_ms": first_login, "logins": logins, "login_fail": dict(login_fail),
          "says": says, "say_fail": dict(say_fail), "acked": acked, "cycles": cycle,
          "seconds": time.monotonic() - start})


# -- the auditor ---------------------------------------------------------------------------


def run_audit(args) -> None:
    """Which acknowledged messages (stdin: [[id, text], ...]) are in history?"""
    acked = {int(i): t for i, t in json.loads(sys.stdin.readline() or "[]") if i is not None}
    found: set[int] = set()
    out = {"checked": len(acked), "found": 0, "lost": [], "pages": 0, "error": None}
    if not acked:
        emit(out)
        return
    try:
        conn = Conn(parse_hostport(args.server), args.bind)
        conn.hello()
        reply = conn.login(f"audit{secrets.token_hex(3)}", "audit-password")
        if reply["type"] != "welcome":
            raise ConnectionError(f"auditor login: {reply.get('code')}")
        before = max(acked) + 1
        for _ in range(400):  # pages, bounded
            conn.send({"type": "history", "before": before, "limit": 500})
            msg = conn.until(("history", "error"))
            if msg["type"] == "error":
                if msg.get("code") == "rate_limited":
                    time.sleep(0.5)
                    continue
                raise ConnectionError(f"history: {msg.get('code')}")
            out["pages"] += 1
            page = msg.get("messages") or []
            for m in page:
                if acked.get(m.get("id")) == m.get("text"):
                    found.add(m["id"])
            if not page:
                break
            lowest = min(m.get("id", 0) for m in page)
            below = [i for i in acked if i < lowest and i not in found]
            if not below:
                break
            before = max(below) + 1
        conn.logout()
    except (OSError, FrameError, TimeoutError, ValueError) as e:
        out["error"] = err_name(e)
    out["found"] = len(found)
    out["lost"] = sorted(set(acked) - found)
    emit(out)


# -- the attacker ----------------------------------------------------------------------------


class Tally:
    """What an attacker saw; thread-safe counters."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c: Counter = Counter()

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.c[key] += n

    def reply(self, msg: dict) -> None:
        kind = msg.get("type")
        self.add(f"error:{msg.get('code')}" if kind == "error" else f"got:{kind}")


def attack_login_flood(args, server, binds, tally: Tally, phase: Phase) -> str:
    count = 8000
    base = "".join(random.choices(string.ascii_letters, k=60_000))
    sock = raw_socket(server, binds[0])
    sock.setblocking(False)
    deadline = phase.begin()
    dec = FrameDecoder(CLIENT_MAX_PAYLOAD)
    out = bytearray()
    queued = replies = 0
    closed = None
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    for _ in range(10_000_000):
        if time.monotonic() >= deadline or closed:
            break
        while queued < count and len(out) < (1 << 20):
            name = base[:60_000 - 7] + f"{queued:07d}"
            out += encode({"type": "login", "name": name, "password": "pw"})
            queued += 1
        for _key, events in sel.select(0.05):
            try:
                if events & selectors.EVENT_WRITE and out:
                    n = sock.send(out)
                    del out[:n]
                    tally.add("bytes_sent", n)
                if events & selectors.EVENT_READ:
                    data = sock.recv(1 << 20)
                    if not data:
                        closed = "closed by the server"
                        break
                    for msg in dec.feed(data):
                        tally.reply(msg)
                        replies += msg.get("type") != "hello"
            except (BlockingIOError, InterruptedError):
                pass
            except (OSError, FrameError) as e:
                closed = err_name(e)
                break
        if queued >= count and not out and replies >= count:
            break
    sock.close()
    tally.add("frames_queued", queued)
    tally.add("replies", replies)
    if closed:
        return f"disconnected after {replies} replies ({closed})"
    if replies < count:  # the server read its frames no faster than its budget
        return f"throttled: {replies}/{count} logins answered in {args.seconds:g} s"
    return f"not stopped: {replies}/{count} logins answered"


def attack_history_flood(args, server, binds, tally: Tally, phase: Phase) -> str:
    conn = Conn(server, binds[0])
    # Small buffers: the point is a client that does not read.
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.hello()
    reply = conn.login(f"atk2{secrets.token_hex(2)}", "attacker-pw")
    if reply["type"] != "welcome":
        phase.begin()
        return f"could not log in ({reply.get('code')})"
    seeded = 0
    big = "x" * 4000
    seed_end = phase.setup_end
    for i in range(200):  # large history pages
        conn.send({"type": "say", "text": f"{i} {big}"[:4000]})
    for _ in range(10_000):
        if seeded + tally.c["error:rate_limited"] >= 200 or time.monotonic() > seed_end:
            break
        try:
            msg = conn.until(("message", "error"), max(0.01, seed_end - time.monotonic()))
        except TimeoutError:
            break
        if msg["type"] == "message" and msg.get("from") == conn.name:
            seeded += 1
        elif msg["type"] == "error":
            tally.reply(msg)
    tally.add("seeded", seeded)
    deadline = phase.begin()
    frame = encode({"type": "history", "limit": 500})
    sock = conn.sock
    sock.setblocking(False)
    sent, started, outcome = 0, time.monotonic(), None
    for _ in range(1_000_000):
        if time.monotonic() >= deadline:
            break
        try:
            sock.send(frame)  # 30-odd bytes: all or nothing in practice
            sent += 1
        except (BlockingIOError, InterruptedError):
            sel_wait(sock, 0.05)
        except OSError as e:
            outcome = (f"disconnected after {sent} requests, "
                       f"{time.monotonic() - started:.1f} s ({err_name(e)})")
            break
    sock.close()
    tally.add("requests", sent)
    return outcome or f"not stopped: {sent} history requests sent, never read"


def sel_wait(sock: socket.socket, timeout: float, write: bool = True) -> None:
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_WRITE if write else selectors.EVENT_READ)
        sel.select(timeout)


def attack_hold(args, server, binds, tally: Tally, phase: Phase) -> str:
    count = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 200)), hard))
    sel = selectors.DefaultSelector()
    decs: dict[socket.socket, FrameDecoder] = {}
    setup_end = phase.setup_end
    refused = Counter()
    for _ in range(count):
        if time.monotonic() >= setup_end:
            refused["setup time over"] += 1
            break
        try:
            s = raw_socket(server, binds[0], min(2.0, max(0.1, setup_end - time.monotonic())))
        except OSError as e:
            refused[err_name(e)] += 1
            continue
        s.setblocking(False)
        decs[s] = FrameDecoder(CLIENT_MAX_PAYLOAD)
        sel.register(s, selectors.EVENT_READ)
    tally.add("opened", len(decs))
    for k, v in refused.items():
        tally.add(f"connect_failed:{k}", v)
    deadline = phase.begin()
    open_ = set(decs)
    for _ in range(1_000_000):
        if time.monotonic() >= deadline or not open_:
            break
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            msgs = []
            if data:
                try:
                    msgs = decs[s].feed(data)
                except FrameError:
                    data = b""
            for msg in msgs:
                tally.reply(msg)
                if msg.get("type") == "ping":
                    try:
                        s.send(encode({"type": "pong"}))
                    except OSError:
                        pass
            if not data:
                sel.unregister(s)
                open_.discard(s)
                tally.add("closed_by_server")
    held = len(open_)
    for s in decs:
        s.close()
    opened = len(decs)
    if held <= 32:
        return f"stopped: {held}/{count} held at the end ({opened} opened)"
    return f"not stopped: {held}/{count} connections held"


def attack_resume_flood(args, server, binds, tally: Tally, phase: Phase) -> str:
    conn = Conn(server, binds[0])
    conn.hello()
    reply = conn.login(f"atk4{secrets.token_hex(2)}", "attacker-pw")
    if reply["type"] != "welcome":
        phase.begin()
        return f"could not log in ({reply.get('code')})"
    token, me = reply["token"], reply["name"]
    conn.close()
    deadline = phase.begin()
    started = time.monotonic()
    accepted = limited = loops = 0
    outcome = None
    for _ in range(10_000):
        if time.monotonic() >= deadline:
            break
        try:
            c = Conn(server, binds[0], 5.0)
        except OSError as e:
            tally.add(f"connect_failed:{err_name(e)}")
            time.sleep(0.05)
            continue
        try:
            c.hello()
            r = c.login("", "", resume=token)
            if r["type"] != "welcome":
                code = r.get("code")
                tally.add(f"resume:{code}")
                c.close()
                if code in ("bad_token", "too_many_attempts"):
                    outcome = f"stopped: resume refused ({code}) after {loops} loops"
                    break
                time.sleep(0.02)
                continue
            loops += 1
            for k in range(250):
                c.send({"type": "say", "text": f"flood {loops} {k}"})
            answered = 0
            end = min(deadline + 2, time.monotonic() + 5)
            while answered < 250 and time.monotonic() < end:
                msg = c.until(("message", "error"), max(0.01, end - time.monotonic()))
                if msg["type"] == "error":
                    answered += 1
                    limited += msg.get("code") == "rate_limited"
                    tally.reply(msg)
                elif msg.get("from") == me:
                    answered += 1
                    accepted += 1
        except (OSError, FrameError, TimeoutError) as e:
            tally.add(f"loop:{err_name(e)}")
        c.close()
    elapsed = time.monotonic() - started
    tally.add("accepted", accepted)
    tally.add("rate_limited", limited)
    tally.add("loops", loops)
    budget = 200 + 20 * elapsed
    if outcome:
        return outcome
    verdict = "stopped" if accepted <= budget * 1.1 else "not stopped"
    return f"{verdict}: {accepted} says accepted in {elapsed:.0f} s (budget ~{budget:.0f})"


def attack_register_flood(args, server, binds, tally: Tally, phase: Phase) -> str:
    workers = 16
    deadline = phase.begin()
    prefix = secrets.token_hex(2)

    def worker(w: int) -> None:
        for i in range(2000):
            if time.monotonic() >= deadline:
                return
            try:
                c = Conn(server, binds[0], 5.0)
            except OSError as e:
                tally.add(f"connect_failed:{err_name(e)}")
                time.sleep(0.05)
                continue
            try:
                c.hello()
                r = c.login(f"r{prefix}w{w}n{i}", "attacker-pw")
                if r["type"] == "welcome":
                    tally.add("created" if r.get("new_account") else "got:welcome")
                    c.logout()
                else:
                    tally.reply(r)
            except (OSError, FrameError, TimeoutError) as e:
                tally.add(f"loop:{err_name(e)}")
            c.close()

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline + 8 - time.monotonic()))
    created = tally.c["created"]
    if created <= 20:
        return f"stopped: {created} accounts created"
    return f"not stopped: {created} accounts created"


def attack_wrong_passwords(args, server, binds, tally: Tally, phase: Phase) -> str:
    codes = []

    def one(addr: str, i: int) -> None:
        try:
            c = Conn(server, addr, 5.0)
            c.hello()
            r = c.login(args.victim_name, f"wrong-password-{i}")
            codes.append(r.get("code", r["type"]))
            c.close()
        except (OSError, FrameError, TimeoutError) as e:
            codes.append(err_name(e))

    threads = [threading.Thread(target=one, args=(a, i), daemon=True)
               for i, a in enumerate(binds[:5])]
    for t in threads:
        t.start()
        t.join(6)  # one after another: the order of the five is fixed
    for c in codes:
        tally.add(f"reply:{c}")
    deadline = phase.begin()
    time.sleep(max(0.0, deadline - time.monotonic()))
    return "tries answered " + ", ".join(f"{k} x{v}" for k, v in Counter(codes).items())


MALFORMED = {
    "dup_key_ping": b'{"type":"ping","type":"ping"}',
    "dup_key_login": b'{"type":"login","name":"dupa","password":"pw1","name":"dupb"}',
    "bad_utf8": b'{"type":"\xff\xfe"}',
    "not_object": b"[1,2,3]",
    "nan": b'{"type":"ping","x":NaN}',
    "deep": b"[" * 30_000,
    "zero_len": None,
    "over_len": None,
}


def malformed_frame(kind: str) -> bytes:
    if kind == "zero_len":
        return HEADER.pack(0)
    if kind == "over_len":
        return HEADER.pack(0xFFFFFF00)
    payload = MALFORMED[kind]
    return HEADER.pack(len(payload)) + payload


def attack_malformed(args, server, binds, tally: Tally, phase: Phase) -> str:
    deadline = phase.begin()
    kinds = list(MALFORMED)

    def worker(w: int) -> None:
        for i in range(3000):
            if time.monotonic() >= deadline:
                return
            kind = kinds[(w + i) % len(kinds)]
            try:
                s = raw_socket(server, binds[0], 3.0)
            except OSError as e:
                tally.add(f"connect_failed:{err_name(e)}")
                time.sleep(0.05)
                continue
            got_bad_frame = refused = closed = False
            try:
                s.sendall(malformed_frame(kind))
                s.setblocking(False)
                dec = FrameDecoder(CLIENT_MAX_PAYLOAD)
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    sel_wait(s, max(0.0, end - time.monotonic()), write=False)
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not data:
                        closed = True
                        break
                    for msg in dec.feed(data):
                        if msg.get("type") == "error" and msg.get("code") == "bad_frame":
                            got_bad_frame = True
                        # The connection budget may refuse it before any frame is read.
                        if msg.get("type") == "error" and msg.get("code") == "too_many_connections":
                            refused = True
            except (OSError, FrameError):
                closed = True
            s.close()
            if refused and closed:
                tally.add("refused_at_connect")
                continue
            tally.add(f"{kind}:{'rejected' if got_bad_frame and closed else 'ACCEPTED'}")

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline + 5 - time.monotonic()))
    accepted = sorted({k.split(":")[0] for k in tally.c if k.endswith(":ACCEPTED")})
    total = sum(v for k, v in tally.c.items() if k.endswith(("rejected", "ACCEPTED")))
    refused = tally.c["refused_at_connect"]
    if accepted:
        return f"not stopped: {total} frames, accepted: {', '.join(accepted)}"
    return (f"stopped: all {total} frames rejected (bad_frame + close), "
            f"{refused} connections refused by the connection budget")


class Phase:
    """Setup (at most ``SETUP_SECONDS``), then the attack proper for ``seconds``
    (plus a little, so it covers the victim's whole window)."""

    SETUP_SECONDS = 8.0

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.setup_end = time.monotonic() + self.SETUP_SECONDS
        self.deadline: float | None = None

    def begin(self) -> float:
        """Tell the orchestrator the attack is on; the attack's deadline."""
        if self.deadline is None:
            emit("ATTACKING")
            self.deadline = time.monotonic() + self.seconds + 0.5
        return self.deadline


ATTACKS = {1: attack_login_flood, 2: attack_history_flood, 3: attack_hold,
           4: attack_resume_flood, 5: attack_register_flood, 6: attack_wrong_passwords,
           7: attack_malformed}


def run_attacker(args) -> None:
    server = parse_hostport(args.server)
    binds = args.bind.split(",")
    tally = Tally()
    phase = Phase(args.seconds)
    try:
        outcome = ATTACKS[args.attack](args, server, binds, tally, phase)
    except (OSError, FrameError, TimeoutError, ValueError) as e:
        phase.begin()  # unblock the orchestrator whatever happened
        outcome = f"attacker failed: {err_name(e)}"
    emit({"outcome": outcome, "counts": dict(tally.c)})


# -- the orchestrator (host side) ---------------------------------------------------------


class Lines:
    """Lines from a child's stdout, each read bounded by a timeout."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.fd = proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buf = b""
        self.eof = False

    def readline(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        for _ in range(1_000_000):
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                return line.decode(errors="replace")
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            with selectors.DefaultSelector() as sel:
                sel.register(self.fd, selectors.EVENT_READ)
                if not sel.select(left):
                    continue
            try:
                data = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                continue
            if not data:
                self.eof = True
            self.buf += data
        return None

    def last_json(self, timeout: float) -> dict | None:
        """The JSON report the child prints last (None if it never came)."""
        deadline = time.monotonic() + timeout
        result = None
        while (line := self.readline(max(0.0, deadline - time.monotonic()))) is not None:
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                except ValueError:
                    pass
        return result


def rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return 0


class RssWatch(threading.Thread):
    """Samples the server's RSS; enforces the caps."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_bytes(pid) or 0
        self.attacker: subprocess.Popen | None = None
        self.capped = self.killed = False
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.05):
            rss = rss_bytes(self.pid)
            if rss is None:
                return
            self.peak = max(self.peak, rss)
            if rss > RSS_CAP and not self.capped and self.attacker is not None:
                self.capped = True
                kill_group(self.attacker)
            if rss > RSS_KILL and not self.killed:
                self.killed = True
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # our child, in a session of its own
    except (ProcessLookupError, PermissionError):
        pass


def start_server(bed, data_dir: str) -> tuple[subprocess.Popen, str]:
    netdesk = str(Path(sys.executable).with_name("netdesk"))
    log = open(Path(data_dir) / "serve.stderr", "wb")  # noqa: SIM115 - closed with the dir
    proc = bed.popen_in(bed.server_ns, [netdesk, "serve", "--host", bed.server_addr,
                                        "--echo-port", "0", "--chat-port", "0",
                                        "--data-dir", data_dir],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    log.close()
    lines = Lines(proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = lines.readline(max(0.0, deadline - time.monotonic()))
        if line is None:
            break
        if line.startswith("chat listening on "):
            return proc, line.split()[-1]
    raise RuntimeError(f"netdesk serve did not report its chat port "
                       f"(exit {proc.poll()}; see {data_dir}/serve.stderr)")


def client(bed, role: str, bind: str, server: str, seconds: float, *extra: str,
           stdin=subprocess.PIPE) -> subprocess.Popen:
    argv = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--bind", bind,
            "--server", server, "--seconds", str(seconds), *extra]
    return bed.popen_in(bed.client_ns, argv, stdin=stdin, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, cwd=str(ROOT))


def run_attack(bed, n: int, seconds: float) -> dict:
    from tests.netns import end_process

    victim_addr, audit_addr = bed.client_addrs[0], bed.client_addrs[-1]
    attacker_addrs = bed.client_addrs[1:6]
    row: dict = {"attack": n, "name": ATTACK_NAMES[n], "notes": []}
    data_dir = tempfile.mkdtemp(prefix=f"bench-attack-{n}-")
    procs: list[subprocess.Popen] = []
    watch = None
    try:
        server, hostport = start_server(bed, data_dir)
        procs.append(server)
        watch = RssWatch(server.pid)
        watch.start()
        victim_name = f"victim{secrets.token_hex(2)}"
        victim = client(bed, "victim", victim_addr, hostport, seconds, "--name", victim_name)
        procs.append(victim)
        vlines = Lines(victim)
        if vlines.readline(30) != "READY":
            row["notes"].append("victim never got ready")
        time.sleep(0.3)
        row["rss_before"] = rss_bytes(server.pid)
        watch.peak = row["rss_before"] or 0
        attacker = client(bed, "attacker", ",".join(attacker_addrs), hostport, seconds,
                          "--attack", str(n), "--victim-name", victim_name,
                          stdin=subprocess.DEVNULL)
        procs.append(attacker)
        watch.attacker = attacker
        alines = Lines(attacker)
        if alines.readline(25) != "ATTACKING":
            row["notes"].append("attacker setup did not finish in 25 s")
        try:
            victim.stdin.write(b"go\n")
            victim.stdin.flush()
        except OSError:
            pass
        row["victim"] = vlines.last_json(seconds + 40) or {}
        row["rss_after"] = rss_bytes(server.pid)
        row["attacker"] = alines.last_json(25) or {}
        end_process(attacker, 2)
        end_process(victim, 2)
        if watch.capped:
            row["notes"].append("server RSS passed 2 GB: attacker killed")
        if server.poll() is None:
            audit = client(bed, "audit", audit_addr, hostport, seconds)
            procs.append(audit)
            acked = row["victim"].get("acked", [])
            try:
                audit.stdin.write((json.dumps(acked) + "\n").encode())
                audit.stdin.flush()
            except OSError:
                pass
            row["audit"] = Lines(audit).last_json(60) or {"error": "no report"}
            end_process(audit, 2)
        else:
            row["audit"] = {"error": "server dead"}
        row["rss_peak"] = watch.peak
        row["server_alive"] = server.poll() is None
        if not row["server_alive"]:
            row["notes"].append(f"server died (exit {server.returncode})"
                                + (" - killed past 3 GB RSS" if watch.killed else ""))
    except Exception as e:  # one broken attack must not stop the others
        row["notes"].append(f"bench error: {err_name(e)}")
    finally:
        if watch is not None:
            watch.stop_event.set()
        for p in reversed(procs):
            end_process(p, 5)
        shutil.rmtree(data_dir, ignore_errors=True)
    return judge(row)


def judge(row: dict) -> dict:
    v = row.get("victim") or {}
    logins, says = v.get("logins", []), v.get("says", [])
    row["login_p50"], row["login_p99"] = pct(logins, 0.5), pct(logins, 0.99)
    row["say_p50"], row["say_p99"] = pct(says, 0.5), pct(says, 0.99)
    row["login_failures"] = sum(v.get("login_fail", {}).values())
    row["say_failures"] = sum(v.get("say_fail", {}).values())
    before, peak = row.get("rss_before"), row.get("rss_peak")
    row["rss_growth_mb"] = (peak - before) / 2**20 if before and peak else None
    audit = row.get("audit") or {}
    row["lost"] = None if audit.get("error") else len(audit.get("lost", []))
    fails = []
    if not v:
        fails.append("no victim report")
    if row["login_p99"] is None or row["login_p99"] > GOAL_LOGIN_P99 or row["login_failures"]:
        fails.append("login")
    if row["say_p99"] is None or row["say_p99"] > GOAL_SAY_P99 or row["say_failures"]:
        fails.append("say")
    if row["rss_growth_mb"] is None or row["rss_growth_mb"] > GOAL_RSS_MB:
        fails.append("rss")
    if row["lost"] is None or row["lost"]:
        fails.append("lost")
    if not row.get("server_alive", False):
        fails.append("server")
    row["fails"] = fails
    row["verdict"] = "FAIL" if fails else "PASS"
    return row


def fmt_ms(p99, failures: int) -> str:
    text = "-" if p99 is None else f"{p99:.0f}"
    return f"{text} ({failures} failed)" if failures else text


def print_table(rows: list[dict]) -> None:
    print(f"\ngoals: victim login p99 <= {GOAL_LOGIN_P99:.0f} ms, say p99 <= {GOAL_SAY_P99:.0f} "
          f"ms, RSS growth <= {GOAL_RSS_MB:.0f} MB, lost 0 (no failed victim login/say)\n")
    head = ["attack", "login p99 ms", "say p99 ms", "RSS growth MB", "lost/acked",
            "attacker outcome", "verdict"]
    body = []
    for r in rows:
        growth = r.get("rss_growth_mb")
        outcome = (r.get("attacker") or {}).get("outcome", "no report")
        if r["notes"]:
            outcome += " [" + "; ".join(r["notes"]) + "]"
        body.append([f"{r['attack']} {r['name']}",
                     fmt_ms(r.get("login_p99"), r.get("login_failures", 0)),
                     fmt_ms(r.get("say_p99"), r.get("say_failures", 0)),
                     "-" if growth is None else f"{growth:.0f}",
                     "?" if r.get("lost") is None
                     else f"{r['lost']}/{(r.get('audit') or {}).get('checked', 0)}",
                     outcome,
                     r["verdict"] + (f" ({','.join(r['fails'])})" if r["fails"] else "")])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, ["-" * w for w in widths], *body]:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())


def orchestrate(args) -> int:
    from tests.netns import NetnsUnavailable, TwoNamespaceBed

    def _terminate(signum, frame):  # noqa: ANN001 - signal handler signature
        raise SystemExit(f"bench_attack: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)  # so the namespaces are torn down
    rows = []
    try:
        with TwoNamespaceBed(client_addrs=8, replace=True) as bed:
            for n in args.attacks:
                t0 = time.monotonic()
                row = run_attack(bed, n, args.seconds)
                v = row.get("victim") or {}
                print(f"attack {n} ({row['name']}): {row['verdict']} in "
                      f"{time.monotonic() - t0:.0f} s; login p50 {fmt_ms(row['login_p50'], 0)} "
                      f"ms, say p50 {fmt_ms(row['say_p50'], 0)} ms, victim errors "
                      f"{v.get('login_fail', {})} {v.get('say_fail', {})}", flush=True)
                rows.append(row)
    except NetnsUnavailable as e:
        print(f"bench_attack: skipped: {e}", file=sys.stderr)
        return 2
    print_table(rows)
    if args.json:
        slim = [{k: v for k, v in r.items() if k != "victim"}
                | {"victim": {k: v for k, v in (r.get("victim") or {}).items()
                              if k not in ("acked", "says", "logins")}} for r in rows]
        Path(args.json).write_text(json.dumps(slim, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=["orchestrator", "victim", "attacker", "audit"],
                    default="orchestrator")
    ap.add_argument("--attacks", type=int, nargs="+", default=sorted(ATTACK_NAMES),
                    choices=sorted(ATTACK_NAMES))
    ap.add_argument("--seconds", type=float, default=8.0, help="victim window per attack")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("--server", help=argparse.SUPPRESS)
    ap.add_argument("--bind", help=argparse.SUPPRESS)
    ap.add_argument("--attack", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    ap.add_argument("--victim-name", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "victim":
        run_victim(args)
    elif args.role == "attacker":
        run_attacker(args)
    elif args.role == "audit":
        run_audit(args)
    else:
        return orchestrate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
