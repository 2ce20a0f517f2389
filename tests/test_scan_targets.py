"""Scan target lists (net/scan/targets.py): every form, order, repeats, errors.

No packets: names go through an injected resolver, except "localhost" and a
".invalid" name, which the machine answers itself.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net.scan.targets import (
    FILE_MAX_BYTES,
    FILE_MAX_LINES,
    ITEM_MAX,
    MAX_HOSTS_DEFAULT,
    MAX_HOSTS_LIMIT,
    TEXT_MAX,
    Target,
    TargetError,
    count_hosts,
    parse_targets,
    read_target_file,
    split_targets,
)

V4, V6 = socket.AF_INET, socket.AF_INET6


def fake_resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    """A getaddrinfo stand-in answering from ``table`` (name -> addresses)."""
    def resolve(name, port, type=0):
        assert port is None and type == socket.SOCK_STREAM
        if calls is not None:
            calls.append(name)
        if name not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for address in table[name]:
            if ":" in address:
                infos.append((V6, socket.SOCK_STREAM, 6, "", (address, 0, 0, 0)))
            else:
                infos.append((V4, socket.SOCK_STREAM, 6, "", (address, 0)))
        return infos
    return resolve


def no_resolver(name, port, type=0):
    raise AssertionError(f"resolved {name!r}")


def addresses(items, **kw) -> list[str]:
    kw.setdefault("resolve", no_resolver)
    return [t.address for t in parse_targets(items, **kw)]


def v4_range(first: str, last: str) -> list[str]:
    low, high = int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last))
    return [str(ipaddress.IPv4Address(i)) for i in range(low, high + 1)]


# -- splitting -----------------------------------------------------------------
@pytest.mark.parametrize("text, items", [
    ("10.200.1.1", ["10.200.1.1"]),
    ("10.200.1.1 10.200.1.2", ["10.200.1.1", "10.200.1.2"]),
    ("10.200.1.1,10.200.1.2", ["10.200.1.1", "10.200.1.2"]),
    (" ,10.200.1.1 ,, ,\t10.200.1.2\n localhost, ", ["10.200.1.1", "10.200.1.2", "localhost"]),
    ("", []),
    (" , ,", []),
])
def test_split_targets(text, items):
    assert split_targets(text) == items


def test_split_targets_is_bounded():
    with pytest.raises(TargetError, match="too long"):
        split_targets("1" * (TEXT_MAX + 1))


# -- IPv4 forms ------------------------------------------------------------------
def test_one_address():
    assert parse_targets("10.200.1.7") == [Target("10.200.1.7", "10.200.1.7", V4)]


def test_cidr_includes_network_and_broadcast():
    got = addresses("10.200.1.0/24")
    assert got == v4_range("10.200.1.0", "10.200.1.255")
    assert addresses("10.200.1.7/32") == ["10.200.1.7"]
    assert addresses("10.200.1.6/31") == ["10.200.1.6", "10.200.1.7"]


def test_cidr_masks_host_bits_like_nmap():
    assert addresses("10.200.1.77/30") == v4_range("10.200.1.76", "10.200.1.79")


def test_octet_ranges():
    assert addresses("10.200.1.1-4") == v4_range("10.200.1.1", "10.200.1.4")
    assert addresses("10.200.1-2.1-2") == ["10.200.1.1", "10.200.1.2",
                                           "10.200.2.1", "10.200.2.2"]
    assert addresses("10.200.1.5-5") == ["10.200.1.5"]
    assert addresses("10.200.1.*") == v4_range("10.200.1.0", "10.200.1.255")
    assert addresses("10.200.*.1") == [f"10.200.{i}.1" for i in range(256)]


def test_whole_range_across_octets():
    assert addresses("10.200.1.250-10.200.2.5") == v4_range("10.200.1.250", "10.200.2.5")
    assert addresses("10.200.1.9-10.200.1.9") == ["10.200.1.9"]


def test_targets_of_addresses_are_named_by_the_address():
    for t in parse_targets("10.200.1.1-2 [::1]"):
        assert t.name == t.address


# -- IPv6 forms ------------------------------------------------------------------
def test_ipv6_bare_and_in_brackets():
    assert parse_targets("::1") == [Target("::1", "::1", V6)]
    assert parse_targets("[::1]") == [Target("::1", "::1", V6)]
    # Written any way, the address comes out in its one short form.
    assert addresses("0:0:0:0:0:0:0:1 [2001:DB8::0:7]") == ["::1", "2001:db8::7"]


def test_ipv6_blocks():
    assert addresses("::1/128") == ["::1"]
    assert addresses("[::1]/128") == ["::1"]
    assert addresses("2001:db8::/126") == ["2001:db8::", "2001:db8::1",
                                           "2001:db8::2", "2001:db8::3"]
    assert addresses("2001:db8::5/126") == addresses("2001:db8::4/126")
    assert count_hosts("2001:db8::/120") == 256
    assert len(addresses("2001:db8::/112")) == 65536


def test_ipv6_zone_passes_through_on_one_address():
    assert parse_targets("fe80::1%lo") == [Target("fe80::1%lo", "fe80::1%lo", V6)]
    # Same address on another link: another target.
    assert addresses("fe80::1%lo fe80::1%eth0 fe80::1") == ["fe80::1%lo", "fe80::1%eth0",
                                                              "fe80::1"]


# -- host names ------------------------------------------------------------------
def test_name_resolves_to_one_address_ipv4_first():
    resolve = fake_resolver({"both.invalid": ["2001:db8::9", "10.200.1.9", "10.200.1.10"],
                             "six.invalid": ["2001:db8::6", "2001:db8::7"]})
    assert parse_targets("both.invalid six.invalid", resolve=resolve) == [
        Target("both.invalid", "10.200.1.9", V4),
        Target("six.invalid", "2001:db8::6", V6)]


def test_name_keeps_how_it_was_written():
    resolve = fake_resolver({"Web.Example.invalid.": ["10.200.1.80"]})
    assert parse_targets("Web.Example.invalid.", resolve=resolve) == [
        Target("Web.Example.invalid.", "10.200.1.80", V4)]


def test_each_name_is_resolved_once():
    calls: list[str] = []
    resolve = fake_resolver({"a.invalid": ["10.200.1.1"]}, calls)
    assert addresses("a.invalid a.invalid,a.invalid", resolve=resolve) == ["10.200.1.1"]
    assert calls == ["a.invalid"]


def test_localhost_resolves_on_loopback():
    [target] = parse_targets("localhost")
    assert target.name == "localhost"
    assert ipaddress.ip_address(target.address).is_loopback
    assert target.family == (V4 if "." in target.address else V6)


def test_unknown_host():
    with pytest.raises(TargetError, match=r"unknown host 'no-such-host\.invalid' \(.+\)"):
        parse_targets("no-such-host.invalid")
    with pytest.raises(TargetError, match=r"^unknown host 'x\.invalid' \(Name or service"):
        parse_targets("10.200.1.1 x.invalid", resolve=fake_resolver({}))


def test_resolver_with_no_usable_address():
    def unix_only(name, port, type=0):
        return [(socket.AF_UNIX, socket.SOCK_STREAM, 0, "", "/tmp/x")]
    with pytest.raises(TargetError, match="unknown host 'odd.invalid'"):
        parse_targets("odd.invalid", resolve=unix_only)


@pytest.mark.parametrize("name", ["a..invalid", "x" * 64 + ".invalid", "bad\u200b\x07.invalid"])
def test_invalid_host_names(name):
    with pytest.raises(TargetError, match="is not a valid host name"):
        parse_targets(name, resolve=no_resolver)


def test_resolver_unicode_error_is_an_invalid_name():
    def picky(name, port, type=0):
        raise UnicodeError("label too long")
    with pytest.raises(TargetError, match="^'a.invalid' is not a valid host name$"):
        parse_targets("a.invalid", resolve=picky)


# -- order and repeats ------------------------------------------------------------
def test_order_written_each_item_ascending():
    resolve = fake_resolver({"h.invalid": ["10.200.9.9"]})
    got = addresses("10.200.5.1-2 h.invalid 10.200.1.0/31 ::1 10.200.3.3", resolve=resolve)
    assert got == ["10.200.5.1", "10.200.5.2", "10.200.9.9", "10.200.1.0", "10.200.1.1",
                   "::1", "10.200.3.3"]


def test_an_address_twice_is_scanned_once_under_the_first_name():
    resolve = fake_resolver({"localhost": ["127.0.0.1"]})
    assert parse_targets("127.0.0.1 localhost", resolve=resolve) == [
        Target("127.0.0.1", "127.0.0.1", V4)]
    assert parse_targets("localhost 127.0.0.1", resolve=resolve) == [
        Target("localhost", "127.0.0.1", V4)]
    assert parse_targets("[::1] ::1 ::1/128") == [Target("::1", "::1", V6)]


def test_overlapping_ranges_are_scanned_once():
    got = addresses("10.200.1.2-5 10.200.1.0/29 10.200.1.4-10.200.1.9")
    assert got == ["10.200.1.2", "10.200.1.3", "10.200.1.4", "10.200.1.5",
                   "10.200.1.0", "10.200.1.1", "10.200.1.6", "10.200.1.7",
                   "10.200.1.8", "10.200.1.9"]
    assert len(got) == len(set(got))


def test_a_list_of_texts_is_split_too():
    assert addresses(["10.200.1.1,10.200.1.2", " ", "10.200.1.3 10.200.1.4"]) == \
        v4_range("10.200.1.1", "10.200.1.4")
    assert addresses(("10.200.1.1",)) == ["10.200.1.1"]


# -- errors -------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("", "no target given"),
    (" , ", "no target given"),
    ("10.200.1.300", r"'10.200.1.300': number '300' is out of range \(0-255\)"),
    ("10.200.1.99999999999999999999", "out of range"),
    ("10.200.1.40-1", r"'10.200.1.40-1' runs backwards .*write 1-40"),
    ("10.200.2.5-10.200.1.250", "runs backwards"),
    ("10.200.1.0/33", r"prefix length '33' is out of range \(0-32\)"),
    ("10.200.1.0/", "'10.200.1.0/'.*not a prefix length"),
    ("10.200.1.0/2/4", "not a prefix length"),
    ("10.200.1.1-4/24", "a /prefix goes after a single address"),
    ("1.2.3", "'1.2.3' is not an IPv4 address: it needs four numbers"),
    ("1.2.3.4.5", "needs four numbers"),
    ("2130706433", "needs four numbers"),
    ("10.200..1", "empty number"),
    ("10.200.1.", "empty number"),
    ("10.200.1.1-", "empty number"),
    ("10.200.1.1*", "not a number"),
    ("10.200.1.1-10.200.1", "needs four numbers"),
    ("010.200.1.1", "leading zero"),
    ("10.200.1.07", "leading zero"),
    ("0x7f.0.0.1", "neither an IPv4 address"),
    ("0x7f000001", "neither an IPv4 address"),
    ("10.200.1.1a", "unknown host '10.200.1.1a'"),  # a name, if an odd one
    ("\u00b2.1.1.1", "neither an IPv4 address"),  # superscript two
    ("\uff11\uff10.200.1.1", "neither an IPv4 address"),  # full-width "10"
    ("10\u3002200\u30021\u30021", "neither an IPv4 address"),  # ideographic full stops
    ("10.200.1.\u0661", "neither an IPv4 address"),  # Arabic-Indic one
    ("10.200.1.0/\u0662\u0664", "prefix"),
    ("::1/129", r"prefix length '129' is out of range \(0-128\)"),
    ("::1::2", "'::1::2' is not an IPv6 address"),
    ("::g", "is not an IPv6 address"),
    ("[::1", "is not an IPv6 address like"),
    ("[::1]x", "is not an IPv6 address like"),
    ("[::1]:80", "ports go in the port list"),
    ("localhost:80", "ports go in the port list"),
    ("[10.200.1.1]", "brackets are only for IPv6"),
    ("[localhost]", "brackets are only for IPv6"),
    ("[]", "brackets are only for IPv6"),
    ("::1-::5", "IPv6 ranges aren't supported"),
    ("fe80::1%lo/64", "a zone like %eth0 goes on a single address"),
    ("fe80::1%", "'fe80::1%' has no zone like %eth0 after the %"),
    ("fe80::1%e:0", "no zone like"),
    ("fe80::1%eth/0", "a zone like %eth0 goes on a single address"),
    ("fe80::1%a b", "unknown host 'b'"),  # two items: "fe80::1%a" and "b"
    ("\uff1a\uff1a1", "is not a valid host name"),  # full-width colons: "::1" to IDNA
    ("a*.invalid", "is not a valid host name"),
    ("localhost/24", "a /prefix goes after an address, not a name"),
    ("-sS", "looks like an option"),
    ("0.0.0.0", "includes 0.0.0.0, the unspecified address"),
    ("0.0.0.0/24", "includes 0.0.0.0"),
    ("0.0.0.0-10", "includes 0.0.0.0"),
    ("0.0.0.0-0.0.0.3", "includes 0.0.0.0"),
    ("0.0.*.*", "includes 0.0.0.0"),
    ("::", "includes ::, the unspecified address"),
    ("[::]", "includes ::"),
    ("::/120", "includes ::"),
])
def test_bad_items(text, message):
    with pytest.raises(TargetError, match=message) as info:
        parse_targets(text, resolve=fake_resolver({}))
    assert "\n" not in str(info.value)


def test_the_first_bad_item_is_named_and_nothing_is_resolved():
    with pytest.raises(TargetError, match="10.200.1.256"):
        parse_targets("a.invalid 10.200.1.1 10.200.1.256 10.200.1.300", resolve=no_resolver)


def test_a_long_item_is_cut_short_in_the_message():
    item = "10.200.1.1" + "-1" * 100
    with pytest.raises(TargetError) as info:
        parse_targets(item)
    message = str(info.value)
    assert "..." in message and len(message) < 120


def test_item_and_list_are_bounded():
    with pytest.raises(TargetError, match=f"too long \\(at most {ITEM_MAX}"):
        parse_targets("a" * (ITEM_MAX + 1) + ".invalid", resolve=no_resolver)
    with pytest.raises(TargetError, match="target list too long"):
        parse_targets("10.200.1.1 " * (TEXT_MAX // 11 + 1))
    with pytest.raises(TargetError, match="target list too long"):
        parse_targets(["10.200.1.1"] * (TEXT_MAX // 10 + 1))
    with pytest.raises(TargetError, match="target list too long"):
        count_hosts(["10.200.1.1"] * (TEXT_MAX // 10 + 1))


@pytest.mark.parametrize("items", [None, 7, b"10.200.1.1", ["10.200.1.1", None]])
def test_not_text(items):
    with pytest.raises(TargetError, match="must be text"):
        parse_targets(items)


def test_messages_show_control_characters_escaped():
    with pytest.raises(TargetError) as info:
        parse_targets("bad\x1b[31m.invalid", resolve=no_resolver)
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)


def test_a_name_resolving_to_the_unspecified_address_is_refused():
    # Ad-blocking hosts files map names to 0.0.0.0, which connects to this machine.
    resolve = fake_resolver({"ads.invalid": ["0.0.0.0"], "ads6.invalid": ["::"]})
    with pytest.raises(TargetError, match="'ads.invalid' resolves to 0.0.0.0"):
        parse_targets("ads.invalid", resolve=resolve)
    with pytest.raises(TargetError, match="'ads6.invalid' resolves to ::"):
        parse_targets("ads6.invalid", resolve=resolve)


def test_a_resolver_answer_that_is_no_address():
    def odd(name, port, type=0):
        return [(V4, socket.SOCK_STREAM, 6, "", ("not-an-address", 0))]
    with pytest.raises(TargetError, match="resolved to 'not-an-address'"):
        parse_targets("odd.invalid", resolve=odd)


# -- max hosts ------------------------------------------------------------------------
def test_count_hosts_without_expanding():
    assert count_hosts("10.200.0.0/8") == 1 << 24
    assert count_hosts(["10.200.0.0/16", "127.0.0.1"]) == 65537
    assert count_hosts("*.*.*.*") == 1 << 32
    assert count_hosts("::/0") == 1 << 128
    assert count_hosts("10.200.1-2.1-40 localhost ::1/120") == 80 + 1 + 256
    assert count_hosts("10.200.1.250-10.200.2.5") == 12
    assert count_hosts("fe80::1%lo fe80::1%eth0 fe80::1") == 3


def test_count_hosts_counts_an_address_once():
    assert count_hosts("10.200.1.0/24 10.200.1.0/24") == 256
    assert count_hosts("10.200.1.1-40 10.200.1.0/24 10.200.1.255") == 256
    assert count_hosts("10.200.1-2.* 10.200.2.0-10.200.3.0") == 513
    assert count_hosts("::1 [::1] ::1/128") == 1
    assert count_hosts("localhost localhost 127.0.0.1") == 2  # a name is not looked up
    # Octet ranges with gaps are counted as written: an upper bound.
    assert count_hosts("10.200.1-2.1-40 10.200.1-2.1-40") == 160
    assert count_hosts("10.200.1-2.1-40 10.200.1.1") == 81


@pytest.mark.parametrize("text, count", [
    ("10.200.0.0/8", 1 << 24),
    ("::/0", 1 << 128),
    ("*.*.*.*", 1 << 32),
    ("0.0.0.0/0", 1 << 32),  # too many comes first, then the unspecified address
    ("10.200.0.0/16 127.0.0.1", 65537),
])
def test_too_many_hosts_fails_before_expanding(text, count):
    # The resolver is never asked: the count comes before any name is resolved.
    with pytest.raises(TargetError, match=f"^{count} hosts is more than --max-hosts "
                                          f"{MAX_HOSTS_DEFAULT}$"):
        parse_targets(text, resolve=no_resolver)
    with pytest.raises(TargetError, match="max-hosts"):
        parse_targets(text + " slow.invalid", resolve=no_resolver)


def test_max_hosts_is_inclusive():
    assert len(parse_targets("10.200.1.0/24", max_hosts=256)) == 256
    with pytest.raises(TargetError, match="257 hosts is more than --max-hosts 256"):
        parse_targets("10.200.1.0/24 10.200.2.1", max_hosts=256)
    assert len(parse_targets("10.200.0.0/16")) == MAX_HOSTS_DEFAULT
    # The same hosts twice are not more hosts.
    assert len(parse_targets("10.200.1.0/24 10.200.1.7 10.200.1.0-10.200.1.255",
                             max_hosts=256)) == 256


@pytest.mark.parametrize("max_hosts", [0, -1, MAX_HOSTS_LIMIT + 1, 2.5, True, "10", None])
def test_bad_max_hosts(max_hosts):
    with pytest.raises(TargetError, match="--max-hosts must be between 1 and"):
        parse_targets("10.200.1.1", max_hosts=max_hosts)


# -- target files (-iL) ---------------------------------------------------------------
def test_target_file(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_text("# the lab\n"
                    "10.200.1.1\n"
                    "\n"
                    "   \t\n"
                    "10.200.1.2 10.200.1.3,10.200.1.4   # two routers\n"
                    "#10.200.1.5\n"
                    "::1\r\n"
                    "localhost", encoding="utf-8")
    items = read_target_file(str(path))
    assert items == ["10.200.1.1", "10.200.1.2", "10.200.1.3", "10.200.1.4", "::1", "localhost"]
    resolve = fake_resolver({"localhost": ["127.0.0.1"]})
    assert addresses(items, resolve=resolve)[-2:] == ["::1", "127.0.0.1"]


def test_target_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbf10.200.1.1\n")
    assert read_target_file(path) == ["10.200.1.1"]


def test_empty_target_file_gives_no_target(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# nothing yet\n\n", encoding="utf-8")
    assert read_target_file(str(path)) == []
    with pytest.raises(TargetError, match="no target given"):
        parse_targets(read_target_file(str(path)))


def test_target_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(TargetError, match="target file '.*missing.txt' does not exist"):
        read_target_file(str(missing))
    with pytest.raises(TargetError, match="is a directory"):
        read_target_file(str(tmp_path))
    binary = tmp_path / "a.out"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    with pytest.raises(TargetError, match="'.*a.out' is not a text file"):
        read_target_file(str(binary))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("10.200.1.1 caf\u00e9.invalid\n".encode("latin-1"))
    with pytest.raises(TargetError, match="'.*latin1.txt' is not UTF-8 text"):
        read_target_file(str(latin1))
    with pytest.raises(TargetError, match="can't be read"):
        read_target_file(str(tmp_path / "nul\0.txt"))


def test_target_file_is_bounded(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"#" * (FILE_MAX_BYTES + 1))
    with pytest.raises(TargetError, match="'.*big.txt' is too big"):
        read_target_file(str(big))
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"\n" * (FILE_MAX_LINES + 1))
    with pytest.raises(TargetError, match="'.*lines.txt' has too many lines"):
        read_target_file(str(lines))
    just = tmp_path / "just.txt"
    just.write_bytes(b"::1\n" * FILE_MAX_LINES)
    assert addresses(read_target_file(str(just))) == ["::1"]


# -- the two counts agree ------------------------------------------------------------
octet = st.one_of(
    st.integers(0, 255).map(str),
    st.tuples(st.integers(0, 255), st.integers(0, 30)).map(
        lambda p: f"{p[0]}-{min(255, p[0] + p[1])}"),
)


@settings(max_examples=200, deadline=None)
@given(st.tuples(octet, octet).map(lambda p: f"10.200.{p[0]}.{p[1]}"))
def test_octet_ranges_match_a_plain_expansion(item):
    *_, third, fourth = item.split(".")

    def span(part):
        low, _, high = part.partition("-")
        return range(int(low), int(high or low) + 1)

    expected = [f"10.200.{c}.{d}" for c in span(third) for d in span(fourth)]
    assert addresses(item, max_hosts=MAX_HOSTS_DEFAULT) == expected
    assert count_hosts(item) == len(expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, (1 << 16) - 1), st.integers(20, 32))
def test_cidr_matches_ipaddress(offset, prefix):
    address = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.200.0.0")) + offset)
    network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
    assert addresses(f"{address}/{prefix}") == [str(a) for a in network]
    assert count_hosts(f"{address}/{prefix}") == network.num_addresses
