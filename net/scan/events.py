"""What a scan reports, as plain data: the events ``Scanner.run`` emits and
the results it returns. ``netdesk scan`` and the scanner window each render
them their own way.

Order of events: ``ScanStarted``; ``HostState`` for each host once host
discovery has decided (or, with ``-Pn``, when its scan ends); ``PortOpen``
as ports are found and ``Progress`` about ten times a second; ``HostDone``
as each host finishes; ``Banner`` for open ports when banners were asked
for; ``ScanFinished`` last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPEN, CLOSED, FILTERED = "open", "closed", "filtered"
UP, DOWN = "up", "down"


@dataclass(frozen=True)
class ScanStarted:
    host: str  # the first target (the only one in a one-host scan)
    address: str
    total: int  # probes planned: hosts x ports, before host discovery
    strategy: str
    threads: int
    in_flight: int
    hosts: int = 1
    ports: int = 0  # ports per host
    procs: int = 1  # worker processes


@dataclass(frozen=True)
class HostState:
    host: str
    address: str
    state: str  # UP or DOWN


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    open_count: int
    rate: float  # ports per second
    eta: float | None  # seconds left, None until a rate is known
    hosts_total: int = 1
    hosts_up: int = 0
    hosts_down: int = 0
    hosts_done: int = 0


@dataclass(frozen=True)
class PortOpen:
    port: int
    service: str
    host: str = ""
    address: str = ""


@dataclass(frozen=True)
class Banner:
    host: str
    address: str
    port: int
    text: str


@dataclass(frozen=True)
class HostResult:
    host: str
    address: str
    state: str
    ports_scanned: int
    open: list[tuple[int, str]]  # ascending (port, service)
    closed: int
    filtered: int
    elapsed: float
    banners: dict[int, str] = field(default_factory=dict)
    # False when a cancelled scan left the host unfinished (not asked at all,
    # or not every port): its state is then only what was known so far.
    finished: bool = True

    def as_json(self, with_state: bool = False) -> dict:
        data = {"host": self.host, "address": self.address,
                "ports_scanned": self.ports_scanned, "open": [p for p, _ in self.open],
                "closed": self.closed, "filtered": self.filtered,
                "elapsed_s": round(self.elapsed, 3)}
        if with_state:
            data["state"] = self.state
        if self.banners:
            data["banners"] = {str(port): text for port, text in sorted(self.banners.items())}
        return data


@dataclass(frozen=True)
class HostDone:
    result: HostResult


@dataclass(frozen=True)
class ScanFinished:
    hosts: list[HostResult]  # in target order
    elapsed: float
    cancelled: bool = False
    several: bool = False  # the targets named more than one host

    # One-host scans read like the scanner always did.
    @property
    def single(self) -> HostResult:
        return self.hosts[0]

    @property
    def host(self) -> str:
        return self.hosts[0].host

    @property
    def address(self) -> str:
        return self.hosts[0].address

    @property
    def open(self) -> list[tuple[int, str]]:
        return [pair for h in self.hosts for pair in h.open]

    @property
    def closed(self) -> int:
        return sum(h.closed for h in self.hosts)

    @property
    def filtered(self) -> int:
        return sum(h.filtered for h in self.hosts)

    @property
    def ports_scanned(self) -> int:
        return sum(h.ports_scanned for h in self.hosts)

    @property
    def up(self) -> int:
        return sum(h.state == UP for h in self.hosts)

    def as_json(self) -> dict:
        """One host: the object ``netdesk scan --json`` always printed; several:
        ``{"hosts": [...each with "state"...], "elapsed_s": S}``."""
        if not self.several:
            return self.hosts[0].as_json()
        return {"hosts": [h.as_json(with_state=True) for h in self.hosts],
                "elapsed_s": round(self.elapsed, 3)}


Event = (ScanStarted | HostState | Progress | PortOpen | Banner | HostDone | ScanFinished)
