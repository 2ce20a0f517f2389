"""netdesk's chat against its peers: the same load on ngircd and InspIRCd.

One invocation measures, with the same clients and the same load:

- ``netdesk-irc``: netdesk's IRC gateway, raw IRC clients (no CAPs);
- ``netdesk-chat``: netdesk's chat port, the chat protocol, plain;
- ``netdesk-tls``: netdesk's chat port over TLS;
- ``ngircd`` and ``inspircd``: Debian's packages, started here in the
  foreground from the configs in tests/bench/peers/ (filled in into a temp
  dir: loopback, a free port, flood limits and fake lag off), the same raw
  IRC clients as ``netdesk-irc``.

For each: at a paced load (10k deliveries/s by default) p50 and p99 of say
-> message (send to receipt, every recipient); the server's CPU (from
/proc/PID/stat of the server's own process), CPU per delivery, RSS; at
saturation (every sender keeps a few messages in flight) deliveries/s; lost
and reordered messages in both. A delivery is one message received by one
client other than its sender (IRC servers do not echo; netdesk's chat port
does, and those echoes are not counted). Order is checked per sender (what
IRC promises): each message carries its sender's number and sequence.

Then a table of every figure with netdesk's ratio to ngircd and to InspIRCd.

Not yet here: issue 24's 30 s flood from 50 accounts (RSS growth, a
victim's say -> message p99, every acknowledged message delivered).

The servers run in their own processes; clients in ``--procs`` more.
Only 127.0.0.1. Exits 2 if ngircd or inspircd is not installed.

    python tests/bench/bench_peers.py [--clients 200 500] [--senders 20]
        [--seconds 5] [--targets netdesk-irc netdesk-chat ... ]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_chat import RECV_SIZE, Wire, cpu_seconds, settle  # noqa: E402

PEERS = Path(__file__).resolve().parent / "peers"
TARGETS = ["netdesk-irc", "netdesk-chat", "netdesk-tls", "ngircd", "inspircd"]
BINARIES = {"ngircd": "/usr/sbin/ngircd", "inspircd": "/usr/sbin/inspircd"}

# The flood limits off: says are bounded only by speed; unsent output as in
# the peers' configs (a sendq far past what the bench ever queues).
NETDESK = """
import sys
from pathlib import Path
from net.budgets import Budgets
from net.chat.server import ChatOptions, ChatServer
from net.irc.server import IrcOptions, IrcServer
b = Budgets(say_burst=1_000_000, say_rate=1_000_000, max_connections=5000,
            frame_burst=1_000_000, frame_rate=1_000_000, backlog_limit=1 << 28,
            ping_after=600, idle_close=900)
# TLS clients: wait longer for the ClientHello than the 250 ms default, which
# a client process busy joining the others (two cores) missed; plain ones
# would wait it out on every connect, so only for the TLS run.
s = ChatServer(Path(sys.argv[1]), "127.0.0.1", 0,
               ChatOptions(budgets=b, welcome_history=0, tls_sniff=float(sys.argv[2])))
h, p = s.start()
irc = IrcServer(s, "127.0.0.1", 0, IrcOptions(replay=0))
h, q = irc.start(); print(p, q, flush=True)
sys.stdin.read(); irc.stop(); s.stop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server under test in its own process, started and stopped here."""

    def __init__(self, target: str):
        self.target = target
        self.dir = tempfile.mkdtemp(prefix=f"bench-{target}-")
        self.channel = "#netdesk" if target.startswith("netdesk") else "#bench"
        self.log = open(os.path.join(self.dir, "server.log"), "w")  # noqa: SIM115
        if target.startswith("netdesk"):
            self.proc = subprocess.Popen([sys.executable, "-c", NETDESK, self.dir,
                                          "5" if target == "netdesk-tls" else "0.25"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.log, text=True)
            chat, irc = map(int, self.proc.stdout.readline().split())
            self.port = irc if target == "netdesk-irc" else chat
            return
        self.port = free_port()
        conf = (PEERS / f"{target}.conf").read_text()
        conf = conf.replace("{port}", str(self.port)).replace("{dir}", self.dir)
        path = os.path.join(self.dir, f"{target}.conf")
        Path(path).write_text(conf)
        Path(self.dir, "motd.txt").write_text("bench\n")
        os.chmod(self.dir, 0o777)  # ngircd drops root for nobody, then writes its PID file
        if target == "ngircd":
            cmd = [BINARIES[target], "-n", "-f", path]
        else:
            cmd = [BINARIES[target], "--nofork", "--config", path]
            if os.geteuid() == 0:
                cmd.append("--runasroot")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{target} exited: see {self.dir}/server.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{target} did not listen on {self.port} in 20 s")

    @property
    def irc(self) -> bool:
        return self.target not in ("netdesk-chat", "netdesk-tls")

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB."""
        got = {}
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        got[key] = int(value.split()[0])
        except OSError:
            pass
        return got.get("VmRSS", 0), got.get("VmHWM", 0)

    def stop(self) -> None:
        if self.target.startswith("netdesk"):
            self.proc.stdin.close()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


class RawIrc:
    """A plain IRC client (no CAPs): what ngircd, InspIRCd and netdesk's
    gateway all speak alike."""

    def __init__(self, port: int, name: str, channel: str, password: bool):
        self.name = name
        self.channel = channel
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        hello = "PASS bench-password\r\n" if password else ""
        # JOIN after 001: InspIRCd answers a JOIN sent before registration
        # ends (its lookups run first) with 451, not-registered.
        self.sock.sendall(f"{hello}NICK {name}\r\nUSER b 0 * :b\r\n".encode())
        buf = b""
        joining = False
        # Joined: the NAMES list ended. The whole numeric, not " 366 ", which
        # LUSERS' "There are 366 users" holds too: the 366th client then
        # never joined, and its share showed as the peers' "lost".
        end_of_names = f" 366 {name} {channel} ".encode()
        while end_of_names not in buf:
            if not joining and b" 001 " in buf:
                self.sock.sendall(f"JOIN {channel}\r\n".encode())
                joining = True
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"{name}: closed while joining: {buf[-300:]!r}")
            buf += data
            if b"PING " in buf:
                for line in buf.split(b"\r\n"):
                    if line.startswith(b"PING "):
                        self.sock.sendall(b"PONG " + line[5:] + b"\r\n")
        self.buf = b""
        self.prefix = f"PRIVMSG {channel} :".encode()

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """(sender, text) of each channel message; answers PINGs."""
        self.buf += data
        *lines, self.buf = self.buf.split(b"\r\n")
        out = []
        for raw in lines:
            if raw.startswith(b"PING"):
                self.send(b"PONG" + raw[4:] + b"\r\n")
                continue
            if raw.startswith(b"@"):
                raw = raw.partition(b" ")[2]
            parts = raw.split(b" ", 3)
            if len(parts) == 4 and parts[1] == b"PRIVMSG":
                body = parts[3][1:] if parts[3].startswith(b":") else parts[3]
                out.append((parts[0][1:].split(b"!")[0].decode(), body.decode()))
            elif len(parts) > 1 and parts[1] in (b"ERROR", b"FAIL", b"404"):
                out.append(("", "error"))
        return out

    def say(self, text: str) -> bytes:
        return self.prefix + text.encode() + b"\r\n"

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


class ChatLink:
    """netdesk's chat protocol (plain or TLS), with RawIrc's face."""

    def __init__(self, port: int, name: str, tls: bool, pins):
        from net.chat.client import ChatConnection
        from net.chat.framing import FrameDecoder, encode
        self.encode = encode
        self.name = name
        c = ChatConnection(timeout=60, tls=tls, pins=pins)
        c.connect("127.0.0.1", port)
        c.login(name, "bench-password")
        self.conn = c
        self.sock = c.sock
        self.wire = Wire(c)
        self.dec = FrameDecoder(1 << 24)

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        out = []
        for msg in self.dec.feed(data):
            kind = msg.get("type")
            if kind == "message":
                out.append((msg.get("from", ""), msg.get("text", "")))
            elif kind == "error":
                out.append(("", "error"))
            elif kind == "ping":
                self.send(self.encode({"type": "pong"}))
        return out

    def say(self, text: str) -> bytes:
        return self.encode({"type": "say", "text": text})

    def send(self, data: bytes) -> None:
        self.wire.send(data)

    def recv(self) -> bytes:
        return self.wire.recv()

    def close(self) -> None:
        self.conn.close()


def connect_all(target: str, port: int, channel: str, names: list[str]) -> list:
    sys.path.insert(0, ".")
    if target in ("netdesk-chat", "netdesk-tls"):
        from net.chat.trust import MemoryPins
        pins = MemoryPins()
        def join(name):
            return ChatLink(port, name, target == "netdesk-tls", pins)
    else:
        def join(name):
            return RawIrc(port, name, channel, password=target == "netdesk-irc")
    # Many at once (the first ones must not sit silent past an idle limit
    # while the last ones connect), but not past ngircd's listen backlog of 10.
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(join, names))


def drain(conns: list, sel, limit: float = 30.0) -> None:
    """Read what the joins sent (every join told everyone online) until
    0.5 s of quiet, so the measured messages do not queue behind it."""
    quiet_since = give_up = time.monotonic()
    give_up += limit
    while time.monotonic() - quiet_since < 0.5 and time.monotonic() < give_up:
        for key, _ in sel.select(0.05):
            try:
                data = key.data.recv()
            except BlockingIOError:
                continue
            key.data.feed(data)
            quiet_since = time.monotonic()


def client_proc(target: str, port: int, channel: str, names: list[str], first_sender: int,
                n_senders: int, rate: float, inflight: int, seconds: float, ready, go,
                barrier, out) -> None:
    """Clients ``names``; the first ``n_senders`` say, numbered from
    ``first_sender``. rate > 0: that many says a second in all (round robin);
    else each sender keeps ``inflight`` says not yet seen by this process's
    witness (its first non-sender)."""
    conns = connect_all(target, port, channel, names)
    ready.put(len(conns))
    go.wait()
    sel = selectors.DefaultSelector()
    for c in conns:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    drain(conns, sel)
    senders = conns[:n_senders]
    number = {c.name: first_sender + i for i, c in enumerate(senders)}
    mine = {c.name: 0 for c in senders}
    seq = {c.name: 0 for c in senders}
    witness = conns[n_senders] if len(conns) > n_senders else None
    last: dict[int, dict[int, int]] = {id(c): {} for c in conns}
    barrier.wait(120)  # every process starts sending at once, and stops at once
    cpu_start = time.process_time()
    received = reordered = errors = 0
    latencies: list[float] = []
    start = time.monotonic()
    end = start + seconds
    next_send = start
    rr = 0
    last_data = start

    def say(c) -> None:
        seq[c.name] += 1
        c.send(c.say(f"{number[c.name]} {seq[c.name]} {time.monotonic_ns()}"))

    while True:
        now = time.monotonic()
        if now >= end and now - last_data > 2.0:
            break
        if now > end + 60:  # a bound even for a server that never drains
            break
        if now < end and senders:
            if rate > 0:
                while next_send <= now:
                    say(senders[rr % len(senders)])
                    rr += 1
                    next_send += 1.0 / rate
            else:
                for c in senders:
                    while mine[c.name] < inflight:
                        say(c)
                        mine[c.name] += 1
        for key, _ in sel.select(0.001):
            c = key.data
            try:
                data = c.recv()
            except BlockingIOError:
                continue
            except OSError:
                errors += 1
                sel.unregister(c.sock)
                continue
            if not data:
                errors += 1
                sel.unregister(c.sock)
                continue
            seen = last[id(c)]
            for frm, text in c.feed(data):
                if frm == "":
                    errors += 1
                    continue
                if frm == c.name:  # the chat port's echo of one's own say
                    continue
                try:
                    who, n, sent_ns = map(int, text.split())
                except ValueError:
                    continue
                last_data = time.monotonic()
                received += 1
                if n <= seen.get(who, 0):
                    reordered += 1
                seen[who] = n
                latencies.append((time.monotonic_ns() - sent_ns) / 1e6)
                if c is witness and frm in mine:
                    mine[frm] = max(0, mine[frm] - 1)
    for c in conns:
        c.close()
    out.put({"received": received, "reordered": reordered, "sent": sum(seq.values()),
             "errors": errors, "latencies": latencies, "elapsed": last_data - start,
             "cpu": time.process_time() - cpu_start})


def run(target: str, n: int, n_senders: int, rate: float, inflight: int, seconds: float,
        procs: int) -> dict:
    server = Server(target)
    try:
        names = [f"u{i:04d}" for i in range(n)]
        chunks = [names[i::procs] for i in range(procs)]
        ready, go, out = mp.Queue(), mp.Event(), mp.Queue()
        barrier = mp.Barrier(procs)
        workers, first = [], 0
        for k, chunk in enumerate(chunks):
            share = n_senders // procs + (1 if k < n_senders % procs else 0)
            workers.append(mp.Process(target=client_proc, args=(
                target, server.port, server.channel, chunk, first, share, rate / procs,
                inflight, seconds, ready, go, barrier, out)))
            first += share
        for w in workers:
            w.start()
        logged = 0
        for _ in workers:
            deadline = time.monotonic() + 600
            while True:  # a worker that died (a join failed) fails the run, no wait
                try:
                    logged += ready.get(timeout=1)
                    break
                except queue.Empty:
                    if any(w.exitcode not in (None, 0) for w in workers) or \
                            time.monotonic() > deadline:
                        for w in workers:
                            w.kill()
                        raise RuntimeError(f"{target}: clients failed to join") from None
        settle(server.proc.pid)
        rss_before = server.rss_kib()[0]
        cpu_before = cpu_seconds(server.proc.pid)
        go.set()
        results = [out.get(timeout=seconds + 180) for _ in workers]
        server_cpu = cpu_seconds(server.proc.pid) - cpu_before
        rss, hwm = server.rss_kib()
        for w in workers:
            w.join(30)
    finally:
        server.stop()
    sent = sum(r["sent"] for r in results)
    received = sum(r["received"] for r in results)
    lat = sorted(x for r in results for x in r["latencies"])
    elapsed = max(max(r["elapsed"] for r in results), 1e-9)
    return {
        "clients": logged, "sent": sent, "received": received,
        "lost": sent * (logged - 1) - received,
        "reordered": sum(r["reordered"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "deliveries_per_s": received / elapsed,
        "p50": statistics.median(lat) if lat else float("nan"),
        "p99": lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "server_cores": server_cpu / elapsed,
        "cpu_us_per_delivery": server_cpu / max(received, 1) * 1e6,
        "client_cores": sum(r["cpu"] for r in results) / elapsed,
        "rss_mib": rss / 1024, "rss_growth_mib": (rss - rss_before) / 1024,
        "hwm_mib": hwm / 1024,
    }


ROWS = [  # (label, phase, key, format, lower is better)
    ("paced deliveries/s", "paced", "deliveries_per_s", "{:,.0f}", False),
    ("paced p50 ms", "paced", "p50", "{:.2f}", True),
    ("paced p99 ms", "paced", "p99", "{:.2f}", True),
    ("paced server CPU %", "paced", "server_cores", "{:.0%}", True),
    ("paced CPU us/delivery", "paced", "cpu_us_per_delivery", "{:.2f}", True),
    ("paced RSS MiB", "paced", "rss_mib", "{:.1f}", True),
    ("paced lost", "paced", "lost", "{:d}", True),
    ("paced reordered", "paced", "reordered", "{:d}", True),
    ("saturation deliveries/s", "sat", "deliveries_per_s", "{:,.0f}", False),
    ("saturation p99 ms", "sat", "p99", "{:.1f}", True),
    ("saturation server CPU %", "sat", "server_cores", "{:.0%}", True),
    ("saturation CPU us/deliv.", "sat", "cpu_us_per_delivery", "{:.2f}", True),
    ("saturation RSS peak MiB", "sat", "hwm_mib", "{:.1f}", True),
    ("saturation clients' CPU", "sat", "client_cores", "{:.2f}", True),
    ("saturation lost", "sat", "lost", "{:d}", True),
    ("saturation reordered", "sat", "reordered", "{:d}", True),
    ("errors (both)", "both", "errors", "{:d}", True),
]


def table(n: int, n_senders: int, results: dict[str, dict[str, dict]]) -> str:
    """Every figure per target, then netdesk's ratios to each peer."""
    targets = list(results)
    netdesk = [t for t in targets if t.startswith("netdesk")]
    peers = [t for t in targets if not t.startswith("netdesk")]
    cols = targets + [f"{a.split('-')[1]}/{p[:5]}" for a in netdesk for p in peers]
    width = 13
    lines = [f"{n} clients, {n_senders} sending",
             f"{'':26}" + "".join(f"{c:>{width}}" for c in cols)]
    for label, phase, key, fmt, _ in ROWS:
        def value(t, phase=phase, key=key):
            if phase == "both":
                return results[t]["paced"][key] + results[t]["sat"][key]
            return results[t][phase][key]
        cells = []
        for t in targets:
            cells.append(fmt.format(value(t)))
        for a in netdesk:
            for p in peers:
                va, vp = value(a), value(p)
                if key in ("lost", "reordered", "errors"):
                    cells.append("-")
                else:
                    cells.append(f"{va / vp:.2f}x" if vp else "-")
        lines.append(f"{label:26}" + "".join(f"{c:>{width}}" for c in cells))
    lines.append("ratios: netdesk's figure / the peer's (a p99, CPU or RSS ratio > 1 and a "
                 "deliveries/s ratio < 1 mean netdesk is worse)")
    return "\n".join(lines)


def require_peers(targets: list[str]) -> None:
    missing = [t for t in targets if t in BINARIES and not shutil.which(BINARIES[t])]
    if missing:
        print(f"bench_peers: not installed: {', '.join(missing)} (apt-get install "
              f"{' '.join(missing)}; or leave them out with --targets)", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[200, 500])
    ap.add_argument("--senders", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--deliveries", type=float, default=10_000,
                    help="offered deliveries per second in the paced phase")
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--targets", nargs="+", choices=TARGETS, default=TARGETS)
    args = ap.parse_args()
    require_peers(args.targets)
    for n in args.clients:
        results: dict[str, dict[str, dict]] = {}
        for target in args.targets:
            paced = run(target, n, args.senders, args.deliveries / (n - 1), 0, args.seconds,
                        args.procs)
            sat = run(target, n, args.senders, 0, args.inflight, args.seconds, args.procs)
            results[target] = {"paced": paced, "sat": sat}
            print(f"[{target}] {n} clients: paced {paced['deliveries_per_s']:,.0f}/s p50 "
                  f"{paced['p50']:.2f} p99 {paced['p99']:.2f} ms, CPU "
                  f"{paced['server_cores']:.0%}; saturation {sat['deliveries_per_s']:,.0f}/s "
                  f"(server {sat['server_cores']:.0%}, clients {sat['client_cores']:.2f} "
                  f"cores); lost {paced['lost']}+{sat['lost']}, reordered "
                  f"{paced['reordered']}+{sat['reordered']}", flush=True)
        print(table(n, args.senders, results), flush=True)


if __name__ == "__main__":
    main()
