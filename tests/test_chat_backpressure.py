"""Issue 24: the chat core under saturation. What a sender may make the
server keep waiting is bounded, and a busy fan-out costs per batch.

Real objects (a real history file in a temp dir, real threads); the
fan-out's recipients are stand-ins that record what they get, since what
is measured here is what reaches them and when.
"""

from __future__ import annotations

import threading

from net.chat.fanout import BACKLOG, FanOut
from net.chat.history import HistoryStore
from net.chat.writer import SAYS_IN_FLIGHT, MessageWriter, Pending
from tests.conftest import wait_until


class Sender:
    """Who says: the writer keys its waiting says by the sender."""

    def __init__(self, name: str):
        self.name = name


def test_a_flooding_sender_waits_on_its_own_thread_with_a_few_says_queued(tmp_path):
    gate = threading.Event()
    delivered: list[int] = []

    def deliver(batch):
        gate.wait(30)  # the fan-out is slow: nothing leaves the writer meanwhile
        delivered.extend(message["id"] for _, message in batch)

    writer = MessageWriter(HistoryStore(tmp_path / "history.db"), deliver,
                           lambda batch, reason: None)
    flooder, quiet = Sender("flood"), Sender("quiet")
    done = threading.Event()

    def flood():
        for i in range(200):
            writer.submit(Pending(flooder, "flood", f"line {i}"))
        done.set()

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        wait_until(lambda: writer.waiting() >= SAYS_IN_FLIGHT, 10, None,
                   "the flooder's first says to queue")
        # The flooder's thread is held (its socket is then not read): what
        # waits in memory for it stays at the bound, not at 200 lines.
        assert not done.is_set() and thread.is_alive()
        assert writer.waiting() <= SAYS_IN_FLIGHT
        # Another sender is not held behind the flood's 200 lines.
        writer.submit(Pending(quiet, "quiet", "hello"))
        assert writer.waiting() <= SAYS_IN_FLIGHT + 1
    finally:
        gate.set()
        thread.join(30)
        writer.stop()
    assert done.is_set()
    assert delivered == list(range(1, 202))  # every say stored and delivered, in order
    assert writer.waiting() == 0


class Recorder:
    def __init__(self, shard: int, gate: threading.Event | None = None):
        self.shard = shard
        self.gate = gate
        self.calls: list[list[int]] = []

    def deliver(self, item):
        self.deliver_many([item])

    def deliver_many(self, items):
        if self.gate is not None:
            self.gate.wait(30)
        self.calls.append(list(items))


def test_a_busy_fan_out_gives_each_recipient_one_call_per_batch_in_order():
    fanout = FanOut(threads=1)
    COUNT = 10  # fewer than DRAIN_MAX job lists: the thread takes them at once
    gate = threading.Event()
    slow, other = Recorder(0, gate), Recorder(0)
    try:
        fanout.send([([slow, other], 0)])  # the thread is held on its first job
        wait_until(lambda: fanout.backlog() == 0, 10, None, "the first job taken")
        for n in range(1, COUNT):
            fanout.send([([slow, other], n)])
        gate.set()
        wait_until(lambda: sum(map(len, other.calls)) == COUNT, 10, None, "every item")
    finally:
        fanout.stop()
    assert [i for call in slow.calls for i in call] == list(range(COUNT))
    assert [i for call in other.calls for i in call] == list(range(COUNT))
    # Everything that queued while the thread was busy came in one call.
    assert len(other.calls) == 2 and other.calls[1] == list(range(1, COUNT))


def test_the_writer_waits_while_the_fan_out_is_behind():
    fanout = FanOut(threads=1)
    gate = threading.Event()
    slow = Recorder(0, gate)
    waited = threading.Event()
    try:
        fanout.send([([slow], 0)])
        wait_until(lambda: fanout.backlog() == 0, 10, None, "the first job taken")
        for n in range(1, BACKLOG + 1):
            fanout.send([([slow], n)])

        def writer():
            fanout.wait_room()
            waited.set()

        thread = threading.Thread(target=writer)
        thread.start()
        assert not waited.wait(0.3)  # BACKLOG job lists wait: so does the writer
        gate.set()
        assert waited.wait(10)
        thread.join(10)
    finally:
        gate.set()
        fanout.stop()
    assert [i for call in slow.calls for i in call] == list(range(BACKLOG + 1))
