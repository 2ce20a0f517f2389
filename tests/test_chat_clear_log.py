"""The log line of clearing the identification file counts its accounts in
English words, one or many ("1 account", "2 accounts"), through a real
server on loopback."""

from __future__ import annotations

import logging

import pytest

from net.chat.client import ChatConnection


def register(server, *names: str) -> None:
    """Each name registered by logging in once over a real connection."""
    for name in names:
        connection = ChatConnection(timeout=10, tls=False)
        try:
            connection.connect(*server.address)
            connection.login(name, "pw")
        finally:
            connection.close()


@pytest.mark.parametrize("names, words", [
    (("alice",), "(1 account)"),
    (("alice", "bob"), "(2 accounts)"),
    ((), "(0 accounts)"),
])
def test_clearing_the_file_logs_its_accounts_in_words(make_server, caplog, names, words):
    server = make_server()
    register(server, *names)
    with caplog.at_level(logging.WARNING, logger="netdesk.chat"):
        assert server.clear_users() == len(names)
    [record] = [r for r in caplog.records if "identification file cleared" in r.getMessage()]
    assert words in record.getMessage() and "(s)" not in record.getMessage()
    assert record.args and record.args[0] == len(names)  # lazy %-style arguments, still
