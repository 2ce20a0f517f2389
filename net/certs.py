"""The server's TLS certificate: the operator's, or one it makes for itself.

Without ``--tls-cert``/``--tls-key`` the server makes a self-signed ECDSA
P-256 certificate on its first start (P-256 rather than Ed25519: every TLS
client in use, irssi and phones included, takes it) and keeps it, owner-only,
in the data directory; clients pin its fingerprint on first use. It is kept
across restarts so that the pins hold, made anew on ``--new-certificate``,
and renewed, with a warning, once it has expired.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from net.tls import fingerprint, server_context

log = logging.getLogger("netdesk.tls")

CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
VALID_DAYS = 825  # the longest validity browsers accept; a pin outlives it anyway
_WILDCARDS = {"", "0.0.0.0", "::"}


class CertificateError(OSError):
    """The certificate or key cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    fingerprint: str
    not_after: dt.datetime
    self_signed: bool  # made by netdesk (not the operator's)
    names: tuple[str, ...] = ()

    def context(self) -> ssl.SSLContext:
        try:
            return server_context(str(self.cert_file), str(self.key_file))
        except (ssl.SSLError, OSError) as e:
            raise CertificateError(f"cannot use the TLS certificate {self.cert_file} with "
                                   f"the key {self.key_file}: {e}") from None


def subject_names(host: str) -> list[str]:
    """The host name, localhost and the addresses a server on ``host`` listens on."""
    names = [socket.gethostname(), "localhost", "127.0.0.1", "::1"]
    if host not in _WILDCARDS:
        names.append(host)
    else:
        names.extend(_interface_addresses())
    seen, out = set(), []
    for name in names:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _interface_addresses() -> list[str]:
    """This machine's IPv4 addresses, from its interfaces (no lookup leaves it)."""
    if not hasattr(socket, "if_nameindex"):
        return []
    try:
        import fcntl
        import struct
    except ImportError:
        return []
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            interfaces = socket.if_nameindex()
        except OSError:
            return []
        for _index, name in interfaces[:256]:
            try:
                packed = fcntl.ioctl(probe.fileno(), 0x8915,  # SIOCGIFADDR
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    return found


def load(cert_file: str | Path, key_file: str | Path) -> Certificate:
    """The operator's certificate and key, checked to work together."""
    cert_file, key_file = Path(cert_file), Path(key_file)
    try:
        pem = cert_file.read_text(encoding="ascii")
        der = ssl.PEM_cert_to_DER_cert(pem[pem.index("-----BEGIN CERTIFICATE-----"):])
    except (OSError, ValueError, UnicodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "no PEM certificate in it"
        raise CertificateError(f"cannot read the TLS certificate {cert_file}: {reason}") \
            from None
    cert = Certificate(cert_file, key_file, fingerprint(der), _not_after(der), False)
    cert.context()  # the key matches, and OpenSSL takes both
    if cert.not_after < _now():
        log.warning("tls: the certificate %s expired on %s; clients will refuse it",
                    cert_file, cert.not_after.date())
    return cert


def ensure(data_dir: Path, host: str, new: bool = False) -> Certificate:
    """The self-signed certificate in ``data_dir``: made when missing, when
    ``new``, or when it has expired (with a warning)."""
    cert_file, key_file = data_dir / CERT_FILE, data_dir / KEY_FILE
    if not new and cert_file.exists() and key_file.exists():
        try:
            der = ssl.PEM_cert_to_DER_cert(cert_file.read_text(encoding="ascii"))
            cert = Certificate(cert_file, key_file, fingerprint(der), _not_after(der), True)
            if cert.not_after > _now():
                cert.context()
                return cert
            log.warning("tls: the self-signed certificate expired on %s; making a new one "
                        "(clients that pinned the old one will be asked to accept it)",
                        cert.not_after.date())
        except (OSError, ValueError, UnicodeError, CertificateError) as e:
            log.warning("tls: the certificate in %s cannot be used (%s); making a new one",
                        data_dir, e)
    return make_self_signed(data_dir, subject_names(host))


def make_self_signed(data_dir: Path, names: list[str], days: int = VALID_DAYS,
                     not_before: dt.datetime | None = None) -> Certificate:
    """Make and store a new key and certificate (owner-only files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or _now() - dt.timedelta(minutes=5)  # clocks a little behind
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            try:
                sans.append(x509.DNSName(name.encode("idna").decode("ascii")))
            except UnicodeError:
                continue
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names[0] or "netdesk")[:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netdesk")])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = data_dir / CERT_FILE, data_dir / KEY_FILE
    # Key first: a certificate on disk must never be without its key.
    _write_private(key_file, key_pem)
    _write_private(cert_file, cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    made = Certificate(cert_file, key_file, fingerprint(der), _not_after(der), True,
                       tuple(names))
    log.info("tls: made a self-signed certificate for %s (%s), valid until %s",
             ", ".join(names), made.fingerprint, made.not_after.date())
    return made


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as e:
        raise CertificateError(f"cannot store the TLS certificate in {path.parent}: "
                               f"{e.strerror or e}") from None


def _not_after(der: bytes) -> dt.datetime:
    from cryptography import x509
    cert = x509.load_der_x509_certificate(der)
    return cert.not_valid_after_utc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
