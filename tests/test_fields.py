"""net/fields.py: every number a person types is ASCII digits, bounded
before it is converted, and refused with one wording (no display needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from net import fields
from net.fields import FieldError

NOT_PORTS = ["²", "¹²³", "１２３", "٣", "1_000", "-1", "+80", "8 0", "0x50", "80.0", "", "   "]


@pytest.mark.parametrize("text", NOT_PORTS)
def test_what_is_not_ascii_digits_is_no_port(text):
    with pytest.raises(FieldError):
        fields.port(text)


def test_five_thousand_digits_are_out_of_range_not_a_crash():
    # int() of more than 4,300 digits raises a ValueError of its own.
    with pytest.raises(FieldError, match="out of range"):
        fields.port("9" * 5000)
    with pytest.raises(FieldError, match="out of range"):
        fields.whole_number("9" * 5000, 1, 10)
    with pytest.raises(FieldError, match="out of range"):
        fields.port_list("1-" + "9" * 5000)


def test_the_message_names_the_field_and_the_range():
    with pytest.raises(FieldError) as e:
        fields.port("70000", allow_zero=True, field="Chat port")
    assert str(e.value) == "Chat port: 70000 is out of range (0-65535)"
    with pytest.raises(FieldError) as e:
        fields.port("0")
    assert str(e.value) == "port: 0 is out of range (1-65535)"
    with pytest.raises(FieldError) as e:
        fields.port("²", field="Port")
    assert str(e.value) == "Port: '²' is not a port number (1-65535)"
    with pytest.raises(FieldError) as e:
        fields.port("", allow_zero=True, field="Echo port")
    assert str(e.value) == "Echo port: enter a port number (0-65535)"


def test_leading_zeros_and_spaces_around_are_fine():
    assert fields.port(" 0080 ") == 80
    assert fields.port("0", allow_zero=True) == 0
    assert fields.port("00000000000000000000000443") == 443


@given(st.text(max_size=12))
def test_port_either_returns_a_port_or_raises_field_error(text):
    try:
        value = fields.port(text, allow_zero=True)
    except FieldError:
        return
    assert 0 <= value <= 65535
    assert text.strip().isascii()


@pytest.mark.parametrize("value, expected", [
    (9091, 9091), ("9091", 9091), ("²", None), ("9" * 5000, None), (True, None),
    (None, None), ([80], None), (70000, None), (-5, None), ("x" * 10_000, None),
])
def test_a_remembered_port_is_a_port_or_forgotten(value, expected):
    assert fields.port_or_none(value) == expected


def test_hosts_with_spaces_or_controls_are_refused():
    assert fields.host("  example.test ") == "example.test"
    for bad in ("", "   ", "exa mple.test", "host\tname", "a\x00b", "x" * 300):
        with pytest.raises(FieldError):
            fields.host(bad)


def test_port_lists_merge_and_refuse_with_the_same_rules():
    assert fields.port_list("3,1-3, 2") == [1, 2, 3]
    for bad, words in (("80,,81", "empty item"), ("5-1", "backwards"), ("0", "out of range"),
                       ("²", "not a port"), ("１２３", "not a port")):
        with pytest.raises(FieldError, match=words):
            fields.port_list(bad)


def test_whole_numbers_share_the_rules():
    assert fields.whole_number("0010", 1, 100) == 10
    for bad in ("٣", "１２", "-3", "1e3", ""):
        with pytest.raises(FieldError, match="not a whole number"):
            fields.whole_number(bad, 1, 100)
