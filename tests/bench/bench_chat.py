"""Chat fan-out: N logged-in clients, a tenth of them sending.

Prints, for N = 200, 500 and 2000:
- at a fixed offered load (10k deliveries/s by default): deliveries per
  second, p50 and p99 fan-out latency (send to receipt, every recipient);
- at saturation (each sender keeps a few messages in flight): deliveries per
  second;
- lost and reordered messages in both (every client must receive every
  public message, in id order).

With ``--irc 0.5`` half the clients are IRC clients on the gateway's port
(issue 14: the same goals with half the clients on IRC); they ask for
echo-message and message-tags, so each one also receives its own lines and
reads each message's id from its ``msgid`` tag. (IRC clients are plain; the
``--transport`` is the chat clients'.)

Goals: 500 concurrent clients; p99 <= 50 ms at 10k deliveries/s; nothing
lost or reordered; saturation >= 100k deliveries/s. The figures stand
alone here (bench_peers.py runs the same kind of load on ngircd and
InspIRCd and prints netdesk's ratios to them); but each
``--transport`` (plain, TLS) is measured in the same run, and the cost of
TLS is printed as the ratio of the server's CPU and of p99 to plain's.

The server runs in its own process on loopback (flood limit raised for the
saturation phase, since the default 20 says/s per client is the point of a
flood limit); clients are spread over two more processes.

    python tests/bench/bench_chat.py [--clients 200 500] [--seconds 5]
                                     [--transport plain tls] [--irc 0.5]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

# recv(1 MiB) allocates (past malloc's mmap threshold: maps and unmaps) a
# megabyte per call; 64 KiB holds every frame this benchmark sends.
RECV_SIZE = 65536

SERVER = """
import sys
from pathlib import Path
from net.budgets import Budgets
from net.chat.server import ChatOptions, ChatServer
from net.irc.server import IrcServer
s = ChatServer(Path(sys.argv[1]), "127.0.0.1", 0,
               ChatOptions(budgets=Budgets(say_burst=1000, say_rate=10_000, max_connections=5000),
                           welcome_history=0))
h, p = s.start()
irc = IrcServer(s, "127.0.0.1", 0)
h, q = irc.start(); print(p, q, flush=True)
sys.stdin.read(); irc.stop(); s.stop()
"""


class Wire:
    """One client's socket, plain or TLS, for a non-blocking event loop."""

    def __init__(self, conn):
        self.sock = conn.sock
        self.channel = conn._channel  # None: plain

    def send(self, data: bytes) -> None:
        if self.channel is not None:
            data = self.channel.encrypt(data)
        self.sock.setblocking(True)  # as sendall() on a plain socket would wait
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def recv(self) -> bytes:
        data = self.sock.recv(RECV_SIZE)
        if self.channel is None or not data:
            return data
        plain, reply = self.channel.decrypt(data)
        if reply:
            self.send(reply)
        return plain


class IrcLink:
    """An IRC client for the benchmark: frames in, the chat's message dicts out."""

    def __init__(self, port: int, name: str):
        import socket
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(f"CAP LS 302\r\nCAP REQ :echo-message message-tags\r\n"
                          f"PASS bench-password\r\nNICK {name}\r\nUSER b 0 * :b\r\n"
                          f"CAP END\r\nJOIN #netdesk\r\n".encode())
        buf = b""
        while b" 366 " not in buf:  # joined: the NAMES list ended
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"{name}: closed while joining: {buf[-300:]!r}")
            buf += data
        self.buf = b""

    def feed(self, data: bytes) -> list[dict]:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\r\n")
        out = []
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            if text.startswith("PING"):
                self.sock.sendall(b"PONG" + raw[4:] + b"\r\n")
                continue
            tags = ""
            if text.startswith("@"):
                tags, _, text = text.partition(" ")
            parts = text.split(" ", 3)
            if len(parts) == 4 and parts[1] == "PRIVMSG":
                ident = int(next(t[6:] for t in tags[1:].split(";") if t.startswith("msgid=")))
                body = parts[3][1:] if parts[3].startswith(":") else parts[3]  # ':' is optional
                out.append({"type": "message", "id": ident, "from": parts[0][1:].split("!")[0],
                            "text": body})
            elif len(parts) > 1 and parts[1] in ("FAIL", "ERROR"):
                out.append({"type": "error"})
        return out

    @staticmethod
    def say(text: str) -> bytes:
        return f"PRIVMSG #netdesk :{text}\r\n".encode()

    def send(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def recv(self) -> bytes:
        return self.sock.recv(RECV_SIZE)

    def close(self) -> None:
        self.sock.close()


def client_proc(port: int, irc_port: int, names: list[str], irc_names: set[str],
                n_senders: int, rate: float, inflight: int, seconds: float, ready, go, barrier,
                out, tls: bool = False) -> None:
    sys.path.insert(0, ".")
    from net.chat.client import ChatConnection
    from net.chat.framing import FrameDecoder, encode
    from net.chat.trust import MemoryPins

    pins = MemoryPins()
    def join(name: str):
        if name in irc_names:
            return IrcLink(irc_port, name)
        c = ChatConnection(timeout=60, tls=tls, pins=pins)
        c.connect("127.0.0.1", port)
        c.login(name, "bench-password")
        return c

    # Many at once: a plain client waits 250 ms for its hello (the server's
    # look for TLS), and the first ones logged in must not sit silent past
    # the server's idle limit while the last ones connect.
    with ThreadPoolExecutor(64) as pool:
        conns = list(pool.map(join, names))
    wires = {c.sock: c if isinstance(c, IrcLink) else Wire(c) for c in conns}
    ready.put(len(conns))
    go.wait()
    sel = selectors.DefaultSelector()
    state = {}
    for i, c in enumerate(conns):
        c.sock.setblocking(False)
        irc = isinstance(c, IrcLink)
        state[c.sock] = {"dec": c if irc else FrameDecoder(1 << 24), "last": 0, "i": i,
                         "mine": 0, "say": c.say if irc else
                         (lambda text: encode({"type": "say", "text": text}))}
        sel.register(c.sock, selectors.EVENT_READ)
    senders = [c.sock for c in conns[:n_senders]]
    # Every login told every client already online about it: read those
    # "joined" frames first, or the first measured messages queue behind them.
    quiet_since, give_up = time.monotonic(), time.monotonic() + 30
    while time.monotonic() - quiet_since < 0.5 and time.monotonic() < give_up:
        for key, _ in sel.select(0.05):
            try:
                data = wires[key.fileobj].recv()
            except BlockingIOError:
                continue
            state[key.fileobj]["dec"].feed(data)
            quiet_since = time.monotonic()
    barrier.wait(60)  # every process starts sending at once, and stops at once
    cpu_start = time.process_time()
    received = reordered = sent = errors = 0
    latencies: list[float] = []
    start = time.monotonic()
    end = start + seconds
    next_send = start
    rr = 0
    last_data = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end and now - last_data > 2.0:
            break
        if now < end:
            if rate > 0:  # fixed offered load, round robin over the senders
                while next_send <= now:
                    s = senders[rr % len(senders)]
                    rr += 1
                    wires[s].send(state[s]["say"](f"t={time.monotonic_ns()}"))
                    sent += 1
                    next_send += 1.0 / rate
            else:  # saturation: keep ``inflight`` own messages outstanding per sender
                for s in senders:
                    while state[s]["mine"] < inflight:
                        wires[s].send(state[s]["say"](f"t={time.monotonic_ns()}"))
                        state[s]["mine"] += 1
                        sent += 1
        for key, _ in sel.select(0.001):
            s = key.fileobj
            try:
                data = wires[s].recv()
            except BlockingIOError:
                continue
            if not data:
                continue
            st = state[s]
            for msg in st["dec"].feed(data):
                kind = msg.get("type")
                if kind == "message":
                    last_data = time.monotonic()  # not "left": others close when done
                    received += 1
                    if msg["id"] <= st["last"]:
                        reordered += 1
                    st["last"] = msg["id"]
                    latencies.append((time.monotonic_ns() - int(msg["text"][2:])) / 1e6)
                    if s in senders and msg["from"] == names[st["i"]]:
                        st["mine"] = max(0, st["mine"] - 1)
                elif kind == "error":
                    errors += 1
                elif kind == "ping":
                    wires[s].send(encode({"type": "pong"}))
    for c in conns:
        c.close()
    out.put({"received": received, "reordered": reordered, "sent": sent, "errors": errors,
             "latencies": latencies, "elapsed": last_data - start,
             "cpu": time.process_time() - cpu_start})


def run(n: int, rate: float, inflight: int, seconds: float, procs: int = 2,
        tls: bool = False, irc_share: float = 0.0) -> dict:
    data = tempfile.mkdtemp(prefix="bench-chat-")
    server = subprocess.Popen([sys.executable, "-c", SERVER, data], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        port, irc_port = map(int, server.stdout.readline().split())
        names = [f"u{i:04d}" for i in range(n)]
        # Every other client (for a half) on IRC, senders among them too.
        step = round(1 / irc_share) if irc_share > 0 else 0
        irc_names = {name for i, name in enumerate(names) if step and i % step == 0}
        chunks = [names[i::procs] for i in range(procs)]
        ready, go, out = mp.Queue(), mp.Event(), mp.Queue()
        barrier = mp.Barrier(procs)
        senders_total = max(1, n // 10)
        workers = []
        for k, chunk in enumerate(chunks):
            share = senders_total // procs + (1 if k < senders_total % procs else 0)
            workers.append(mp.Process(target=client_proc, args=(
                port, irc_port, chunk, irc_names, share, rate / procs, inflight, seconds, ready,
                go, barrier, out,
                tls)))
        for w in workers:
            w.start()
        logged = sum(ready.get(timeout=300) for _ in workers)
        settle(server.pid)
        cpu_before = cpu_seconds(server.pid)
        go.set()
        results = [out.get(timeout=seconds + 120) for _ in workers]
        server_cpu = cpu_seconds(server.pid) - cpu_before
        for w in workers:
            w.join(30)
    finally:
        server.stdin.close()
        server.wait(30)
    sent = sum(r["sent"] for r in results)
    received = sum(r["received"] for r in results)
    lat = sorted(x for r in results for x in r["latencies"])
    return {
        "clients": logged, "sent": sent, "received": received,
        "lost": sent * logged - received,
        "reordered": sum(r["reordered"] for r in results),
        "errors": sum(r["errors"] for r in results),
        # Until the last delivery, not the end of sending: a backlog drained
        # after the senders stop must not count as throughput.
        "deliveries_per_s": received / max(r["elapsed"] for r in results),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p99": lat[int(len(lat) * 0.99)] if lat else float("nan"),
        # How busy the server was: near 1.0 means one core's worth, i.e. the
        # server (not the benchmark's own clients) set the pace.
        "server_cores": server_cpu / max(r["elapsed"] for r in results),
        # The benchmark's own clients share the machine: near 2.0 less the
        # server's share means they, not the server, set the latency.
        "client_cores": sum(r["cpu"] for r in results) / max(r["elapsed"] for r in results),
    }


def setup_times(transports: list[str], n: int = 40) -> dict[str, tuple[float, float]]:
    """Median time to connect and read ``hello``, and to log in, per transport,
    interleaved against one server (a plain client waits out the server's
    250 ms look for a TLS ClientHello: that is the protocol, not a cost of TLS)."""
    from net.chat.client import ChatConnection
    from net.chat.trust import MemoryPins
    pins = MemoryPins()  # as a window keeps them: the first connection pins
    data = tempfile.mkdtemp(prefix="bench-chat-")
    server = subprocess.Popen([sys.executable, "-c", SERVER, data], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    times: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in transports}
    try:
        port = int(server.stdout.readline().split()[0])
        for i in range(n):
            for transport in transports:
                c = ChatConnection(timeout=30, tls=transport == "tls", pins=pins)
                start = time.perf_counter()
                c.connect("127.0.0.1", port)
                hello = time.perf_counter()
                c.login(f"s{transport}{i}", "bench-password")
                times[transport][0].append(hello - start)
                times[transport][1].append(time.perf_counter() - hello)
                c.close()
    finally:
        server.stdin.close()
        server.wait(30)
    return {t: (statistics.median(a), statistics.median(b)) for t, (a, b) in times.items()}


def settle(pid: int, limit: float = 120.0) -> None:
    """Wait until the server is idle: every login told everyone online, and
    with 2000 clients those "joined" frames (four million encryptions over
    TLS) may still be going out when the last login returns."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:  # under a tenth of a core
            return


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[200, 500, 2000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--deliveries", type=float, default=10_000,
                    help="offered deliveries per second in the latency phase")
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("--transport", nargs="+", choices=["plain", "tls"], default=["plain", "tls"],
                    help="measure each, in the same run (default: both)")
    ap.add_argument("--irc", type=float, default=0.0, metavar="SHARE",
                    help="the share of clients on the IRC gateway (0.5: half)")
    args = ap.parse_args()
    for transport, (hello, login) in setup_times(args.transport).items():
        print(f"[{transport}] connect to hello {hello * 1000:.1f} ms, login {login * 1000:.1f} ms "
              f"(medians of 40, interleaved)", flush=True)
    for n in args.clients:
        by_transport = {}
        for transport in args.transport:
            by_transport[transport] = measure(n, args, transport == "tls", transport)
        if {"plain", "tls"} <= set(by_transport):
            (pf, ps), (tf, ts) = by_transport["plain"], by_transport["tls"]
            print(f"{n} clients, cost of TLS: server CPU at the fixed load "
                  f"{tf['server_cores']:.2f} vs {pf['server_cores']:.2f} cores "
                  f"({tf['server_cores'] / max(pf['server_cores'], 1e-9):.2f}x), p99 "
                  f"{tf['p99']:.1f} vs {pf['p99']:.1f} ms; saturation "
                  f"{ts['deliveries_per_s']:,.0f} vs {ps['deliveries_per_s']:,.0f} deliveries/s "
                  f"({ts['deliveries_per_s'] / max(ps['deliveries_per_s'], 1e-9):.2f}x)",
                  flush=True)


def measure(n: int, args: argparse.Namespace, tls: bool, label: str) -> tuple[dict, dict]:
    if args.irc:
        label += f", {args.irc:.0%} on IRC"
    fixed = run(n, args.deliveries / n, 0, args.seconds, tls=tls, irc_share=args.irc)
    print(f"[{label}] {n} clients, {n // 10} sending, offered "
          f"{args.deliveries:,.0f} deliveries/s: "
          f"{fixed['deliveries_per_s']:,.0f} deliveries/s, p50 {fixed['p50']:.1f} ms, "
          f"p99 {fixed['p99']:.1f} ms, lost {fixed['lost']}, "
          f"reordered {fixed['reordered']}, errors {fixed['errors']}, "
          f"server busy {fixed['server_cores']:.2f} cores, clients "
          f"{fixed['client_cores']:.2f} (goal p99 <= 50 ms)", flush=True)
    sat = run(n, 0, args.inflight, args.seconds, tls=tls, irc_share=args.irc)
    print(f"[{label}] {n} clients, {n // 10} sending, saturation: "
          f"{sat['deliveries_per_s']:,.0f} deliveries/s, p50 {sat['p50']:.1f} ms, "
          f"p99 {sat['p99']:.1f} ms, lost {sat['lost']}, reordered {sat['reordered']}, "
          f"errors {sat['errors']}, server busy {sat['server_cores']:.2f} cores, clients "
          f"{sat['client_cores']:.2f} (goal >= 100,000/s)", flush=True)
    return fixed, sat


if __name__ == "__main__":
    main()
