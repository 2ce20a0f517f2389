"""The scanner's form checks with no display: the ports and threads fields
refuse what only looks like a number (``²``, full-width ``１２３``, 5,000
digits) with a message, never an exception."""

from __future__ import annotations

import pytest

from gui.scanner import form

BAD_NUMBERS = ["²", "１２３", "9" * 5000, "1_0", "٣", "-1", "0", "2049"]


def text(**fields) -> form.FormText:
    values = {"targets": "127.0.0.1", "ports": "1-10", "threads": "", "timeout": "1",
              "strategy": "fast"} | fields
    return form.FormText(**values)


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_a_bad_thread_count_is_a_message(bad):
    request, problems = form.check(text(threads=bad))
    assert request is None and list(problems) == ["threads"]
    assert problems["threads"] == "a number from 1 to 2048, or blank"


@pytest.mark.parametrize("good, threads", [("1", 1), (" 2048 ", 2048), ("007", 7), ("", None)])
def test_a_good_thread_count_passes(good, threads):
    request, problems = form.check(text(threads=good))
    assert problems == {} and request is not None and request.threads == threads


@pytest.mark.parametrize("bad", ["²", "１２３", "9" * 5000])
def test_a_bad_port_is_a_message(bad):
    request, problems = form.check(text(ports=bad))
    assert request is None and list(problems) == ["ports"]
    assert problems["ports"] and len(problems["ports"]) < 100
    assert form.port_count(bad) == 0
