"""The layout's one rule: imports run one way (README, "Layout").

Every module under net/ and gui/ is read (not imported) and each of its
imports of netdesk's own modules is checked against the layers below, from
the bottom up. A module may import its own package and any lower layer;
net/scan stands on its own and only the faces above it may use it.
net/i18n (the words people read) is below them all: everything may use it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (layer, the module prefixes in it); a higher layer may import a lower one.
LAYERS = [
    (-1, ("net.i18n",)),
    (0, ("net", "net.fields", "net.datadir", "net.sockutil", "net.progress", "net.budgets",
         "net.ratelimit")),
    (1, ("net.tls",)),
    (2, ("net.listener", "net.certs", "net.outbox")),
    (3, ("net.chat", "net.echo")),
    (4, ("net.irc",)),  # the IRC gateway stands on the chat server
    (5, ("net.control",)),
    (6, ("net.cli",)),
    (7, ("gui",)),
]
# The scanner: uses only layers -1 and 0, and only net.cli and gui use it.
SCAN = "net.scan"
SCAN_USERS = ("net.cli", "gui")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def package_of(name: str) -> str:
    """The unit a module belongs to: ``net.chat`` for ``net.chat.server``."""
    best = ""
    for _, prefixes in LAYERS:
        for prefix in prefixes + (SCAN,):
            if within(name, prefix) and len(prefix) > len(best):
                best = prefix
    return best


def layer(name: str) -> int | None:
    unit = package_of(name)
    for number, prefixes in LAYERS:
        if unit in prefixes:
            return number
    return None


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def own_imports(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, module) for each import of a net or gui module in ``source``."""
    tree = ast.parse(source, str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from net import datadir`` imports the module net.datadir.
            names = [f"{node.module}.{alias.name}" if is_module(f"{node.module}.{alias.name}")
                     else node.module for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] in ("net", "gui")]
    return found


def violations(path: Path, source: str | None = None) -> list[str]:
    """What ``path`` (with ``source`` in place of its text, if given) imports wrongly."""
    source = path.read_text(encoding="utf-8") if source is None else source
    me = module_name(path)
    mine, my_layer = package_of(me), layer(me)
    bad = []
    for line, target in own_imports(path, source):
        theirs = package_of(target)
        if theirs == mine:
            continue
        where = f"{path.relative_to(ROOT)}:{line} imports {target}"
        if theirs == SCAN:
            if not any(within(me, user) for user in SCAN_USERS):
                bad.append(f"{where}: only {', '.join(SCAN_USERS)} may use the scanner")
        elif mine == SCAN:
            if layer(target) not in (-1, 0):
                bad.append(f"{where}: the scanner stands on its own (layers -1 and 0 only)")
        elif layer(target) is None or my_layer is None or layer(target) >= my_layer:
            bad.append(f"{where}: layer {layer(target)} from layer {my_layer}")
    return bad


def modules() -> list[Path]:
    return sorted(p for d in ("net", "gui") for p in (ROOT / d).rglob("*.py"))


def test_every_module_has_a_layer():
    for path in modules():
        name = module_name(path)
        assert layer(name) is not None or package_of(name) == SCAN, name


def test_imports_run_one_way():
    bad = [v for path in modules() for v in violations(path)]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_net_never_imports_tkinter():
    for path in (ROOT / "net").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("tkinter", "_tkinter") for n in names), path


@pytest.mark.parametrize("source, target", [
    ("net/chat/server.py", "net.control"),
    ("net/listener.py", "net.chat.server"),
    ("net/scan/engine.py", "net.listener"),
    ("net/control/controller.py", "net.scan.engine"),
    ("net/cli/main.py", "gui.launcher"),
    ("net/chat/client.py", "net.echo.client"),
    ("net/i18n.py", "net.datadir"),
])
def test_a_wrong_way_import_is_caught(source, target):
    """The checker itself can fail: each of these imports is against the layers."""
    path = ROOT / source
    assert not violations(path)
    assert violations(path, path.read_text(encoding="utf-8") + f"\nimport {target}\n")
