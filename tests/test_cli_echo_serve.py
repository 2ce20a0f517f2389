"""``netdesk echo`` and ``netdesk serve`` as a user runs them: subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess

import pytest

from tests.conftest import netdesk_cmd, reap, run_env, start_serve


def test_echo_cli_driven_through_stdin(echo_server):
    host, port = echo_server.address
    proc = subprocess.run(netdesk_cmd("echo", host, str(port)),
                          input="hello\nsecond line é\nexit\nnot sent\n",
                          capture_output=True, text=True, timeout=30, env=run_env())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"connected to {host}:{port}" in out
    assert "sent 6 bytes" in out
    assert ": hello\n" in out
    assert ": second line é\n" in out
    assert "not sent" not in out
    assert out.rstrip().endswith("disconnected")


def test_echo_cli_asks_for_host_and_port(echo_server):
    host, port = echo_server.address
    proc = subprocess.run(netdesk_cmd("echo"), input=f"{host}\n99999\n{port}\nping\n",
                          capture_output=True, text=True, timeout=30, env=run_env())
    assert proc.returncode == 0, proc.stderr
    assert "Host [127.0.0.1]:" in proc.stdout
    assert "out of range" in proc.stdout  # 99999 was refused, then asked again
    assert ": ping\n" in proc.stdout


def test_echo_cli_unreachable_server_is_one_clear_line():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(netdesk_cmd("echo", "127.0.0.1", str(port)), input="",
                          capture_output=True, text=True, timeout=30, env=run_env())
    assert proc.returncode == 1
    assert "connection refused" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_prints_its_port_echoes_and_stops_on_sigterm(tmp_path):
    proc, services = start_serve(tmp_path)
    try:
        with socket.create_connection(services["echo"], timeout=5) as s:
            s.sendall(b"abc")
            assert s.recv(3) == b"abc"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        reap(proc)
    log = (tmp_path / "netdesk.log").read_text()
    for event in ("echo server starting", "echo listening on 127.0.0.1:",
                  "connected", "disconnected", "echo server stopped"):
        assert event in log
    mode = stat.S_IMODE(os.stat(tmp_path / "netdesk.log").st_mode)
    assert mode == 0o600


def test_serve_stops_on_ctrl_c(tmp_path):
    proc, services = start_serve(tmp_path)
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=15) == 0
    finally:
        reap(proc)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(services["echo"], timeout=5)


def test_serve_rejects_a_bad_port_with_one_line(tmp_path):
    proc = subprocess.run(netdesk_cmd("--data-dir", str(tmp_path), "serve", "--echo-port",
                                      "70000"), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "out of range" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_data_dir_is_created_owner_only(tmp_path):
    from net.datadir import ensure_data_dir

    target = ensure_data_dir(tmp_path / "new" / "dir")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700


def test_clear_logs_recreates_a_deleted_log_file(tmp_path):
    import logging

    from net import datadir

    handler = datadir.setup_logging(tmp_path)
    try:
        log = logging.getLogger("netdesk.test")
        log.info("first line")
        (tmp_path / "netdesk.log").unlink()  # someone deleted it
        handler.clear()
        log.info("after the clear")
        text = (tmp_path / "netdesk.log").read_text()
        assert "after the clear" in text and "first line" not in text
        assert stat.S_IMODE(os.stat(tmp_path / "netdesk.log").st_mode) == 0o600
    finally:
        datadir.remove_logging(handler)
