"""Whether a client trusts the server's certificate: a CA, or a pin (as ssh does).

A certificate that chains to a CA the system trusts, for the name dialled,
is accepted as any TLS client would. Otherwise its fingerprint is pinned
per host:port on first use, and a later, different one stops the connection
with ``CertificateChanged`` (both fingerprints in it) until the user accepts
the new one on purpose. A pinned address is never tried against the CAs:
the pin is what the user agreed to.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Protocol

from net.i18n import _
from net.tls import HandshakeError, TlsChannel, TlsInfo, client_context, same_fingerprint


class Pins(Protocol):
    """Where fingerprints are kept, by ``pin_key(host, port)``."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, fingerprint: str) -> None: ...


class MemoryPins:
    """Pins for one process (scripts, tests); a window keeps them in its settings."""

    def __init__(self, pins: dict[str, str] | None = None):
        self._pins = dict(pins or {})
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._pins.get(key)

    def put(self, key: str, fingerprint: str) -> None:
        with self._lock:
            self._pins[key] = fingerprint


def pin_key(host: str, port: int) -> str:
    host = host.strip().lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CertificateChanged(ConnectionError):
    """The server shows another certificate than the one pinned for it."""

    def __init__(self, host: str, port: int, pinned: str, offered: str):
        super().__init__(_("the server's certificate has changed (pinned {pinned}, now "
                           "{offered}); accept the new one only if you know why it "
                           "changed").format(pinned=pinned, offered=offered))
        self.host, self.port = host, port
        self.pinned, self.offered = pinned, offered


Opener = Callable[[], socket.socket]
Waiter = Callable[[socket.socket, float], bool]


def secure(open_socket: Opener, host: str, port: int, pins: Pins, timeout: float,
           accept: str | None = None, wait: Waiter | None = None
           ) -> tuple[socket.socket, TlsChannel, TlsInfo]:
    """Open a connection with ``open_socket`` and make it TLS, trusted or refused.

    ``accept`` is a fingerprint the user has accepted in place of the pinned
    one. Raises ``CertificateChanged``, ``HandshakeError`` or ``OSError``;
    on a failed handshake the channel's ``raw_seen`` is kept in the error's
    ``channel`` attribute, for a caller that wants to see what came back.
    """
    key = pin_key(host, port)
    pinned = pins.get(key)
    if pinned is None:
        sock = open_socket()
        channel = TlsChannel(client_context(True), False, server_hostname=host)
        try:
            channel.handshake(sock, time.monotonic() + timeout, wait)
            return sock, channel, channel.info(verified=True)
        except BaseException as e:
            sock.close()
            if not (isinstance(e, HandshakeError)
                    and isinstance(e.__cause__, ssl.SSLCertVerificationError)):
                e.channel = channel
                raise
        # Not CA-verified: trust on first use.
    sock = open_socket()
    channel = TlsChannel(client_context(False), False, server_hostname=host)
    try:
        channel.handshake(sock, time.monotonic() + timeout, wait)
    except BaseException as e:
        sock.close()
        e.channel = channel
        raise
    offered = channel.info().fingerprint
    if pinned is None:
        pins.put(key, offered)
        return sock, channel, channel.info(first_use=True)
    if same_fingerprint(pinned, offered):
        return sock, channel, channel.info()
    if accept and same_fingerprint(accept, offered):
        pins.put(key, offered)
        return sock, channel, channel.info()
    sock.close()
    raise CertificateChanged(host, port, pinned, offered)
