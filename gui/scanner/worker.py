"""The scan's worker thread and what it tells the window besides the
engine's own events: the target order, a failure, and that it is done.

The worker gets the queue's ``put``, a ``ScanRequest`` and the cancel event,
never the window, so a worker that outlives a closed window holds no Tk
object. No Tk here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gui.scanner.form import ScanRequest
from gui.scanner.ordering import TargetOrder
from net.i18n import _
from net.scan.engine import PortOpen, ScanError, Scanner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanFailed:
    message: str
    field: str = ""  # the form field the message belongs next to, if any


@dataclass(frozen=True)
class WorkerDone:
    """The worker's last event: it has nothing more to put."""


@dataclass(frozen=True)
class OpenPorts:
    """Several ``PortOpen`` events in the order the engine emitted them."""

    events: list[PortOpen]


class _Coalescer:
    """The engine's ``emit`` for the window: the ``PortOpen`` events it
    emits in a row (it reports ten times a second, a host with every port
    open a few thousand at a time) travel as one ``OpenPorts``, so the queue
    and the Tk thread handle ten events a second instead of 27,000. The engine
    emits another event after every run of them, which sends the run on."""

    def __init__(self, put: Callable[[object], None]):
        self.put = put
        self.ports: list[PortOpen] = []

    def __call__(self, event: object) -> None:
        if type(event) is PortOpen:
            self.ports.append(event)
            return
        if self.ports:
            self.put(OpenPorts(self.ports))
            self.ports = []
        self.put(event)


def run_scan(request: ScanRequest, emit: Callable[[object], None],
             cancel: threading.Event) -> None:
    """Worker thread: build the scanner (it resolves names) and run it."""
    emit = _Coalescer(emit)  # any other event sends the open ports before it on
    try:
        try:
            # procs=1: the engine forks worker processes only while this
            # process has a single thread, which a Tk app running this worker
            # never has; saying so keeps the window from ever forking a Tk
            # process, whatever the engine's rule becomes.
            scanner = Scanner(request.targets, request.ports, strategy=request.strategy,
                              threads=request.threads, timeout=request.timeout,
                              cancel=cancel, skip_down=request.skip_down,
                              banners=request.banners, procs=1)
        except ScanError as e:
            # Ports, threads and timeout were checked by the form with the
            # engine's own rules: what fails here is resolving the targets.
            emit(ScanFailed(str(e), "targets"))
            return
        emit(TargetOrder([t.address for t in scanner.targets]))
        scanner.run(emit)
    except ScanError as e:
        emit(ScanFailed(str(e)))
    except Exception as e:  # shown to the user and logged, never swallowed
        log.exception("the scan failed")
        emit(ScanFailed(_("scan failed: {error}").format(error=e)))
    finally:
        emit(WorkerDone())
