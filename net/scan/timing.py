"""How long to wait for a port's answer: learned per host from its round trips.

A port that answers (open or closed) gives a round-trip sample; the time-out
for the next probe is the smoothed round trip plus four times its variance,
as TCP computes its retransmission time-out (RFC 6298) and nmap its probe
time-outs. It is kept between ``MIN_TIMEOUT`` and the user's ``--timeout``.

A sample is taken when the scanner *sees* the answer, not when the kernel got
it: a busy or starved scanner measures longer round trips and so waits
longer. That errs on the safe side: a slow scanner never calls a port
"filtered" because it looked late.
"""

from __future__ import annotations

# nmap's --min-rtt-timeout default: below this a busy LAN or a loaded host
# starts losing answers.
MIN_TIMEOUT = 0.1
# A host that has not answered yet borrows the round trip of those that have
# (nmap's group timing), but never waits less than this: a far host among
# near ones must get a fair chance before it is called down.
UNKNOWN_FLOOR = 0.25
# One retry for a probe that got no answer, with twice the time-out.
RETRIES = 1
BACKOFF = 2.0


class RoundTrip:
    """Smoothed round trip and its variance (RFC 6298, section 2)."""

    __slots__ = ("srtt", "rttvar", "samples")

    def __init__(self, srtt: float = 0.0, rttvar: float = 0.0, samples: int = 0):
        self.srtt, self.rttvar, self.samples = srtt, rttvar, samples

    def add(self, rtt: float) -> None:
        if rtt < 0:
            rtt = 0.0
        if self.samples == 0:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.samples += 1

    def timeout(self) -> float:
        return self.srtt + 4 * self.rttvar

    def state(self) -> tuple[float, float, int]:
        return self.srtt, self.rttvar, self.samples


class Timing:
    """The time-outs of one scan: one ``RoundTrip`` per host and one for all."""

    def __init__(self, hosts: int, cap: float):
        self.cap = cap
        self.floor = min(MIN_TIMEOUT, cap)
        self.hosts = [RoundTrip() for _ in range(hosts)]
        self.overall = RoundTrip()

    def sample(self, host: int, rtt: float) -> None:
        self.hosts[host].add(rtt)
        self.overall.add(rtt)

    def timeout(self, host: int, attempt: int = 0) -> float:
        """Seconds to wait for an answer to a probe of ``host`` (attempt 0 or a retry)."""
        own = self.hosts[host]
        if own.samples:
            base = max(self.floor, own.timeout())
        elif self.overall.samples:
            base = max(UNKNOWN_FLOOR, self.overall.timeout())
        else:
            return self.cap
        return min(self.cap, base * BACKOFF ** attempt)
