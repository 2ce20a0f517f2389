"""The chat's words are cased by the one ``sentence`` in ``net.i18n``: no
copy of it lives in ``gui/chat`` (no display needed)."""

from __future__ import annotations

import ast
from pathlib import Path

from gui.chat import events, login_request, wording
from net import i18n

CHAT = Path(__file__).parent.parent / "gui" / "chat"


def test_the_chat_uses_the_one_sentence_of_net_i18n():
    for module in (wording, events, login_request):
        assert module.sentence is i18n.sentence, module.__name__


def test_no_module_of_the_chat_defines_its_own_sentence():
    for path in sorted(CHAT.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = [node.name for node in ast.walk(tree)
                   if isinstance(node, ast.FunctionDef) and node.name == "sentence"]
        assert not defined, f"{path.name} defines its own sentence()"


def test_the_chat_words_a_refused_login_as_before():
    assert wording.login_message("new_code", "something new", "bob") == \
        "The server refused the login: the server said: something new (new_code)."
    assert i18n.sentence("  the server is gone ") == "The server is gone."
    assert i18n.sentence("wait…") == "Wait…" and i18n.sentence(" ") == ""
