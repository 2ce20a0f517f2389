"""irctest's controller for netdesk: the external-server one, plus account registration.

irctest runs against the IRC port of a ``netdesk serve`` (named
``My.Little.Server``) that ``tests/test_irctest.py`` starts
(``--controller tests.irctest_controller``). The vendored suite stays as it
is; what netdesk adds is how an account is made: netdesk registers a new
name at its first login, so ``registerUser`` logs in once on the chat port
(``NETDESK_CHAT_PORT``), which makes the account that SASL then checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from irctest.controllers.external_server import ExternalServerController

from net.chat.accounts import Accounts
from net.chat.client import ChatConnection
from net.chat.server import USERS_FILE


class NetdeskController(ExternalServerController):
    software_name = "netdesk"

    def run(self, *args, **kwargs) -> None:
        """Each test starts with no accounts, as with a fresh server: names
        that one test registered are free for the guests of the next."""
        super().run(*args, **kwargs)
        accounts = Accounts(Path(os.environ["NETDESK_DATA_DIR"]) / USERS_FILE)
        try:
            accounts.clear()
        finally:
            accounts.close()

    def wait_for_services(self) -> None:
        pass  # netdesk's accounts are the services: nothing else to wait for

    def registerUser(self, case, username: str, password: str | None = None) -> None:
        conn = ChatConnection(timeout=10)
        try:
            conn.connect(os.environ["IRCTEST_SERVER_HOSTNAME"],
                         int(os.environ["NETDESK_CHAT_PORT"]))
            conn.login(username, password or "irctest-password")
        finally:
            conn.close()


def get_irctest_controller_class() -> type[NetdeskController]:
    return NetdeskController
