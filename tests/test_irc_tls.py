"""TLS on the IRC gateway's port: the first byte decides, as on the chat port.

An IRC client over TLS (Python's ``ssl``, as any IRC client's library
would), one in the clear, and a chat window share the room; the certificate
is the chat port's; with TLS required, a plain IRC login is refused before
its password is looked at.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

from net.chat.server import ChatServer
from net.tls import fingerprint
from tests.conftest import wait_until
from tests.ircclient import Irc, said


class TlsIrc(Irc):
    """An IRC client over TLS that takes any certificate (the tests compare it)."""

    def __init__(self, port: int):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__(port, lambda s: ctx.wrap_socket(s, server_hostname="localhost"))


@pytest.fixture
def opened():
    conns = []
    yield conns
    for c in conns:
        c.close()


def test_irc_over_tls_and_in_the_clear_share_the_room_with_a_window(gateway, opened):
    from net.chat.client import ChatConnection
    chat, irc = gateway()
    port = irc.address[1]
    secure, plain = TlsIrc(port), Irc(port)
    opened += [secure, plain]
    assert same_cert(secure, chat)
    secure.register("tlsnick", "pw-tls")
    plain.register("plainnick", "pw-plain")
    for c in (secure, plain):
        c.send("JOIN #netdesk")
        c.expect("366")
    window = ChatConnection(timeout=5)
    opened.append(window)
    window.connect("127.0.0.1", chat.address[1])
    window.login("window", "pw-window")
    secure.send("PRIVMSG #netdesk :sealed line")
    assert said(window, "sealed line")["from"] == "tlsnick"
    plain.expect(lambda ln: "PRIVMSG #netdesk :sealed line" in ln)
    window.send({"type": "say", "text": "from the window"})
    secure.expect(lambda ln: ln.startswith(":window!") and ln.endswith(":from the window"))
    rows = {r["name"]: r["tls"] for r in irc.clients()}
    assert rows == {"tlsnick": True, "plainnick": False}


def same_cert(client: TlsIrc, chat: ChatServer) -> bool:
    return fingerprint(client.sock.getpeercert(binary_form=True)) == chat.certificate.fingerprint


def test_require_tls_refuses_plain_irc_logins_before_the_password(gateway, opened, caplog):
    chat, irc = gateway(require_tls=True)
    port = irc.address[1]
    owner = TlsIrc(port)
    opened.append(owner)
    owner.register("owner", "right-password")
    owner.send("QUIT")
    owner.wait_closed()
    with caplog.at_level("INFO", logger="netdesk.chat"):
        plain = Irc(port)
        opened.append(plain)
        plain.send("PASS wrong-password")
        plain.send("NICK owner")
        plain.send("USER u 0 * :x")
        assert "TLS" in plain.expect("464")
        plain.wait_closed()
        sasl = Irc(port)
        opened.append(sasl)
        sasl.send("CAP LS 302")
        sasl.send("CAP REQ :sasl")
        sasl.expect(lambda ln: " ACK " in ln)
        sasl.send("AUTHENTICATE PLAIN")
        sasl.expect("AUTHENTICATE")
        sasl.send("AUTHENTICATE b3duZXIAb3duZXIAd3Jvbmc=")  # owner, owner, wrong
        assert "TLS" in sasl.expect("904")
    assert not any("failed login" in r.getMessage() for r in caplog.records)
    again = TlsIrc(port)
    opened.append(again)
    assert again.register("owner", "right-password")


def test_a_stalled_irc_handshake_does_not_delay_others(gateway, opened):
    chat, irc = gateway(login_deadline=60)
    port = irc.address[1]
    stalled = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"\x16\x03\x01\x02\x00\x01")
            stalled.append(s)
        wait_until(lambda: irc.listener.connection_count() >= 10,
                   message="the stalled handshakes to be accepted")
        quick = TlsIrc(port)
        opened.append(quick)
        assert quick.register("quick", "pw-quick")
    finally:
        for s in stalled:
            s.close()


def test_openssl_s_client_sees_the_chat_certificate_on_the_irc_port(gateway):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    chat, irc = gateway()
    shown = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{irc.address[1]}"],
                           input="QUIT\n", capture_output=True, text=True, timeout=20)
    pem = shown.stdout[shown.stdout.index("-----BEGIN CERTIFICATE-----"):
                       shown.stdout.index("-----END CERTIFICATE-----") + 25]
    assert fingerprint(ssl.PEM_cert_to_DER_cert(pem)) == chat.certificate.fingerprint
