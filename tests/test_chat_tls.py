"""TLS on the chat port (PROTOCOL.md section 3), over real loopback sockets.

TLS and plain clients on one port at once, the certificate the server
prints as ``openssl s_client`` sees it, pinning on first use and a changed
certificate refused, ``--require-tls``, and handshakes that stall or lie.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest

from net import certs
from net.chat.client import ChatConnection, ChatError
from net.chat.framing import FrameReader, encode
from net.chat.server import ChatServer
from net.chat.trust import CertificateChanged, MemoryPins, pin_key
from net.tls import TlsChannel, client_context, fingerprint, same_fingerprint
from tests.conftest import chat_options, reap, run_env, start_serve, wait_until


def tls_client(server, pins=None, **kw) -> ChatConnection:
    c = ChatConnection(timeout=10, tls=True, pins=pins if pins is not None else MemoryPins())
    c.connect(*server.address, **kw)
    return c


def plain_client(server) -> ChatConnection:
    c = ChatConnection(timeout=10, tls=False)
    c.connect(*server.address)
    return c


def next_message(c: ChatConnection) -> dict:
    return c.recv_until("message")


# -- the happy paths ---------------------------------------------------------------
def test_tls_and_plain_clients_share_the_port_and_the_room(make_server):
    server = make_server()
    tls, plain = tls_client(server), plain_client(server)
    try:
        assert tls.hello["tls"] is True and plain.hello["tls"] is False
        assert tls.hello["tls_required"] is False
        assert tls.security.version in ("TLSv1.2", "TLSv1.3")
        assert same_fingerprint(tls.security.fingerprint, server.certificate.fingerprint)
        tls.login("alice", "secret-1")
        plain.login("bob", "secret-2")
        tls.send({"type": "say", "text": "over tls"})
        assert next_message(plain)["text"] == "over tls"
        plain.send({"type": "say", "text": "in the clear"})
        assert next_message(plain)["text"] == "in the clear"
        seen_by_tls = [next_message(tls)["text"], next_message(tls)["text"]]
        assert seen_by_tls == ["over tls", "in the clear"]
        rows = {c["name"]: c["tls"] for c in server.clients()}
        assert rows == {"alice": True, "bob": False}
    finally:
        tls.close()
        plain.close()


def test_a_large_welcome_and_many_frames_cross_tls_intact(make_server):
    server = make_server(welcome_history=200)
    with_text = "ж" * 3000  # multi-byte, and several frames per TLS record
    c = tls_client(server)
    try:
        c.login("writer", "pw-writer")
        for i in range(60):
            c.send({"type": "say", "text": f"{i} {with_text}"})
        got = [next_message(c)["text"] for _ in range(60)]
        assert got == [f"{i} {with_text}" for i in range(60)]
    finally:
        c.close()
    reader = tls_client(server)
    try:
        welcome = reader.login("reader", "pw-reader")
        assert len(welcome["history"]) == 60
    finally:
        reader.close()


def test_logout_over_tls_ends_cleanly(make_server):
    server = make_server()
    c = tls_client(server)
    c.login("leaver", "pw")
    c.send({"type": "logout"})
    assert c.recv_until("bye")["type"] == "bye"
    assert c.recv(5) is None  # close_notify, then the end: no error
    c.close()
    wait_until(lambda: not server.clients(), message="the session to end")


# -- the certificate ----------------------------------------------------------------
def test_the_self_signed_certificate_is_private_kept_and_names_this_host(make_server, tmp_path):
    server = make_server()
    cert_file, key_file = tmp_path / certs.CERT_FILE, tmp_path / certs.KEY_FILE
    for path in (cert_file, key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    first = server.certificate.fingerprint
    server.stop()
    again = make_server()
    assert again.certificate.fingerprint == first  # the pins of clients hold
    again.stop()
    renewed = make_server(new_certificate=True)
    assert renewed.certificate.fingerprint != first


def test_an_expired_self_signed_certificate_is_renewed_with_a_warning(make_server, tmp_path,
                                                                        caplog):
    old = certs.make_self_signed(tmp_path, ["localhost"], days=1,
                                 not_before=dt.datetime.now(dt.timezone.utc)
                                 - dt.timedelta(days=10))
    with caplog.at_level("WARNING", logger="netdesk.tls"):
        server = make_server()
    assert server.certificate.fingerprint != old.fingerprint
    assert server.certificate.not_after > dt.datetime.now(dt.timezone.utc)
    assert any("expired" in r.getMessage() for r in caplog.records)


def test_the_operators_certificate_is_used(make_server, tmp_path):
    elsewhere = tmp_path / "operator"
    elsewhere.mkdir()
    made = certs.make_self_signed(elsewhere, ["chat.example.test"])
    data = tmp_path / "data"
    data.mkdir()
    server = make_server(data_dir=data, tls_cert=made.cert_file, tls_key=made.key_file)
    assert server.certificate.fingerprint == made.fingerprint
    assert not (data / certs.CERT_FILE).exists()
    c = tls_client(server)
    assert same_fingerprint(c.security.fingerprint, made.fingerprint)
    c.close()


def test_a_key_that_does_not_match_the_certificate_is_a_clear_error(make_server, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    one, other = certs.make_self_signed(a, ["localhost"]), certs.make_self_signed(b, ["x"])
    with pytest.raises(certs.CertificateError, match="cannot use the TLS certificate"):
        make_server(data_dir=tmp_path, tls_cert=one.cert_file, tls_key=other.key_file)
    with pytest.raises(certs.CertificateError, match="cannot read the TLS certificate"):
        make_server(data_dir=tmp_path, tls_cert=tmp_path / "missing.pem",
                    tls_key=other.key_file)


def test_serve_prints_the_fingerprint_that_openssl_s_client_sees(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    proc, services = start_serve(tmp_path)
    try:
        lines = proc.startup_lines
        chat_at = next(i for i, ln in enumerate(lines) if ln.startswith("chat listening on"))
        line = lines[chat_at + 1].split()  # next to the chat line
        assert line[:3] == ["chat", "tls", "fingerprint"], lines
        printed = line[3]
        host, port = services["chat"]
        shown = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}",
                                "-servername", "localhost"],
                               input="", capture_output=True, text=True, timeout=20)
        pem = shown.stdout[shown.stdout.index("-----BEGIN CERTIFICATE-----"):
                           shown.stdout.index("-----END CERTIFICATE-----") + 25]
        seen = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
                              input=pem, capture_output=True, text=True, timeout=20)
        assert seen.stdout.strip().split("=", 1)[1] == printed.removeprefix("SHA256:")
        assert "TLSv1.3" in shown.stdout
        # TLS 1.1 and older are refused.
        old = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}",
                              "-tls1_1"], input="", capture_output=True, text=True, timeout=20)
        assert "BEGIN CERTIFICATE" not in old.stdout
        proc.stdin.write("shutdown\n")
        proc.stdin.flush()
        proc.wait(timeout=20)
    finally:
        reap(proc)


def test_serve_with_require_tls_says_so_in_hello(tmp_path):
    proc, services = start_serve(tmp_path, "--require-tls")
    try:
        c = ChatConnection(timeout=10, tls=False)
        c.connect(*services["chat"])
        assert c.hello["tls_required"] is True
        with pytest.raises(ChatError) as refused:
            c.login("someone", "pw")
        assert refused.value.code == "tls_required"
        c.close()
    finally:
        reap(proc)


def test_serve_refuses_a_lone_tls_cert(tmp_path):
    from tests.conftest import netdesk_cmd
    done = subprocess.run(netdesk_cmd("--data-dir", str(tmp_path), "serve", "--tls-cert",
                                      str(tmp_path / "x.pem")), capture_output=True, text=True,
                          timeout=30, env=run_env())
    assert done.returncode == 2
    assert "--tls-cert and --tls-key go together" in done.stderr


# -- trust on first use -------------------------------------------------------------
def test_the_first_fingerprint_is_pinned_and_a_changed_one_is_refused(make_server, tmp_path):
    server = make_server()
    pins = MemoryPins()
    first = tls_client(server, pins)
    assert first.security.first_use and not first.security.verified
    host, port = server.address
    assert same_fingerprint(pins.get(pin_key(host, port)), server.certificate.fingerprint)
    first.close()
    again = tls_client(server, pins)
    assert not again.security.first_use
    again.close()

    old = server.certificate.fingerprint
    server.stop()
    # The same address, a new certificate: what a client sees after
    # `netdesk serve --new-certificate`, or when someone is in between.
    new = ChatServer(tmp_path, "127.0.0.1", port, chat_options(new_certificate=True))
    new.start()
    try:
        with pytest.raises(CertificateChanged) as changed:
            tls_client(new, pins)
        assert changed.value.pinned == old
        assert changed.value.offered == new.certificate.fingerprint
        assert old in str(changed.value) and new.certificate.fingerprint in str(changed.value)
        assert new.clients() == [] or all(c["name"] is None for c in new.clients())
        # Accepting it on purpose connects and re-pins.
        accepted = tls_client(new, pins, accept=new.certificate.fingerprint)
        assert accepted.login("after", "pw")["name"] == "after"
        assert pins.get(pin_key(host, port)) == new.certificate.fingerprint
        accepted.close()
    finally:
        new.stop()


def test_a_certificate_from_a_trusted_ca_is_accepted_without_a_pin(make_server, tmp_path,
                                                                     monkeypatch):
    ca_file, cert_file, key_file = _ca_and_server_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the system's CAs, for this test
    server = make_server(data_dir=tmp_path, tls_cert=cert_file, tls_key=key_file)
    pins = MemoryPins()
    c = ChatConnection(timeout=10, pins=pins)
    c.connect("localhost", server.address[1])
    assert c.security.verified and not c.security.first_use
    assert pins.get(pin_key("localhost", server.address[1])) is None
    c.close()


def _ca_and_server_cert(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netdesk test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = (tmp_path / "ca.pem", tmp_path / "server.pem",
                                    tmp_path / "server.key")
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    return ca_file, cert_file, key_file


def test_a_plain_only_server_gets_a_clear_message_not_a_tls_error(tmp_path):
    """A hand-written lab server answers hello in the clear at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def plain_server():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(encode({"type": "hello", "proto": 1, "server": "lab"}))
            conn.settimeout(5)
            try:
                conn.recv(4096)
            except OSError:
                pass
    thread = threading.Thread(target=plain_server, daemon=True)
    thread.start()
    try:
        c = ChatConnection(timeout=5)
        with pytest.raises(ConnectionError, match="does not offer TLS"):
            c.connect("127.0.0.1", port)
        c.close()
    finally:
        thread.join(10)
        listener.close()


# -- require TLS ---------------------------------------------------------------------
def test_require_tls_refuses_plain_logins_without_looking_at_the_password(make_server,
                                                                          caplog):
    server = make_server(require_tls=True, max_failures=3)
    owner = tls_client(server)
    owner.login("owner", "right-password")
    owner.close()
    with caplog.at_level("INFO", logger="netdesk.chat"):
        for _ in range(6):  # past the failed-login budget, were any counted
            c = plain_client(server)
            assert c.hello["tls_required"] is True
            for request in ({"type": "login", "name": "owner", "password": "wrong"},
                            {"type": "resume", "token": "x" * 43}):
                c.send(request)
                reply = c.recv_until("error", "welcome")
                assert reply["type"] == "error" and reply["code"] == "tls_required"
            c.close()
    assert not any("failed login" in r.getMessage() or "failed resume" in r.getMessage()
                   for r in caplog.records)
    again = tls_client(server)
    assert again.login("owner", "right-password")["name"] == "owner"  # not locked out
    again.close()


def test_switching_require_tls_keeps_plain_sessions_already_in(make_server):
    server = make_server()
    plain = plain_client(server)
    plain.login("early", "pw")
    server.require_tls = True
    plain.send({"type": "say", "text": "still here"})
    assert next_message(plain)["text"] == "still here"
    late = plain_client(server)
    with pytest.raises(ChatError) as refused:
        late.login("late", "pw")
    assert refused.value.code == "tls_required"
    late.close()
    plain.close()


# -- handshakes that stall or lie ------------------------------------------------------
def test_handshakes_that_stall_do_not_delay_anyone_else(make_server):
    server = make_server(login_deadline=60)
    stalled = []
    try:
        for _ in range(20):
            s = socket.create_connection(server.address)
            s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never ends
            stalled.append(s)
        wait_until(lambda: server.listener.connection_count() >= 20,
                   message="the stalled handshakes to be accepted")
        started = time.monotonic()
        tls, plain = tls_client(server), plain_client(server)
        tls.login("quick", "pw")
        plain.login("plain", "pw")
        tls.send({"type": "say", "text": "not delayed"})
        assert next_message(plain)["text"] == "not delayed"
        # Far below the 60 s a stalled handshake may hold its own thread.
        assert time.monotonic() - started < 30
        tls.close()
        plain.close()
    finally:
        for s in stalled:
            s.close()


def test_a_stalled_handshake_ends_at_the_login_deadline(make_server):
    server = make_server(login_deadline=1)
    s = socket.create_connection(server.address)
    s.sendall(b"\x16\x03\x01\x02\x00\x01")
    s.settimeout(10)
    try:
        assert s.recv(4096) == b""  # closed by the server, at the deadline
    except ConnectionResetError:
        pass
    finally:
        s.close()
    wait_until(lambda: server.listener.connection_count() == 0,
               message="the stalled connection to be closed")


def test_garbage_after_the_tls_byte_is_closed_and_others_go_on(make_server, caplog):
    server = make_server()
    with caplog.at_level("INFO", logger="netdesk.chat"):
        s = socket.create_connection(server.address)
        s.sendall(b"\x16" + os.urandom(2000))
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        s.close()
        wait_until(lambda: any("TLS handshake" in r.getMessage() for r in caplog.records),
                   message="the failed handshake to be logged")
    c = tls_client(server)
    assert c.login("fine", "pw")["name"] == "fine"
    c.close()


def test_a_forged_record_after_the_handshake_ends_only_that_connection(make_server):
    server = make_server()
    victim_watch = tls_client(server)
    victim_watch.login("watcher", "pw")
    raw = socket.create_connection(server.address)
    raw.settimeout(10)
    channel = TlsChannel(client_context(False), False)
    channel.handshake(raw, time.monotonic() + 10)
    reader = FrameReader(raw, 1 << 20, lambda n: _decrypt(raw, channel, n))
    assert reader.read(10)["type"] == "hello"
    raw.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))  # application data, bad MAC
    try:
        assert reader.read(10) is None
    except (OSError, ssl.SSLError):
        pass
    raw.close()
    victim_watch.send({"type": "say", "text": "unharmed"})
    assert next_message(victim_watch)["text"] == "unharmed"
    victim_watch.close()


def _decrypt(sock, channel, n):
    data = sock.recv(n)
    if not data:
        return data
    plain, reply = channel.decrypt(data)
    if reply:
        sock.sendall(reply)
    if not plain and not channel.eof:
        raise BlockingIOError
    return plain


def test_fingerprints_are_written_as_openssl_writes_them():
    fp = fingerprint(b"certificate bytes")
    assert fp.startswith("SHA256:") and len(fp.split(":")) == 33
    assert same_fingerprint(fp, fp.lower().removeprefix("sha256:").replace(":", ""))
    assert not same_fingerprint(fp, None)


# -- a client that ends the handshake itself is no error (issue 20) --------------------------
def _handshake_records(caplog) -> list:
    return [r for r in caplog.records if r.name == "netdesk.chat" and "handshake" in r.getMessage()]


def test_a_chat_windows_certificate_probe_is_logged_below_the_panels_level(make_server,
                                                                           caplog):
    """A chat window first tries the system's CAs; on the self-signed
    certificate it refuses it (alert unknown CA), closes and comes back to
    trust it on first use. The server logged that probe as "TLS handshake
    ... failed" at INFO, in the panel's log like an error."""
    server = make_server()
    with caplog.at_level("DEBUG", logger="netdesk.chat"):
        c = tls_client(server)  # fresh pins: the CA-verified probe, then trust on first use
        assert c.security.first_use
        assert c.login("prober", "pw")["name"] == "prober"
        c.close()
        wait_until(lambda: _handshake_records(caplog), message="the probe to be logged")
    records = _handshake_records(caplog)
    assert all(r.levelno < logging.INFO for r in records), [
        (r.levelname, r.getMessage()) for r in records]
    assert not any("failed" in r.getMessage() for r in records)


def test_a_client_that_goes_away_during_the_handshake_is_an_ordinary_event(make_server,
                                                                           caplog):
    server = make_server()
    ctx = client_context(False)
    with caplog.at_level("DEBUG", logger="netdesk.chat"):
        # A real ClientHello from OpenSSL, then the client goes away.
        raw = socket.create_connection(server.address)
        out = ssl.MemoryBIO()
        tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="127.0.0.1")
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        raw.sendall(out.read())
        raw.close()
        wait_until(lambda: _handshake_records(caplog), message="the handshake's end logged")
        wait_until(lambda: server.listener.connection_count() == 0,
                   message="the connection to be closed")
    records = _handshake_records(caplog)
    assert records and all(r.levelno < logging.WARNING for r in records)
    assert all(r.levelno < logging.INFO for r in records), [
        (r.levelname, r.getMessage()) for r in records]
    c = tls_client(server)  # and the port serves the next one
    assert c.login("next", "pw")["name"] == "next"
    c.close()


def test_a_real_handshake_failure_is_still_logged(make_server, caplog):
    server = make_server()
    with caplog.at_level("INFO", logger="netdesk.chat"):
        s = socket.create_connection(server.address)
        # A TLS record header that announces a handshake, then a version no one speaks.
        s.sendall(b"\x16\x03\x01\x00\x05" + b"\x01\x00\x00\x01\x00")
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        s.close()
        wait_until(lambda: any(r.levelno >= logging.INFO for r in _handshake_records(caplog)),
                   message="the failed handshake to be logged")
    assert any("TLS handshake" in r.getMessage() and "failed" in r.getMessage()
               for r in _handshake_records(caplog))
