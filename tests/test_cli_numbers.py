"""Numbers on the command line: ASCII digits only, bounded, finite, in range;
anything else is a short usage error (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import io
import subprocess

import pytest

from net.cli.main import parse
from tests.conftest import netdesk_cmd, run_env

HUGE = "9" * 5000


@pytest.mark.parametrize("argv,message", [
    (["scan", "--threads", "\u0663"], "not a whole number"),  # an Arabic-Indic 3
    (["scan", "--threads", "\uff11\uff12"], "not a whole number"),  # full-width 12
    (["scan", "--threads", HUGE], "out of range"),
    (["scan", "--threads", "0"], "out of range"),
    (["scan", "--in-flight", "-3"], "not a whole number"),
    (["scan", "--in-flight", "0"], "out of range"),
    (["scan", "--timeout", "nan"], "not a number of seconds"),
    (["scan", "--timeout", "inf"], "not a number of seconds"),
    (["scan", "--timeout", "1e999"], "not a number of seconds"),
    (["scan", "--timeout", "\uff15"], "not a number of seconds"),  # full-width 5
    (["echo", "--timeout", "nan"], "not a number of seconds"),
    (["echo", "--timeout", "0"], "out of range"),
    (["echo", "--timeout", "-1"], "not a number of seconds"),
    (["echo", "host", "\uff11\uff12\uff13"], "not a port number"),
    (["serve", "--echo-port", "\uff18\uff10"], "not a port number"),  # full-width 80
    (["serve", "--chat-port", HUGE], "out of range"),
    (["serve", "--history-retention", "-5"], "not a whole number"),
    (["serve", "--history-retention", "\u0663"], "not a whole number"),
])
def test_bad_numbers_are_short_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    # 5,000 digits are not echoed back: the error line stays short.
    line = next(line for line in err.splitlines() if message in line)
    assert len(line) < 200


def test_good_numbers_still_parse():
    args = parse(["scan", "--threads", "8", "--timeout", "0.25", "--in-flight", "100"])
    assert (args.threads, args.timeout, args.in_flight) == (8, 0.25, 100)
    assert parse(["echo", "--timeout", "30", "h", "00080"]).port == 80
    args = parse(["serve", "--echo-port", "0", "--history-retention", "10"])
    assert (args.echo_port, args.history_retention) == (0, 10)


def test_scan_timeout_nan_is_a_usage_error_in_a_real_process():
    proc = subprocess.run(netdesk_cmd("scan", "127.0.0.1", "-p", "1", "--timeout", "nan"),
                          capture_output=True, text=True, timeout=60, env=run_env())
    assert proc.returncode == 2
    assert "argument --timeout: not a number of seconds: 'nan'" in proc.stderr


def test_echo_prompt_refuses_full_width_port_digits():
    from net.cli.echo import run_echo

    args = argparse.Namespace(host="127.0.0.1", port=None, timeout=1.0)
    out = io.StringIO()
    code = run_echo(args, io.StringIO("\uff11\uff12\uff13\n" * 3), out)
    assert code == 2  # asked three times, never connected to port 123
    assert out.getvalue().count("not a port number") == 3
