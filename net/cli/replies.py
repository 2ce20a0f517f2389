"""The controller's answers in words for people, shared by the console and
the panel: durations, the TLS share, the clients table, the budgets list.
"""

from __future__ import annotations

from datetime import datetime

from net.control.controller import service_name
from net.control.events import Status
from net.i18n import _, ngettext, number, pgettext, time_text

__all__ = ["budgets_table", "clients_table", "format_duration", "service_name",
           "status_text", "tls_summary"]


def tls_summary(s: Status) -> str:
    """``TLS: 3 of 4 chat connections; plain logins accepted``, for people."""
    share = ngettext("TLS: {tls} of {n} chat connection", "TLS: {tls} of {n} chat connections",
                     s.chat_connections).format(tls=number(s.tls_connections),
                                                n=number(s.chat_connections))
    mode = _("plain logins refused") if s.require_tls else _("plain logins accepted")
    return f"{share}; {mode}"


def format_duration(seconds: float) -> str:
    """``1h02m03s``, ``2m05s`` (``1 ч 02 мин 03 с``)."""
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return _("{h}h{m:02d}m{s:02d}s").format(h=h, m=m, s=s)
    return _("{m}m{s:02d}s").format(m=m, s=s)


def status_text(s: Status) -> str:
    """What ``status`` answers: ports, counts and uptime, and TLS if the chat runs."""
    if not s.running:
        return _("stopped")
    ports = "; ".join(
        (_("listening: {service} port {port}") if s.listening[name]
         else _("paused: {service} port {port}")).format(service=service_name(name),
                                                         port=port)
        for name, port in s.ports.items())
    counts = ", ".join([
        ngettext("{n} connection", "{n} connections", s.connections).format(
            n=number(s.connections)),
        ngettext("{n} user online", "{n} users online", s.online).format(
            n=number(s.online)),
        ngettext("{n} message since start", "{n} messages since start", s.messages).format(
            n=number(s.messages))])
    text = _("{ports}; {counts}; up {uptime}").format(
        ports=ports, counts=counts, uptime=format_duration(s.uptime))
    if s.tls_fingerprint:
        text += "\n" + tls_summary(s)
    return text


def clients_table(rows: list[dict]) -> str:
    """The ``clients`` table: name, address, since, via, TLS, messages."""
    if not rows:
        return _("no chat clients connected")
    name, address = pgettext("clients column", "name"), pgettext("clients column", "address")
    since, messages = pgettext("clients column", "since"), pgettext("clients column",
                                                                     "messages")
    via = pgettext("clients column", "via")
    logging_in = _("(logging in)")
    tls = pgettext("clients column", "TLS")
    yes, no = _("yes"), _("no")
    lines = [f"{name:20s} {address:24s} {since:8s} {via:5s} {tls:4s} {messages}"]
    for c in rows:
        since = time_text(datetime.fromtimestamp(c["since"]), seconds=True)
        lines.append(f"{c['name'] or logging_in:20s} {c['address']:24s} {since:8s} "
                     f"{service_name(c.get('via', 'chat')):5s} "
                     f"{yes if c.get('tls') else no:4s} {number(c['messages'])}")
    return "\n".join(lines)


def budgets_table(rows: list[tuple[str, str]]) -> str:
    """The budgets, one per line, the names in a column."""
    width = max(len(name) for name, _value in rows)
    return "\n".join(f"{name:{width}s}  {value}" for name, value in rows)
