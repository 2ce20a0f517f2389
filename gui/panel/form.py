"""The panel's services form made into a start request, without Tk: the
host and the echo, chat and IRC port fields (net/fields parses each: ASCII
digits only, bounded before conversion; 0 asks for any free port), or the
first field that is wrong and what to tell the user about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from net import fields
from net.chat.server import ChatOptions
from net.control.config import ServerConfig
from net.i18n import _

# The port fields in the order they are checked and shown.
PORT_FIELDS = ("echo_port", "chat_port", "irc_port")


def port_labels() -> dict[str, str]:
    """Each port field's label, in the language in force."""
    return {"echo_port": _("Echo port"), "chat_port": _("Chat port"),
            "irc_port": _("IRC port")}


def port_field(label: str, text: str) -> tuple[int | None, str]:
    """A port field: (port, "") or (None, "Chat port: 70000 is out of range (0-65535)").
    0 asks for any free port."""
    try:
        return fields.port(text, True, label), ""
    except fields.FieldError as e:
        return None, str(e)


@dataclass(frozen=True)
class Request:
    """A form that is fit to start: the ports as numbers, ready to remember."""

    host: str
    ports: dict[str, int]

    def config(self, require_tls: bool, new_certificate: bool = False) -> ServerConfig:
        return ServerConfig(host=self.host, echo_port=self.ports["echo_port"],
                            chat_port=self.ports["chat_port"],
                            irc_port=self.ports["irc_port"],
                            chat_options=ChatOptions(require_tls=require_tls,
                                                     new_certificate=new_certificate))


def read_form(host: str, ports: dict[str, str]) -> tuple[Request | None, str, str]:
    """(request, "", "") or (None, the field's key, the message for people)."""
    labels = port_labels()
    numbers: dict[str, int] = {}
    for key in PORT_FIELDS:
        number, problem = port_field(labels[key], ports.get(key, ""))
        if problem:
            return None, key, problem
        numbers[key] = number
    host = host.strip()
    if not host:
        return None, "host", _("Host: enter an address to listen on (0.0.0.0: every "
                               "interface; 127.0.0.1: this computer only)")
    taken: dict[int, str] = {}
    for key in PORT_FIELDS:
        port = numbers[key]
        if port and port in taken:
            if taken[port] == "echo_port" and key == "chat_port":
                message = _("Chat port: {port} is the echo port too; choose another").format(
                    port=port)
            else:
                message = _("{field}: {port} is in the field {other} too; choose "
                            "another").format(field=labels[key], port=port,
                                              other=labels[taken[port]])
            return None, key, message
        taken.setdefault(port, key)
    return Request(host, numbers), "", ""
