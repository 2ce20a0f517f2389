"""TCP service names for port numbers ("ssh" for 22), read once.

``socket.getservbyport`` reads the services file again on every call: a
scan that finds tens of thousands of open ports spent most of its time
there. Here the file is read once, on first use, from whichever thread
asks first; a missing or unreadable file leaves a small built-in table of
the commonest ports.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

# /etc/services is 12 KB on Debian and 700 KB on Fedora (the IANA list);
# anything past this is not a services file.
READ_LIMIT = 8 * 1024 * 1024

# When there is no services file to read (a container without netbase, an
# odd Windows): the ports a scan of a LAN most often finds open, named as
# IANA and nmap name them.
FALLBACK: dict[int, str] = {
    20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain",
    79: "finger", 80: "http", 88: "kerberos", 110: "pop3", 111: "sunrpc", 119: "nntp",
    135: "epmap", 139: "netbios-ssn", 143: "imap", 179: "bgp", 389: "ldap",
    443: "https", 445: "microsoft-ds", 465: "submissions", 514: "shell", 515: "printer",
    548: "afpovertcp", 554: "rtsp", 587: "submission", 631: "ipp", 636: "ldaps",
    873: "rsync", 993: "imaps", 995: "pop3s", 1080: "socks", 1433: "ms-sql-s",
    1723: "pptp", 1883: "mqtt", 2049: "nfs", 3306: "mysql", 3389: "ms-wbt-server",
    5060: "sip", 5432: "postgresql", 5672: "amqp", 5900: "vnc", 6379: "redis",
    8080: "http-alt", 8443: "https-alt", 11211: "memcache", 27017: "mongodb",
}

_lock = threading.Lock()
_table: dict[int, str] | None = None


def services_path() -> Path:
    """Where this platform keeps its services file."""
    if sys.platform == "win32":
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")  # any case on Windows
        return Path(root, "System32", "drivers", "etc", "services")
    return Path("/etc/services")


def parse_services(text: str) -> dict[int, str]:
    """``name port/proto [aliases] # comment`` lines: tcp only, and the first
    name given for a port wins, as it does for getservbyport."""
    table: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        number, _, proto = fields[1].partition("/")
        # isascii: int() would also take "٨٠" or "8_0".
        if proto != "tcp" or not (number.isascii() and number.isdigit()) or len(number) > 5:
            continue
        port = int(number)
        if port <= 65535 and port not in table:
            table[port] = fields[0]
    return table


def load_table(path: str | os.PathLike[str] | None = None) -> dict[int, str]:
    """The tcp table of the services file at ``path`` (this platform's by
    default), or the built-in ``FALLBACK`` if it can't be read or names no
    tcp port."""
    try:
        with open(services_path() if path is None else path, "rb") as f:
            data = f.read(READ_LIMIT)
    except (OSError, ValueError):  # ValueError: a path with a NUL in it
        return dict(FALLBACK)
    return parse_services(data.decode("utf-8", errors="replace")) or dict(FALLBACK)


def _loaded() -> dict[int, str]:
    global _table
    table = _table
    if table is None:
        with _lock:  # one thread reads the file; the others wait for its table
            table = _table
            if table is None:
                table = _table = load_table()
    return table


def service_name(port: int) -> str:
    """The TCP service name for ``port``, or "" if it has none."""
    return _loaded().get(port, "")


def services_table() -> dict[int, str]:
    """A copy of the whole table, port to name."""
    return dict(_loaded())
