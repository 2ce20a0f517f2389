"""A flood from many accounts (issue 24): does the server's memory stay
bounded, does a quiet client still get through, is every stored message
delivered?

``--flooders`` accounts (50) write says as fast as their sockets take them
(budgets raised, as on a trusted network: only speed limits them) and read
what comes back; one victim says a line every 50 ms and times each until
its own line comes back, and checks that the ids it receives have no gap
(every stored message reached it, in order). The server runs in its own
process; its RSS is read from /proc before and during the flood.

The peer is netdesk itself before the issue (``--before DIR``: a checkout
of the older code, e.g. ``git worktree add ../old 77d1923``), measured in
the same run with the same clients, so the ratios mean something on a
noisy machine.

    python tests/bench/bench_chat_flood.py [--seconds 30] [--flooders 50]
                                           [--before ../old]

Goals: RSS growth at most 100 MB; the victim's say->message p99 <= 50 ms;
every acknowledged message stored and delivered (no gap in the ids).
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
from pathlib import Path

SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from net.budgets import Budgets
from net.chat.server import ChatOptions, ChatServer
s = ChatServer(Path(sys.argv[1]), "127.0.0.1", 0,
               ChatOptions(budgets=Budgets(say_burst=10**9, say_rate=10**9,
                                           max_connections=5000),
                           welcome_history=0))
h, p = s.start()
print(p, flush=True)
sys.stdin.read(); s.stop()
"""

CHUNK = 64  # say frames written at once by a flooder


def flooder_proc(repo: str, port: int, names: list[str], seconds: float, ready, go, out):
    sys.path.insert(0, repo)
    from net.chat.client import ChatConnection
    from net.chat.framing import encode

    conns = []
    for name in names:
        c = ChatConnection(timeout=60, tls=False)
        c.connect("127.0.0.1", port)
        c.login(name, "bench-password")
        c.sock.setblocking(False)
        conns.append(c)
    ready.put(len(conns))
    go.wait(120)
    blob = b"".join(encode({"type": "say", "text": f"flood {i:06d} " + "x" * 40})
                    for i in range(CHUNK))
    pending = {c.sock: memoryview(blob) for c in conns}
    # Each connection's own decoder: the login may have buffered part of a frame.
    decoders = {c.sock: c.reader.decoder for c in conns}
    mine = {c.sock: n for c, n in zip(conns, names, strict=True)}
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    acked = written = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, events in sel.select(0.05):
            s = key.fileobj
            if events & selectors.EVENT_READ:
                try:
                    data = s.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    sel.unregister(s)
                    continue
                if data:
                    for msg in decoders[s].feed(data):
                        if msg.get("type") == "message" and msg.get("from") == mine[s]:
                            acked += 1
            if events & selectors.EVENT_WRITE:
                try:
                    sent = s.send(pending[s])
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    continue
                pending[s] = pending[s][sent:]
                if not pending[s]:
                    pending[s] = memoryview(blob)
                    written += CHUNK
    for c in conns:
        c.close()
    out.put({"acked": acked, "written": written})


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(repo: str, flooders: int, seconds: float, procs: int = 2) -> dict:
    sys.path.insert(0, repo)
    from net.chat.client import ChatConnection
    from net.chat.framing import encode
    data = tempfile.mkdtemp(prefix="bench-flood-")
    server = subprocess.Popen([sys.executable, "-c", SERVER, data, repo],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        victim = ChatConnection(timeout=60, tls=False)
        victim.connect("127.0.0.1", port)
        victim.login("victim", "bench-password")
        names = [f"f{i:03d}" for i in range(flooders)]
        ready, go, out = mp.Queue(), mp.Event(), mp.Queue()
        workers = [mp.Process(target=flooder_proc,
                              args=(repo, port, names[k::procs], seconds, ready, go, out))
                   for k in range(procs)]
        for w in workers:
            w.start()
        sum(ready.get(timeout=300) for _ in workers)
        time.sleep(1.0)  # the "joined" frames go out first
        rss_before = rss_mib(server.pid)
        rss_peak = rss_before
        victim.sock.setblocking(False)
        decoder = victim.reader.decoder  # it may hold part of a frame already
        go.set()
        latencies: list[float] = []
        sent_at: dict[str, float] = {}
        last_id = gaps = reordered = received = 0
        start = time.monotonic()
        end = start + seconds
        next_say = start
        n = 0
        drain_until = end + 10.0  # then what was stored keeps arriving for a while
        while time.monotonic() < drain_until:
            now = time.monotonic()
            if now < end and now >= next_say:
                text = f"victim {n}"
                sent_at[text] = now
                victim.sock.setblocking(True)
                victim.sock.sendall(encode({"type": "say", "text": text}))
                victim.sock.setblocking(False)
                n += 1
                next_say += 0.05
            if now >= end and not any(w.is_alive() for w in workers) and len(sent_at) == 0:
                break
            try:
                chunk = victim.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                selectors.DefaultSelector().close()
                time.sleep(0.001)  # nothing yet
                chunk = b""
            for msg in decoder.feed(chunk) if chunk else ():
                if msg.get("type") != "message":
                    continue
                received += 1
                ident = msg["id"]
                if last_id and ident != last_id + 1:
                    if ident <= last_id:
                        reordered += 1
                    else:
                        gaps += ident - last_id - 1
                last_id = max(last_id, ident)
                t = sent_at.pop(msg.get("text"), None)
                if t is not None and msg.get("from") == "victim":
                    latencies.append((time.monotonic() - t) * 1000)
            if now < end:
                rss_peak = max(rss_peak, rss_mib(server.pid)) if n % 10 == 0 else rss_peak
        results = [out.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(30)
        rss_end = rss_mib(server.pid)
        victim.close()
    finally:
        server.stdin.close()
        server.wait(60)
    lat = sorted(latencies)
    acked = sum(r["acked"] for r in results)
    return {
        "stored_per_s": received / seconds,
        "deliveries_per_s": received * (flooders + 1) / seconds,
        "acked": acked, "written": sum(r["written"] for r in results),
        "received": received, "gaps": gaps, "reordered": reordered,
        "victim_says": n, "victim_back": len(lat), "victim_lost": len(sent_at),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"),
        "rss_growth": max(rss_peak, rss_end) - rss_before,
    }


def show(label: str, r: dict) -> None:
    print(f"[{label}] stored {r['stored_per_s']:,.0f} messages/s "
          f"({r['deliveries_per_s']:,.0f} deliveries/s); flooders wrote {r['written']:,} says, "
          f"{r['acked']:,} came back; victim: {r['victim_back']}/{r['victim_says']} back, "
          f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms; ids missing {r['gaps']}, "
          f"reordered {r['reordered']}; RSS growth {r['rss_growth']:.0f} MiB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--flooders", type=int, default=50)
    ap.add_argument("--before", metavar="DIR", help="a checkout of the older code, as the peer")
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parent.parent.parent)
    now = run(here, args.flooders, args.seconds)
    show("netdesk", now)
    goals = (now["rss_growth"] <= 100, now["p99"] <= 50, now["gaps"] == 0)
    print(f"goals: RSS growth <= 100 MiB {goals[0]}, victim p99 <= 50 ms {goals[1]}, "
          f"nothing stored went missing {goals[2]}")
    if args.before:
        old = run(str(Path(args.before).resolve()), args.flooders, args.seconds)
        show("before", old)
        print(f"ratio now/before: stored messages/s "
              f"{now['stored_per_s'] / max(old['stored_per_s'], 1e-9):.2f}x, victim p99 "
              f"{now['p99'] / old['p99']:.2f}x, RSS growth "
              f"{now['rss_growth']:.0f} vs {old['rss_growth']:.0f} MiB")
    sys.exit(0 if all(goals) else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
