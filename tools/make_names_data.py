"""Generate net/chat/_names_data.py from the Unicode data files.

The chat server's name rules (PROTOCOL.md section 2, *v1.1*) need two
Unicode tables that Python's ``unicodedata`` lacks: each character's
Script_Extensions (for "one script per name") and the TR39 confusable
prototypes (for ``name_too_similar``). No maintained pip package gives both
without dragging in ICU (see net/chat/names.py), so the tables are derived
here from Unicode's own files, once, and committed as a small Python module:
a module is found by ``import`` in a pip install and in a PyInstaller build
alike, with no data-file configuration to forget.

Sources used for the committed module (Unicode 15.0.0, one version for all):

- ``Scripts.txt``, ``ScriptExtensions.txt``, ``PropertyValueAliases.txt``:
  Debian's ``unicode-data`` package (15.0.0), in /usr/share/unicode.
- ``confusables.txt`` (UTS #39 security data, 15.0.0): Debian ships no
  package with it; ICU carries a verbatim copy in its sources, so it came
  from Debian's ``icu`` source package (72.1, bookworm) as
  ``icu/source/data/unidata/confusables.txt``.

Regenerate (the inputs' SHA-256 sums are written into the output so a
reviewer can check which files were used)::

    apt-get install unicode-data
    apt-get source --download-only icu && tar xzf icu_*.orig.tar.gz \\
        icu/source/data/unidata/confusables.txt
    python3 tools/make_names_data.py \\
        --confusables icu/source/data/unidata/confusables.txt
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "net" / "chat" / "_names_data.py"
UCD = Path("/usr/share/unicode")
MAX_CP = 0x110000
LINE = 100  # ruff's line length for this project
VERSION_RE = re.compile(r"^#\s*(?:Version:\s*|\S+-)(\d+\.\d+\.\d+)")


def data_lines(path: Path):
    """(fields, ...) of each data line: comments and blank lines dropped."""
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield [field.strip() for field in line.split(";")]


def version_of(path: Path) -> str:
    """The Unicode version a data file states in its header."""
    for line in path.read_text(encoding="utf-8-sig").splitlines()[:12]:
        match = VERSION_RE.match(line)
        if match:
            return match.group(1)
    raise SystemExit(f"{path}: no version in its header")


def code_range(field: str) -> range:
    first, _, last = field.partition("..")
    return range(int(first, 16), int(last or first, 16) + 1)


def script_table(ucd: Path) -> list[str | None]:
    """Each code point's Script_Extensions as sorted short codes, ``None`` if unassigned.

    Script_Extensions is listed only where it differs from Script, so Script
    fills the table first and the extensions overwrite it.
    """
    short = {}
    for fields in data_lines(ucd / "PropertyValueAliases.txt"):
        if fields[0] == "sc":
            short[fields[2]] = fields[1]
    table: list[str | None] = [None] * MAX_CP
    for cps, name in data_lines(ucd / "Scripts.txt"):
        for cp in code_range(cps):
            table[cp] = short[name]
    for cps, codes in data_lines(ucd / "ScriptExtensions.txt"):
        for cp in code_range(cps):
            table[cp] = " ".join(sorted(codes.split()))
    return table


def confusable_table(path: Path) -> dict[int, str]:
    """Source code point -> prototype string, from confusables.txt."""
    table = {}
    for fields in data_lines(path):
        source, target = fields[0], fields[1]
        table[int(source, 16)] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def packed(items: list[str], indent: str = "    ") -> list[str]:
    """Items joined with ", " into lines no longer than the project's limit."""
    lines, line = [], indent
    for item in items:
        piece = item + ","
        if len(line) + len(piece) + 1 > LINE and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confusables", type=Path, required=True,
                        help="UTS #39 confusables.txt")
    parser.add_argument("--ucd", type=Path, default=UCD,
                        help="folder with Scripts.txt, ScriptExtensions.txt and "
                             "PropertyValueAliases.txt (default %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    inputs = [args.ucd / "Scripts.txt", args.ucd / "ScriptExtensions.txt",
              args.ucd / "PropertyValueAliases.txt", args.confusables]
    versions = {version_of(p) for p in inputs[:2] + [args.confusables]}
    if len(versions) != 1:
        # Script data and confusables of different versions would disagree
        # about which characters exist; refuse rather than mix them.
        raise SystemExit(f"the inputs are of different Unicode versions: {sorted(versions)}")
    (version,) = versions

    scripts = script_table(args.ucd)
    # Run-length ranges: a code point's set is that of the last start <= it.
    sets: list[str] = [""]  # index 0: unassigned (script Unknown)
    index = {"": 0}
    starts: list[int] = []
    values: list[int] = []
    previous: str | None = "\0"
    for cp, value in enumerate(scripts):
        if value != previous:
            key = value or ""
            if key not in index:
                index[key] = len(sets)
                sets.append(key)
            starts.append(cp)
            values.append(index[key])
            previous = value
    confusables = confusable_table(args.confusables)

    out = [
        "# ruff: noqa: E501  (a few Script_Extensions sets are longer than a line)",
        f'"""Unicode {version} tables for net/chat/names.py. Generated: do not edit.',
        "",
        "Made by tools/make_names_data.py (see it for how to regenerate) from:",
    ]
    for path in inputs:
        out.append(f"    {path.name} sha256 {sha256(path)}")
    out += [
        '"""',
        "",
        f'UNICODE_VERSION = "{version}"',
        "",
        "# Script_Extensions sets (sorted ISO 15924 codes, space-separated); '' is unassigned.",
        "SCRIPT_SETS = (",
        *packed([repr(s) for s in sets]),
        ")",
        "# RANGE_STARTS[i] begins a run of code points whose set is SCRIPT_SETS[RANGE_SETS[i]].",
        "RANGE_STARTS = (",
        *packed([f"0x{cp:X}" for cp in starts]),
        ")",
        "RANGE_SETS = (",
        *packed([str(v) for v in values]),
        ")",
        "# confusables.txt: source code point -> prototype, for str.translate.",
        "CONFUSABLES = {",
        *packed([f"0x{cp:X}: {ascii(target)}" for cp, target in sorted(confusables.items())]),
        "}",
    ]
    args.out.write_text("\n".join(out) + "\n", encoding="ascii")
    print(f"{args.out}: Unicode {version}, {len(starts)} script ranges, "
          f"{len(sets)} script sets, {len(confusables)} confusables")


if __name__ == "__main__":
    main()
