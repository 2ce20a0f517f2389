"""The v1.1 name rules (PROTOCOL.md section 2, "Session" point 2): net/chat/names.py.

Examples are written with escapes where a lookalike would hide what is being
tested: ``\\u0430`` is CYRILLIC SMALL LETTER A, not Latin ``a``.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from net.chat import _names_data, names
from net.chat.names import canonical, name_problem, single_script, skeleton
from net.chat.protocol import NAME_MAX

CYR_A, CYR_I, CYR_O = "\u0430", "\u0456", "\u043e"  # а, і (Ukrainian), о


@pytest.mark.parametrize("name", [
    "Ivan", "\u0418\u0432\u0430\u043d",  # Иван
    "user_1.a-b", "\u674e\u5c0f\u9f99",  # 李小龙
    "Jos\u00e9", "a", "x" * NAME_MAX, "007", "_a", "Ελληνικά",
    "\u3072\u3089\u304c\u306a\u30ab\u30bf\u30ab\u30ca\u6f22\u5b57",  # Japanese: Hira+Kana+Han
    "\ud55c\uad6d\uc5b4\u6f22\u5b57",  # Korean: Hangul+Han
    "\u30e9\u30fc\u30e1\u30f3",  # ラーメン: ー is Common in Script, Hira/Kana in scx
    "\u0661\u0662\u0663",  # Arabic-Indic digits alone
])
def test_acceptable_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", [
    CYR_A + "dmin",  # Cyrillic а + Latin: mixed scripts
    "p" + CYR_A + "ypal",
    "Ivan\u0430",
    "abc\u03b1",  # Latin + Greek
    "\u0661\u0662abc",  # Arabic-Indic digits belong to Arabic (scx), not Common
    "a\u30fc",  # Latin + the kana-only prolonged sound mark
    "___", "-", ".", "._-",  # punctuation only
    "", "x" * (NAME_MAX + 1),
    "a b", "a@b", "a\u200bb", "a\u00adb",  # space, symbol, zero-width space, soft hyphen
    "\u00bd",  # ½: NFKC gives 1⁄2, and ⁄ is no name character
    "\U0001f600",  # an emoji
    "ab\ud800", "\udfff",  # lone surrogates, as a JSON escape can deliver them
    "e\u0301" * (NAME_MAX + 1),  # composes to 33 x é: too long after NFKC
])
def test_bad_names(name):
    assert name_problem(name) == "bad_name"


@pytest.mark.parametrize("value", [None, 5, b"admin", ["admin"], {"n": "admin"}])
def test_a_name_must_be_a_string(value):
    assert name_problem(value) == "bad_name"


def test_length_counts_after_nfkc():
    # 32 letters each with a combining accent: 64 code points as sent, 32 after NFKC.
    name = "e\u0301" * NAME_MAX
    assert len(name) == 2 * NAME_MAX
    assert name_problem(name) is None
    # NFKC can also lengthen: U+FB03 (ﬃ) is three letters.
    assert name_problem("\ufb03" * 11) == "bad_name"
    assert name_problem("\ufb03" * 10) is None


def test_huge_input_is_refused_without_normalising():
    assert name_problem("a" * 100_000) == "bad_name"


@pytest.mark.parametrize("variant", [
    "\uff41\uff44\uff4d\uff49\uff4e",  # ａｄｍｉｎ fullwidth
    "\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427",  # 𝐚𝐝𝐦𝐢𝐧 mathematical bold
    "admin",
])
def test_compatibility_forms_canonicalise_to_plain_letters(variant):
    assert canonical(variant) == "admin"
    assert name_problem(variant) is None


def test_canonical_composes():
    assert canonical("Jose\u0301") == "Jos\u00e9"


@pytest.mark.parametrize("lookalike", [
    CYR_A + "dm" + CYR_I + "n",  # аdmіn: mixed, refused by name_problem, but still alike
    "adrnin",  # rn -> m is in confusables.txt
    "Admin",
    "\uff41\uff44\uff4d\uff49\uff4e",
])
def test_lookalikes_of_admin_share_its_skeleton(lookalike):
    assert skeleton(canonical(lookalike)) == skeleton("admin")


def test_single_script_cyrillic_lookalike():
    # "рор" is all Cyrillic (р, о, р), so it passes name_problem; only the
    # skeleton shows it is Latin "pop" in disguise.
    cyrillic = "\u0440" + CYR_O + "\u0440"
    assert name_problem(cyrillic) is None
    assert skeleton(cyrillic) == skeleton("pop")
    # The same for a whole Cyrillic "асе" against Latin "ace".
    assert name_problem(CYR_A + "\u0441\u0435") is None
    assert skeleton(CYR_A + "\u0441\u0435") == skeleton("ace")


def test_skeleton_is_caseless_after_mapping():
    # Capital I and small L are drawn alike: the mapping makes both l.
    assert skeleton("Ivan") == skeleton("lvan")
    assert skeleton("Bob") == skeleton("bob") == skeleton("BOB")
    assert skeleton("0scar") == skeleton("Oscar")


@pytest.mark.parametrize("a, b", [
    ("admin", "admins"), ("alice", "bob"), ("Ivan", "\u0418\u0432\u0430\u043d"),
    ("user1", "user2"), ("\u674e\u5c0f\u9f99", "\u674e\u5c0f\u864e"),
    ("Jos\u00e9", "Jose"),  # an accent is not a lookalike in TR39
])
def test_different_names_have_different_skeletons(a, b):
    assert skeleton(a) != skeleton(b)


def test_single_script_treats_common_and_inherited_as_any_script():
    assert single_script("123_-.")
    assert single_script("abc123")
    assert single_script("\u0438\u0306")  # и + combining breve (Inherited)
    assert not single_script("a" + CYR_A)


def test_letters_newer_than_the_tables_are_refused(monkeypatch):
    # Pretend the tables do not know Latin at all: a letter without script
    # data must not pass as "any script".
    starts, sets = names._script_table()
    unknown = tuple(frozenset() if s is not None and "Latn" in s else s for s in sets)
    monkeypatch.setattr(names, "_script_table", lambda: (starts, unknown))
    assert name_problem("abc") == "bad_name"
    assert name_problem("123") is None


def test_tables_are_well_formed():
    assert _names_data.UNICODE_VERSION == "15.0.0"
    starts = _names_data.RANGE_STARTS
    assert starts[0] == 0 and list(starts) == sorted(set(starts))
    assert len(starts) == len(_names_data.RANGE_SETS)
    assert max(_names_data.RANGE_SETS) < len(_names_data.SCRIPT_SETS)
    # Spot checks against the Unicode files.
    assert _names_data.CONFUSABLES[ord(CYR_A)] == "a"
    assert _names_data.CONFUSABLES[ord("m")] == "rn"
    assert _names_data.CONFUSABLES[ord("I")] == "l"


def test_mapped_characters_are_whole_code_points():
    # str.translate wants int keys; a str key would silently never match.
    assert all(isinstance(k, int) for k in _names_data.CONFUSABLES)


@given(st.text(max_size=40))
def test_name_problem_never_raises_and_accepts_only_valid_shapes(text):
    problem = name_problem(text)
    assert problem in (None, "bad_name")
    if problem is None:
        name = canonical(text)
        assert 1 <= len(name) <= NAME_MAX
        assert set(name) - set("_-.")
        assert all(c in "_-." or unicodedata.category(c) in names.NAME_CATEGORIES
                   for c in name)
        skeleton(name)  # never raises on an accepted name


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_canonical_is_idempotent(text):
    assert canonical(canonical(text)) == canonical(text)
