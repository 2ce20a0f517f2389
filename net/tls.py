"""TLS on a port that also speaks plain (PROTOCOL.md section 3), both sides.

The server tells the two apart by the first byte: a TLS ClientHello starts
with 0x16, which no plain frame can (its length would pass 369 MB); a plain
client speaks only after ``hello``, so silence for ``SNIFF_SECONDS`` means
plain too (``sniff``).

TLS runs over memory BIOs (``TlsChannel``) rather than ``SSLSocket``: the
raw socket stays the one that is polled, sent to and shut down, so the
servers' non-blocking send queues, their flusher and every deadline work
unchanged, and no thread ever blocks inside OpenSSL. One SSL object must
not be used by two threads at once, so every call goes through the
channel's lock; the servers call it under their peer's lock anyway, which
also keeps what the channel writes in the order it is sent.

Fingerprints are SHA-256 of the certificate's DER bytes, written as
``openssl x509 -fingerprint -sha256`` writes them, so an operator can
compare them with what ``openssl s_client`` shows.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from net.sockutil import ready, send_all

TLS_FIRST_BYTE = 0x16
SNIFF_SECONDS = 0.25
READ_SIZE = 65536


# Alerts with which a client refuses the server's certificate: a chat window
# tries the system's CAs first and, on a self-signed certificate, closes and
# comes back to trust it on first use (``net.chat.trust``).
CERTIFICATE_REFUSED = frozenset({"TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                                 "SSLV3_ALERT_CERTIFICATE_UNKNOWN"})


class HandshakeError(ConnectionError):
    """The TLS handshake failed or did not finish in time; the message says why.

    ``peer_left`` is True when the peer ended it, an ordinary event: it went
    away (closed, reset) or refused the certificate and closed; False for a
    real failure (garbage, no common protocol version or cipher, a timeout).
    """

    def __init__(self, message: str, peer_left: bool = False):
        super().__init__(message)
        self.peer_left = peer_left


def fingerprint(der: bytes) -> str:
    """``SHA256:AB:CD:...``, the certificate's SHA-256 as OpenSSL prints it."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def same_fingerprint(a: str | None, b: str | None) -> bool:
    """Compare fingerprints however they were pasted (case, colons, prefix)."""
    def norm(f: str) -> str:
        f = f.strip().upper()
        f = f.removeprefix("SHA256:").removeprefix("SHA256 FINGERPRINT=")
        return f.replace(":", "")
    return bool(a and b) and norm(a) == norm(b)


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS 1.2 at least, 1.3 when the client has it; raises ``ssl.SSLError``
    or ``OSError`` for a certificate or key that cannot be used."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    # No session tickets (nothing resumes TLS sessions here) and no
    # renegotiation: after the handshake, the server writes only when asked to.
    ctx.num_tickets = 0
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    return ctx


def client_context(verify: bool) -> ssl.SSLContext:
    """Verified against the system's CAs, or not at all (the caller pins).

    Made once and shared (an SSLContext serves any number of connections
    and threads): loading the system's CAs takes longer than a handshake.
    Made again when the variables that name the CAs change."""
    return _client_context(verify, os.environ.get("SSL_CERT_FILE"),
                           os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _client_context(verify: bool, _cafile: str | None, _capath: str | None
                    ) -> ssl.SSLContext:
    if verify:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@dataclass(frozen=True)
class TlsInfo:
    """What a finished handshake established, for a status line."""

    version: str
    cipher: str
    fingerprint: str
    verified: bool = False  # the certificate chains to a CA the system trusts
    first_use: bool = False  # not verified; its fingerprint was pinned just now


class TlsChannel:
    """TLS over memory BIOs: ciphertext in and out, plaintext to and from the caller."""

    def __init__(self, ctx: ssl.SSLContext, server_side: bool,
                 server_hostname: str | None = None):
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_side=server_side,
                                 server_hostname=server_hostname)
        self.lock = threading.Lock()
        self.eof = False  # the peer sent close_notify
        self.raw_seen = bytearray()  # the first bytes received, for a failed handshake

    # -- handshake ------------------------------------------------------------------
    def handshake(self, sock: socket.socket, deadline: float,
                  wait: Callable[[socket.socket, float], bool] | None = None) -> None:
        """Run the handshake on the raw ``sock`` until ``deadline`` (monotonic).

        ``wait(sock, seconds)`` waits until ``sock`` is readable and returns
        False to give up (a caller that can be cancelled passes its own).
        Raises ``HandshakeError`` (an ``ssl.SSLCertVerificationError`` as its
        cause when the certificate was not trusted).
        """
        wait = wait or _wait_readable
        while True:
            try:
                with self.lock:
                    self._obj.do_handshake()
                    out = self._out.read()
                _send_all(sock, out, deadline)
                return
            except ssl.SSLWantReadError:
                with self.lock:
                    out = self._out.read()
                _send_all(sock, out, deadline)
            except ssl.SSLError as e:
                with self.lock:
                    out = self._out.read()  # the alert that tells the peer why
                try:
                    _send_all(sock, out, min(deadline, time.monotonic() + 0.5))
                except OSError:
                    pass
                raise HandshakeError(_ssl_reason(e), _peer_ended(e)) from e
            left = deadline - time.monotonic()
            if left <= 0 or not wait(sock, left):
                raise HandshakeError("the TLS handshake did not finish in time")
            try:
                data = sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:  # reset: the peer went away
                raise HandshakeError(f"the peer went away during the TLS handshake ({e})",
                                     peer_left=True) from e
            if not data:
                raise HandshakeError("the peer closed the connection during the TLS handshake",
                                     peer_left=True)
            if len(self.raw_seen) < 4096:
                self.raw_seen += data[:4096 - len(self.raw_seen)]
            with self.lock:
                self._in.write(data)

    def info(self, verified: bool = False, first_use: bool = False) -> TlsInfo:
        with self.lock:
            der = self._obj.getpeercert(binary_form=True)
            if der is None and self._obj.server_side:
                der = b""
            cipher = self._obj.cipher()
            return TlsInfo(self._obj.version() or "", cipher[0] if cipher else "",
                           fingerprint(der) if der else "", verified, first_use)

    def peer_certificate(self) -> bytes | None:
        with self.lock:
            return self._obj.getpeercert(binary_form=True)

    # -- after the handshake ------------------------------------------------------
    def encrypt(self, data: bytes) -> bytes:
        """The ciphertext that carries ``data`` (a memory BIO never says "wait")."""
        with self.lock:
            if data:
                self._obj.write(data)
            return self._out.read()

    def decrypt(self, raw: bytes) -> tuple[bytes, bytes]:
        """Feed received ciphertext: the plaintext it completes, and anything
        TLS itself must send back now (e.g. a TLS 1.3 key update), which the
        caller sends before any later ``encrypt``. Raises ``ssl.SSLError``
        (an ``OSError``) on a broken or forged record."""
        plain = bytearray()
        with self.lock:
            self._in.write(raw)
            while not self.eof:
                try:
                    chunk = self._obj.read(READ_SIZE)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    self.eof = True
                    break
                if not chunk:
                    self.eof = True
                    break
                plain += chunk
            return bytes(plain), self._out.read()

    def close_notify(self) -> bytes:
        """The ciphertext of a clean TLS close, to send before closing."""
        with self.lock:
            try:
                self._obj.unwrap()
            except ssl.SSLError:
                pass
            return self._out.read()


def sniff(sock: socket.socket, seconds: float = SNIFF_SECONDS) -> bool:
    """True when the client's first byte, within ``seconds``, starts TLS."""
    if not _wait_readable(sock, seconds):
        return False
    try:
        first = sock.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False
    return bool(first) and first[0] == TLS_FIRST_BYTE


def plain_frame_prefix(raw: bytes) -> bool:
    """Whether bytes a TLS client got back look like a plain chat frame (a
    server that answered in the clear: an old one, or a refusal)."""
    return len(raw) >= 5 and raw[0] == 0 and raw[4:5] == b"{"


def _wait_readable(sock: socket.socket, seconds: float) -> bool:
    return bool(ready([sock], False, seconds))


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    try:
        send_all(sock, data, deadline)
    except TimeoutError:
        raise HandshakeError("the peer is not reading the TLS handshake") from None
    except OSError as e:  # reset, broken pipe: the peer went away
        raise HandshakeError(f"the peer went away during the TLS handshake ({e})",
                             peer_left=True) from e


def _peer_ended(e: ssl.SSLError) -> bool:
    """Whether the peer ended the handshake itself: it closed mid-way, or
    refused the certificate (a client that will come back trusting it)."""
    return isinstance(e, ssl.SSLEOFError) or e.reason in CERTIFICATE_REFUSED \
        or e.reason == "UNEXPECTED_EOF_WHILE_READING"


def _ssl_reason(e: ssl.SSLError) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return e.verify_message or "the certificate is not trusted"
    return e.reason.replace("_", " ").lower() if e.reason else str(e)
