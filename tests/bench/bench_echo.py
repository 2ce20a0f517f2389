"""Echo throughput: netdesk's server against socketserver.ThreadingTCPServer.

100 concurrent clients each do 1 KiB round trips for a few seconds against
each server in turn (interleaved, several rounds) on loopback, and the
script prints round trips per second for both and the ratio
netdesk / socketserver (higher is better; goal >= 1.0). With two or more
CPUs, each server runs on one and the clients on another (see ``pin``).

    python tests/bench/bench_echo.py [--clients 100] [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time

SERVERS = {
    "netdesk": """
import signal, sys
from net.echo.server import EchoServer
s = EchoServer("127.0.0.1", 0); h, p = s.start(); print(p, flush=True)
sys.stdin.read(); s.stop()
""",
    "socketserver": """
import socketserver, sys, threading
class H(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while True:
                d = self.request.recv(1024)
                if not d: break
                self.request.sendall(d)
        except OSError:
            pass
socketserver.ThreadingTCPServer.daemon_threads = True
s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
print(s.server_address[1], flush=True)
sys.stdin.read(); s.shutdown(); s.server_close()
""",
}

PAYLOAD = b"x" * 1024


def pin(cpu: int) -> None:
    """Keep this process on one CPU, when the machine has two or more.

    The server on one CPU and the load on the other: otherwise the
    scheduler mixes 100 server threads with the clients, and the same
    server measures 40k or 120k round trips/s from one run to the next.
    """
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def drive(port: int, n: int, seconds: float, out: mp.Queue) -> None:
    """Keep ``n`` connections each doing back-to-back 1 KiB round trips."""
    pin(1)
    sel = selectors.DefaultSelector()
    pending = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.send(PAYLOAD)
        pending[s] = len(PAYLOAD)
        sel.register(s, selectors.EVENT_READ)
    done = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            got = len(s.recv(65536))
            pending[s] -= got
            if pending[s] <= 0:
                done += 1
                pending[s] = len(PAYLOAD)
                s.send(PAYLOAD)
    for s in pending:
        s.close()
    out.put(done)


def measure(name: str, clients: int, seconds: float, procs: int) -> float:
    server = subprocess.Popen([sys.executable, "-c", SERVERS[name]], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, preexec_fn=lambda: pin(0))
    try:
        port = int(server.stdout.readline())
        out: mp.Queue = mp.Queue()
        workers = [mp.Process(target=drive, args=(port, clients // procs, seconds, out))
                   for _ in range(procs)]
        for w in workers:
            w.start()
        total = sum(out.get(timeout=seconds + 30) for _ in workers)
        for w in workers:
            w.join(10)
        return total / seconds
    finally:
        server.stdin.close()
        server.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    args = ap.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in SERVERS}
    for r in range(args.rounds):
        for name in SERVERS:
            rate = measure(name, args.clients, args.seconds, args.procs)
            rates[name].append(rate)
            print(f"round {r + 1}: {name:12s} {rate:10.0f} round trips/s", flush=True)
    ours, peer = statistics.median(rates["netdesk"]), statistics.median(rates["socketserver"])
    print(f"median netdesk      {ours:10.0f} round trips/s ({args.clients} clients, 1 KiB)")
    print(f"median socketserver {peer:10.0f} round trips/s")
    print(f"ratio netdesk/socketserver: {ours / peer:.2f} (goal >= 1.0)")


if __name__ == "__main__":
    main()
