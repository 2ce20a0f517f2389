"""Time-outs learned from round trips (net/scan/timing.py)."""

from __future__ import annotations

import pytest

from net.scan.timing import MIN_TIMEOUT, UNKNOWN_FLOOR, RoundTrip, Timing


def test_round_trip_follows_rfc_6298():
    rt = RoundTrip()
    rt.add(0.2)
    assert (rt.srtt, rt.rttvar) == pytest.approx((0.2, 0.1))
    rt.add(0.4)
    assert rt.rttvar == pytest.approx(0.75 * 0.1 + 0.25 * 0.2)
    assert rt.srtt == pytest.approx(0.875 * 0.2 + 0.125 * 0.4)
    assert rt.timeout() == pytest.approx(rt.srtt + 4 * rt.rttvar)


def test_a_host_without_answers_waits_the_cap_then_borrows_from_the_others():
    timing = Timing(hosts=2, cap=1.0)
    assert timing.timeout(0) == 1.0  # nothing known yet: the user's --timeout
    for _ in range(10):
        timing.sample(0, 0.0001)
    assert timing.timeout(0) == MIN_TIMEOUT  # a fast host: the floor
    assert timing.timeout(1) == UNKNOWN_FLOOR  # a silent host borrows, with a floor


def test_a_retry_waits_twice_as_long_but_never_past_the_cap():
    timing = Timing(hosts=1, cap=1.0)
    for _ in range(5):
        timing.sample(0, 0.15)
    first = timing.timeout(0, 0)
    assert timing.timeout(0, 1) == pytest.approx(min(1.0, 2 * first))
    for _ in range(20):
        timing.sample(0, 3.0)  # a slow host: its time-out grows to the cap
    assert timing.timeout(0) == 1.0


def test_a_cap_below_the_floor_wins():
    timing = Timing(hosts=1, cap=0.05)
    timing.sample(0, 0.0)
    assert timing.timeout(0) == 0.05
