"""The packaged program: build it with PyInstaller, then use it as a user would.

Slow (a build takes a minute or so) but it is what people double-click:
the frozen ``--smoke-test`` under Xvfb, ``scan --json`` against a listener
opened here, and ``serve`` answering an echo.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from net.chat.client import ChatConnection
from tests.conftest import reap, run_env

ROOT = Path(__file__).resolve().parents[1]
EXE = "netdesk.exe" if sys.platform == "win32" else "netdesk"


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("frozen")
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"), "build.spec"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    program = out / "dist" / "netdesk" / EXE
    assert program.is_file()
    yield program
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.timeout(900)
def test_frozen_smoke_test_draws_every_window(frozen, tmp_path):
    proc = subprocess.run([str(frozen), "--data-dir", str(tmp_path), "--smoke-test"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "smoke test passed: 5 windows drawn" in proc.stdout
    assert "theme sun-valley-" in proc.stdout  # the theme travelled in the bundle
    # The catalogues travelled too: every window in Russian.
    ru = subprocess.run([str(frozen), "--data-dir", str(tmp_path), "--smoke-test", "--lang", "ru"],
                        capture_output=True, text=True, timeout=30)
    assert ru.returncode == 0, ru.stderr
    assert "проверка запуска пройдена: 5 окон" in ru.stdout
    for title in ("netdesk — Сканер портов", "netdesk — Эхо-клиент", "netdesk — Чат"):
        assert title in ru.stdout


@pytest.mark.timeout(120)
def test_frozen_scan_json_against_a_listener(frozen):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        spec = f"1-2000,{port}"
        proc = subprocess.run([str(frozen), "scan", "127.0.0.1", "-p", spec, "--json"],
                              capture_output=True, text=True, timeout=60)
        # Two hosts and worker processes: the frozen build forks and resets
        # sockets through ctypes as the source does.
        several = subprocess.run([str(frozen), "scan", "127.0.0.1,127.0.0.2", "-p",
                                  f"1-30000,{port}", "--procs", "2", "--banners", "--json"],
                                 capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert port in data["open"]
    assert data["ports_scanned"] == (2000 if port <= 2000 else 2001)
    assert several.returncode == 0, several.stderr
    hosts = json.loads(several.stdout)["hosts"]
    assert [h["state"] for h in hosts] == ["up", "up"]
    assert port in hosts[0]["open"] and port not in hosts[1]["open"]
    assert hosts[0]["ports_scanned"] == (30000 if port <= 30000 else 30001)


@pytest.mark.timeout(120)
def test_frozen_serve_answers_an_echo_and_the_frozen_client(frozen, tmp_path):
    proc = subprocess.Popen(
        [str(frozen), "--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1",
         "--echo-port", "0", "--chat-port", "0", "--irc-port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("echo listening on 127.0.0.1:"), line + proc.stderr.read()
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"frozen echo")
            got = b""
            while len(got) < 11:
                chunk = s.recv(64)
                assert chunk
                got += chunk
        assert got == b"frozen echo"
        # The chat port: its certificate made by the frozen build's
        # cryptography, served through its ssl module.
        chat_line, tls_line = proc.stdout.readline(), proc.stdout.readline()
        assert chat_line.startswith("chat listening on 127.0.0.1:"), chat_line
        assert tls_line.startswith("chat tls fingerprint SHA256:"), tls_line
        chat = ChatConnection(timeout=10)
        try:
            hello = chat.connect("127.0.0.1", int(chat_line.rsplit(":", 1)[1]))
            assert hello["tls"] is True
            assert chat.security.fingerprint == tls_line.split()[-1]
        finally:
            chat.close()
        client = subprocess.run([str(frozen), "echo", "127.0.0.1", str(port)],
                                input="through the frozen client\nexit\n", capture_output=True,
                                text=True, timeout=30)
        assert client.returncode == 0, client.stderr
        assert ": through the frozen client" in client.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        reap(proc)


@pytest.mark.timeout(120)
def test_frozen_build_speaks_russian(frozen):
    """The catalogues travel in the bundle: Порт N открыт and argparse's words."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        scan = subprocess.run([str(frozen), "scan", "127.0.0.1", "-p", str(port), "--lang", "ru"],
                              capture_output=True, text=True, timeout=60, env=run_env())
    help_ru = subprocess.run([str(frozen), "scan", "--help"], capture_output=True, text=True,
                             timeout=60, env=run_env(LANG="ru_RU.UTF-8"))
    assert scan.returncode == 0, scan.stderr
    assert f"Порт {port} открыт" in scan.stdout.splitlines()
    assert help_ru.stdout.startswith("использование: netdesk scan"), help_ru.stdout[:200]
    assert "показать эту справку и выйти" in help_ru.stdout
