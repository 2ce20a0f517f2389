"""What the controller starts: hosts, ports and options of every service."""

from __future__ import annotations

from dataclasses import dataclass, field

from net.budgets import Budgets
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.chat.server import ChatOptions
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.irc.server import DEFAULT_PORT as IRC_PORT
from net.irc.server import IrcOptions


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"
    echo_port: int = ECHO_PORT
    chat_port: int | None = CHAT_PORT  # None: the chat service is not run
    chat_options: ChatOptions = field(default_factory=ChatOptions)
    irc_port: int | None = IRC_PORT  # None: no IRC gateway (it needs the chat service)
    irc_options: IrcOptions = field(default_factory=IrcOptions)
    budgets: Budgets = field(default_factory=Budgets)  # for every service
