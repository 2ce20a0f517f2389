"""Keep netdesk's translations: extract, update, compile, check (needs Babel).

    python tools/i18n.py update     # extract every message, merge it into each .po
    (translate the new entries in net/locale/<lang>/LC_MESSAGES/netdesk.po)
    python tools/i18n.py compile    # write each netdesk.mo beside its .po
    python tools/i18n.py check      # what tests/test_i18n.py checks, as a list
    python tools/i18n.py init LANG  # start a catalogue for a new language

With no command: update, compile, check. Messages are those of ``net/`` and
``gui/`` (keywords ``_``, ``gettext``, ``ngettext``, ``pgettext``,
``npgettext``, ``N_``: Babel's defaults) and those of the running Python's
``argparse`` (``usage:``, ``options``, its errors), which reads our catalogue
through gettext's global domain (see net/i18n.py). Locations are written
without line numbers, so moving code does not touch the catalogues.

The same with pybabel's commands (argparse's path printed by Python):

    pybabel extract -c TRANSLATORS: -k N_ -o netdesk.pot net gui \\
        "$(python -c 'import argparse; print(argparse.__file__)')"
    pybabel update -i netdesk.pot -d net/locale -D netdesk --ignore-obsolete
    pybabel compile -d net/locale -D netdesk
"""

from __future__ import annotations

import argparse
import io
import re
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "net" / "locale"
DOMAIN = "netdesk"
SOURCES = ("net", "gui")
COMMENT_TAGS = ("TRANSLATORS:",)
ARGPARSE = "argparse.py"  # the location written for argparse's messages
HEADER = """# Translations of netdesk, the network workbench.
# Messages from net/ and gui/, and Python's argparse: see tools/i18n.py."""


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def shown(path: Path) -> str:
    """``path`` as a message names it: from the project's root, if within."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def version() -> str:
    text = (ROOT / "net" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


# -- extracting -----------------------------------------------------------------------
def code_messages() -> dict[tuple[str | None, str | tuple[str, ...]], list[tuple[str, int]]]:
    """{(context, msgid): [(file, line), ...]} for every message in net/ and gui/."""
    found: dict = {}
    for source in SOURCES:
        for filename, lineno, message, _comments, context in extract_from_dir(
                ROOT / source, keywords=DEFAULT_KEYWORDS, comment_tags=COMMENT_TAGS,
                strip_comment_tags=True):
            found.setdefault((context, message), []).append((f"{source}/{filename}", lineno))
    return found


def argparse_messages() -> list[tuple[str | tuple[str, ...], int]]:
    """(msgid, line) for the messages of the running Python's argparse."""
    return [(message, lineno) for lineno, message, _comments, _context in extract_from_file(
        "python", argparse.__file__, keywords=DEFAULT_KEYWORDS)]


def template() -> Catalog:
    """Every message to translate, as a catalogue without translations."""
    catalog = Catalog(project="netdesk", version=version(), header_comment=HEADER,
                      charset="utf-8", fuzzy=False, last_translator="netdesk",
                      language_team="netdesk")
    for (context, message), where in code_messages().items():
        catalog.add(message, None, where, context=context)
    for message, lineno in argparse_messages():
        key = message[0] if isinstance(message, tuple) else message
        if key not in catalog:
            catalog.add(message, None, [(ARGPARSE, lineno)],
                        auto_comments=["Python's argparse"])
    return catalog


# -- writing --------------------------------------------------------------------------
def write_catalog(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, ignore_obsolete=True, include_lineno=False,
             sort_by_file=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def read_catalog(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def compiled(lang: str) -> bytes:
    """The .mo that the .po of ``lang`` compiles to."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    return buffer.getvalue()


def init(lang: str) -> None:
    if po_path(lang).exists():
        sys.exit(f"{po_path(lang)} exists already")
    catalog = template()
    catalog.locale = lang
    catalog.fuzzy = False
    write_catalog(catalog, po_path(lang))
    print(f"wrote {shown(po_path(lang))}: translate it, then compile")


def update() -> None:
    fresh = template()
    for lang in languages():
        catalog = read_catalog(lang)
        catalog.update(fresh, update_header_comment=True)
        write_catalog(catalog, po_path(lang))
        print(f"updated {shown(po_path(lang))}")


def compile_all() -> None:
    for lang in languages():
        mo_path(lang).write_bytes(compiled(lang))
        print(f"compiled {shown(mo_path(lang))}")


# -- checking ---------------------------------------------------------------------------
def fields(text: str) -> set[str]:
    """The ``{name}`` fields of a str.format() text (ValueError if malformed)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text)
            if name is not None}


_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\*|\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def problems(lang: str) -> list[str]:
    """What is wrong with the catalogue of ``lang``: messages of the code
    without a translation, fuzzy or obsolete entries, translations whose
    fields differ from the English, and a .mo that is not current."""
    found = []
    text = po_path(lang).read_text(encoding="utf-8")
    if re.search(r"^#~", text, re.M):
        found.append(f"{lang}: obsolete (#~) entries: run tools/i18n.py update")
    catalog = read_catalog(lang)
    for message in catalog:
        if not message.id:
            continue
        where = f"{lang}: {message.id!r}"
        if message.fuzzy:
            found.append(f"{where} is fuzzy: check the translation, then drop the flag")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            continue  # untranslated: reported below if the code uses it
        if message.python_brace_format or any("{" in i for i in ids):
            try:
                want = set().union(*(fields(i) for i in ids))
                for s in strings:
                    got = fields(s)
                    if not got <= want or (len(ids) == 1 and got != want):
                        found.append(f"{where}: the translation's fields {sorted(got)} are "
                                     f"not the English {sorted(want)}")
            except ValueError as e:
                found.append(f"{where}: {e}")
        for error in message.check(catalog):
            found.append(f"{where}: {error}")
        if message.python_format and "%" in ids[0]:
            want = sorted(_PERCENT.findall(ids[0]))
            for s in strings:
                if sorted(_PERCENT.findall(s)) != want:
                    found.append(f"{where}: the translation's % fields differ")
    for (context, message), where in code_messages().items():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key, context=context)
        strings = () if entry is None else (
            entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or not strings or not all(strings):
            found.append(f"{lang}: no translation of {key!r} ({where[0][0]})")
    if not mo_path(lang).exists():
        found.append(f"{lang}: {shown(mo_path(lang))} is missing: compile")
    elif not same_messages(mo_path(lang).read_bytes(), compiled(lang)):
        found.append(f"{lang}: {shown(mo_path(lang))} is not current: compile")
    return found


def same_messages(a: bytes, b: bytes) -> bool:
    """Whether two .mo files hold the same messages and plural rule (the
    header's Generated-By, which names the Babel version, may differ)."""
    import gettext

    def content(data: bytes) -> tuple[dict, list]:
        t = gettext.GNUTranslations(io.BytesIO(data))
        catalog = {k: v for k, v in t._catalog.items() if k != ""}  # noqa: SLF001
        return catalog, [t.plural(n) for n in range(200)]

    return content(a) == content(b)


def check() -> int:
    found = [p for lang in languages() for p in problems(lang)]
    for line in found:
        print(line)
    print(f"{len(found)} problem(s) in {', '.join(languages())}")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", nargs="?", default="all",
                    choices=["all", "update", "compile", "check", "init"])
    ap.add_argument("lang", nargs="?", help="for init: the new language's code")
    args = ap.parse_args(argv)
    if args.command == "init":
        if not args.lang:
            ap.error("init needs a language code, e.g. de")
        init(args.lang)
        return 0
    if args.command in ("all", "update"):
        update()
    if args.command in ("all", "compile"):
        compile_all()
    if args.command in ("all", "check"):
        return check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
