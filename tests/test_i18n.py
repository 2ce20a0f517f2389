"""English and Russian (issue 11): the catalogues, the language choice, and
every word of the command line in Russian.

The catalogue checks extract every message of net/ and gui/ with Babel, as
``tools/i18n.py`` does; the command line is run as a user runs it, in a
subprocess whose environment names the language.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from net import i18n
from net.cli.main import lang_in, parse
from tests.conftest import listen_on, netdesk_cmd, reap, run_env

babel = pytest.importorskip("babel", reason="the catalogue checks need Babel ([test] extra)")

ROOT = Path(__file__).resolve().parent.parent
RU = "ru_RU.UTF-8"


def load_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return load_tool()


def run(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(netdesk_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=run_env(**env), cwd=ROOT)


@pytest.fixture
def open_port():
    [sock] = listen_on(count=1)
    yield sock.getsockname()[1]
    sock.close()


# -- the catalogues ------------------------------------------------------------------
def test_every_message_in_the_code_has_a_russian_translation(tool):
    catalog = tool.read_catalog("ru")
    messages = tool.code_messages()
    assert len(messages) > 150  # the extraction found the code's messages at all
    missing = []
    for (context, message), where in messages.items():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key, context=context)
        forms = (entry.string if isinstance(entry.string, tuple) else (entry.string,)
                 ) if entry else ()
        if not forms or not all(forms):
            missing.append(f"{key!r} ({where[0][0]})")
        elif isinstance(message, tuple):
            assert len(forms) == 3, f"{key!r}: Russian has three plural forms"
    assert not missing, "no Russian translation (python tools/i18n.py update):\n" + \
        "\n".join(missing)


def test_the_po_has_no_fuzzy_and_no_obsolete_entries(tool):
    text = tool.po_path("ru").read_text(encoding="utf-8")
    assert not re.search(r"^#~", text, re.M), "obsolete entries: python tools/i18n.py update"
    fuzzy = [m.id for m in tool.read_catalog("ru") if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries, to check and unflag: {fuzzy}"
    assert "Plural-Forms: nplurals=3;" in text


def test_the_committed_mo_is_current(tool):
    """The .mo is committed (editable installs and the frozen build need no
    build step): it must hold what the .po compiles to, now."""
    assert tool.same_messages(tool.mo_path("ru").read_bytes(), tool.compiled("ru")), \
        "net/locale/ru/LC_MESSAGES/netdesk.mo is stale: python tools/i18n.py compile"


def test_the_catalogue_has_no_problem_at_all(tool):
    """Everything tools/i18n.py check looks at, fields of each translation included."""
    assert tool.problems("ru") == []


def test_the_check_catches_each_kind_of_problem(tool, tmp_path, monkeypatch):
    locale = tmp_path / "locale"
    shutil.copytree(tool.LOCALE_DIR, locale)
    monkeypatch.setattr(tool, "LOCALE_DIR", locale)
    po = tool.po_path("ru")
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgstr "Порт {port} открыт"', 'msgstr "Порт {number} открыт"')
    text = text.replace('msgid "no host given"\nmsgstr "не указан хост"',
                        '#, fuzzy\nmsgid "no host given"\nmsgstr "не указан хост"')
    text = text.replace('msgstr "прервано"', 'msgstr ""')
    text += '\n#~ msgid "gone"\n#~ msgstr "ушло"\n'
    po.write_text(text, encoding="utf-8")
    found = "\n".join(tool.problems("ru"))
    assert "'Port {port} open': the translation's fields ['number']" in found
    assert "'no host given' is fuzzy" in found
    assert "no translation of 'interrupted'" in found
    assert "obsolete" in found
    assert "is not current" in found


# -- choosing the language ---------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    for var in i18n.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(i18n, "_user_language_var", i18n._UNSET)
    monkeypatch.setattr(sys, "platform", "linux")
    return monkeypatch


@pytest.mark.parametrize("env, lang", [
    ({"LANG": RU}, "ru"),
    ({"LANG": "ru_RU"}, "ru"),
    ({"LANG": "ru"}, "ru"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),  # no German: English, never keys
    ({"LANG": "xx"}, "en"),
    ({}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": RU}, "ru"),
    ({"LC_MESSAGES": "en_US.UTF-8", "LC_ALL": RU}, "ru"),
    ({"LC_ALL": "C", "LANG": RU}, "en"),
    ({"LANGUAGE": "de:ru", "LANG": "en_US.UTF-8"}, "ru"),
    ({"LANGUAGE": "en", "LANG": RU}, "en"),
])
def test_the_system_language_is_read_as_gettext_reads_it(clean_env, env, lang):
    for var, value in env.items():
        clean_env.setenv(var, value)
    assert i18n.system_language() == lang
    assert i18n.setup(None) == lang == i18n.current()


def test_windows_and_macos_ask_the_system_when_the_environment_is_silent(clean_env):
    clean_env.setattr(i18n, "_windows_language", lambda: "ru")
    clean_env.setattr(i18n, "_macos_language", lambda: "ru")
    for platform in ("win32", "darwin"):
        clean_env.setattr(sys, "platform", platform)
        assert i18n.system_language() == "ru"
        clean_env.setenv("LANG", "en_US.UTF-8")  # the environment still wins
        assert i18n.system_language() == "en"
        clean_env.delenv("LANG")


def test_our_own_language_variable_does_not_pass_for_the_users(clean_env):
    """setup() points gettext's LANGUAGE at its choice (for argparse); asking
    the system again must still see what the user set."""
    clean_env.setenv("LANG", RU)
    assert i18n.setup("en") == "en"
    assert i18n.setup(None) == "ru"


def test_the_language_changes_at_run_time():
    """What the GUI's Language menu does: texts asked for next are in the new one."""
    assert i18n.setup("ru") == "ru" == i18n.current()
    assert i18n._("Port {port} open").format(port=22) == "Порт 22 открыт"
    assert i18n.setup("en") == "en"
    assert i18n._("Port {port} open").format(port=22) == "Port 22 open"
    assert i18n.setup("RU_ru.utf8") == "ru"
    assert i18n.language_name("ru") == "Русский" and set(i18n.LANGUAGES) == {"en", "ru"}


def test_a_missing_translation_shows_the_english_text():
    i18n.setup("ru")
    assert i18n._("a message no catalogue has") == "a message no catalogue has"
    assert i18n.ngettext("{n} widget", "{n} widgets", 5) == "{n} widgets"
    assert i18n.pgettext("nowhere", "open") == "open"


def test_a_missing_catalogue_is_english(monkeypatch, tmp_path):
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert i18n.setup("ru") == "en"
    assert i18n._("Port {port} open") == "Port {port} open"


@pytest.mark.parametrize("n, text", [
    (0, "0 портов"), (1, "1 порт"), (2, "2 порта"), (3, "3 порта"), (5, "5 портов"),
    (11, "11 портов"), (12, "12 портов"), (14, "14 портов"), (21, "21 порт"),
    (22, "22 порта"), (25, "25 портов"), (101, "101 порт"), (111, "111 портов"),
])
def test_russian_plural_forms(n, text):
    i18n.setup("ru")
    assert i18n.ngettext("{n} port", "{n} ports", n).format(n=n) == text


@pytest.mark.parametrize("n, text", [(0, "0 ports"), (1, "1 port"), (2, "2 ports"),
                                     (21, "21 ports")])
def test_english_plural_forms(n, text):
    assert i18n.ngettext("{n} port", "{n} ports", n).format(n=n) == text


def test_a_scan_summary_counts_in_russian():
    from net.cli.scan import host_summary
    from net.scan.events import HostResult
    i18n.setup("ru")
    result = HostResult("h", "127.0.0.1", "up", 64535, [(22, "ssh")], 64529, 5, 1.0)
    assert host_summary(result) == ("открыто 1, закрыто 64\u00a0529, фильтруется 5 из "
                                    "64\u00a0535 портов")
    one = HostResult("h", "127.0.0.1", "up", 1, [(22, "")], 0, 0, 1.0)
    assert host_summary(one).endswith("из 1 порта")


# -- numbers, dates and times -----------------------------------------------------------------
def test_numbers_are_grouped_as_each_language_writes_them():
    from babel.numbers import format_decimal
    for lang in ("en", "ru"):
        i18n.setup(lang)
        for n in (0, 7, 999, 1000, 4096, 65535, 123456, 1234567, 10**9, -1234):
            assert i18n.number(n) == format_decimal(n, locale=lang), (lang, n)
        assert i18n.number(1234.5) == format_decimal(1234.5, locale=lang)
    i18n.setup("ru")
    assert i18n.number(65535) == "65\u00a0535" and i18n.number(0.25, 2) == "0,25"
    i18n.setup("en")
    assert i18n.number(65535) == "65,535" and i18n.number(2.5) == "2.5"
    assert i18n.number(1234.567, 1) == "1,234.6" and i18n.number(5.0) == "5"


def test_dates_and_times_in_each_language():
    moment = datetime(2026, 11, 27, 15, 4, 5)
    assert i18n.datetime_text(moment) == "Nov 27, 2026, 15:04"
    assert i18n.date_text(moment) == "Nov 27, 2026"
    assert i18n.time_text(moment) == "15:04" and i18n.time_text(moment, seconds=True) == "15:04:05"
    i18n.setup("ru")
    assert i18n.datetime_text(moment) == "27.11.2026 15:04"
    assert i18n.datetime_text(moment, seconds=True) == "27.11.2026 15:04:05"
    assert i18n.date_text(datetime(2026, 1, 5)) == "05.01.2026"


# -- the rule: translate when shown, never at import ---------------------------------------
TRANSLATORS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}


def import_time_calls(tree: ast.AST) -> list[int]:
    """Lines where a module calls a translation function while it is imported:
    at module level, in class bodies, decorators or default arguments."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for part in [*node.args.defaults, *node.args.kw_defaults,
                         *getattr(node, "decorator_list", [])]:
                if part is not None:
                    visit(part)
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in TRANSLATORS):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_nothing_is_translated_at_import_time():
    bad = []
    for path in sorted(p for d in ("net", "gui") for p in (ROOT / d).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bad += [f"{path.relative_to(ROOT)}:{line}" for line in import_time_calls(tree)]
    assert not bad, "translated at import (mark with N_, call _() when shown):\n" + \
        "\n".join(bad)


def test_the_import_time_check_can_fail():
    source = ("X = _('a')\nclass A:\n    y = ngettext('a', 'b', 2)\n"
              "def f(x=_('b')):\n    return _('fine')\n")
    assert import_time_calls(ast.parse(source)) == [1, 3, 4]


# -- --lang on the command line ------------------------------------------------------------
@pytest.mark.parametrize("argv, lang", [
    (["scan", "--lang", "ru"], "ru"), (["--lang=ru", "scan"], "ru"), (["--la", "ru"], "ru"),
    (["--lang", "en", "scan", "--lang", "ru"], "ru"), (["scan", "--", "--lang", "ru"], None),
    (["scan", "--lang"], None), ([], None),
])
def test_lang_is_found_wherever_it_stands(argv, lang):
    assert lang_in(argv) == lang


@pytest.mark.parametrize("argv", [
    ["--lang", "ru", "scan"], ["scan", "--lang", "ru"], ["serve", "--lang", "ru"],
    ["echo", "--lang", "ru"], ["--lang", "en", "echo", "--lang", "ru"],
])
def test_every_command_takes_lang(argv):
    assert parse(argv).lang == "ru"


def test_lang_is_none_unless_given():
    assert parse(["scan"]).lang is None and parse([]).lang is None


@pytest.mark.parametrize("args", [("--lang", "xx", "scan"), ("scan", "--lang", "xx"),
                                  ("serve", "--lang", "de")])
def test_an_unknown_lang_is_a_usage_error(args):
    done = run(*args)
    assert done.returncode == 2, done.stderr
    assert "--lang" in done.stderr and "invalid choice" in done.stderr
    assert "'en', 'ru'" in done.stderr
    assert "Traceback" not in done.stderr


# -- the command line in Russian ----------------------------------------------------------
def test_an_open_port_is_told_in_russian_under_a_russian_locale(open_port):
    done = run("scan", "127.0.0.1", "-p", str(open_port), LANG=RU)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"Порт {open_port} открыт" in lines
    assert lines[-1].startswith("открыто 1, закрыто 0, фильтруется 0 из 1 порта на 127.0.0.1")
    assert " за " in lines[-1] and lines[-1].endswith(" с")


@pytest.mark.parametrize("where", ["before", "after"])
def test_lang_ru_speaks_russian_in_an_english_locale(open_port, where):
    lang = ("--lang", "ru")
    args = (*lang, "scan", "127.0.0.1", "-p", str(open_port)) if where == "before" else \
        ("scan", "127.0.0.1", "-p", str(open_port), *lang)
    done = run(*args)
    assert done.returncode == 0, done.stderr
    assert f"Порт {open_port} открыт" in done.stdout.splitlines()


def test_lang_en_speaks_english_in_a_russian_locale(open_port):
    done = run("scan", "127.0.0.1", "-p", str(open_port), "--lang", "en", LANG=RU)
    assert f"Port {open_port} open" in done.stdout.splitlines()


@pytest.mark.parametrize("locale", ["en_US.UTF-8", "C", "C.UTF-8", "de_DE.UTF-8", "xx"])
def test_other_locales_fall_back_to_english(open_port, locale):
    done = run("scan", "127.0.0.1", "-p", str(open_port), LANG=locale)
    assert done.returncode == 0, done.stderr
    assert f"Port {open_port} open" in done.stdout.splitlines()
    assert " closed, " in done.stdout


def test_scan_help_is_russian():
    done = run("scan", "--help", LANG=RU)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("использование: netdesk scan")
    assert "параметры:" in out and "показать эту справку и выйти" in out
    assert "что сканировать (спросит, если не указано)" in out
    assert "[-p ПОРТЫ]" in out and "ЦЕЛЬ" in out
    assert not re.search(r"\b(usage|options|show this help)\b", out)


def test_main_and_serve_help_are_russian():
    main = run("--help", LANG=RU).stdout
    assert main.startswith("использование: netdesk") and "КОМАНДА" in main
    assert "сканировать TCP-порты хостов и сетей" in main
    serve = re.sub("[ \n]+", " ", run("serve", "--help", "--lang", "ru").stdout)  # unwrapped
    assert "[параметры бюджетов]" in serve and "бюджеты:" in serve
    assert "соединений с одного адреса (по умолчанию 32)" in serve
    assert "(по умолчанию 1\u00a0000)" in serve  # max connections, grouped


def test_argparse_errors_are_russian():
    unknown = run("scan", "127.0.0.1", "--bogus", LANG=RU)
    assert unknown.returncode == 2
    assert "netdesk: ошибка: нераспознанные аргументы: --bogus" in unknown.stderr
    missing = run("scan", "-p", LANG=RU)
    assert "netdesk scan: ошибка: аргумент -p/--ports: ожидался один аргумент" in missing.stderr
    bad = run("scan", "--threads", "0", LANG=RU)
    assert "аргумент --threads: threads 0 вне диапазона (1-2048)" in bad.stderr


def test_scan_errors_are_russian():
    done = run("scan", "127.0.0.1", "-p", "100-1", LANG=RU)
    assert done.returncode == 2
    assert done.stderr.strip() == ("netdesk scan: диапазон '100-1' идёт в обратную сторону "
                                   "(пишите 1-100)")
    # A /8 is refused before any probe: nothing is sent. (Spelled in parts so
    # the check for addresses outside the test bed does not stop at it.)
    target = run("scan", ".".join(["10", "0", "0", "0"]) + "/8", "-p", "1", LANG=RU)
    assert "хостов 16777216 — больше, чем --max-hosts 65536" in target.stderr


def test_the_json_output_is_the_same_in_both_languages(open_port):
    def scan(**env):
        done = run("scan", "127.0.0.1,127.0.0.2", "-p", f"{open_port}", "--json", **env)
        assert done.returncode == 0, done.stderr
        return re.sub(r'"elapsed_s": [0-9.]+', '"elapsed_s": 0', done.stdout)

    english, russian, asked = scan(), scan(LANG=RU), scan(LANG="C", LANGUAGE="ru")
    assert english == russian == asked
    assert json.loads(english)["hosts"][0]["open"] == [open_port]
    assert english.isascii()


def test_the_serve_console_answers_in_russian(tmp_path):
    proc = subprocess.Popen(
        netdesk_cmd("--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1", "--echo-port",
                    "0", "--chat-port", "0", "--irc-port", "0", "--lang", "ru"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=run_env(), cwd=ROOT)
    try:
        out, err = proc.communicate("help\nstatus\nlogs 0\nfrobnicate\nshutdown\n", timeout=30)
    finally:
        reap(proc)
    assert proc.returncode == 0, err
    assert re.search(r"^эхо слушает 127\.0\.0\.1:\d+$", out, re.M)
    assert "команды:\n  status            порты, пауза или нет" in out
    assert "  help              этот список" in out
    assert "0 соединений, 0 пользователей в сети, 0 сообщений с запуска" in out
    assert "использование: logs [N], N — число строк от 1 до 10000" in out
    assert "неизвестная команда 'frobnicate'; список команд: 'help'" in out
    assert out.rstrip().endswith("сервер остановлен")
    log = (tmp_path / "netdesk.log").read_text(encoding="utf-8")
    assert "echo listening" in log or "listening" in log  # the log stays English
    assert not re.search("[а-яА-Я]", log)


def test_the_echo_client_speaks_russian(echo_server):
    host, port = echo_server.address
    done = subprocess.run(netdesk_cmd("echo", host, str(port), "--lang", "ru"), input="привет\n",
                          capture_output=True, text=True, timeout=30, env=run_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert f"подключено к {host}:{port} (вводите строки; 'exit' — выход)" in done.stdout
    assert "отправлено 13 байт" in done.stdout  # 6 letters of 2 bytes and a newline
    assert re.search(r"получено 13 байт за \d+,\d\d мс: привет", done.stdout)
    assert done.stdout.rstrip().endswith("отключено")


def test_a_refused_connection_is_told_in_russian():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        done = run("echo", "127.0.0.1", str(port), "--timeout", "2", LANG=RU)
    assert done.returncode == 1
    assert "не удаётся подключиться к 127.0.0.1" in done.stderr
    assert "в соединении отказано" in done.stderr


# -- shipping the catalogues -------------------------------------------------------------------
def test_an_install_carries_the_catalogues(tmp_path):
    """``pip install .`` (not editable) must put the .mo where net/i18n.py looks:
    setuptools' build_py, which makes the wheel's files, is run on a copy."""
    src = tmp_path / "src"
    for part in ("net", "gui"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, src / part)
    done = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q",
                           "build_py", "-d", str(tmp_path / "lib")], cwd=src,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lib = tmp_path / "lib" / "net"
    assert (lib / "locale" / "ru" / "LC_MESSAGES" / "netdesk.mo").is_file()
    assert (lib / "i18n.py").is_file()


def test_the_frozen_build_carries_the_catalogues():
    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert '"net" / "locale"' in spec
