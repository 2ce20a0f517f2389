"""--data-dir and --log-level before or after any subcommand (issue 10 row 22:
``netdesk scan localhost --data-dir X`` said "unrecognized arguments")."""

from __future__ import annotations

import pytest

from net.cli.main import parse

COMMANDS = [["serve"], ["echo", "127.0.0.1", "9090"], ["scan", "localhost"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_options_after_the_subcommand(command):
    args = parse([*command, "--data-dir", "X", "--log-level", "debug"])
    assert args.command == command[0]
    assert args.data_dir == "X" and args.log_level == "debug"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_options_before_the_subcommand_are_kept(command):
    args = parse(["--data-dir", "Y", "--log-level", "warning", *command])
    assert args.data_dir == "Y" and args.log_level == "warning"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_defaults_without_the_options(command):
    args = parse(command)
    assert args.data_dir is None and args.log_level == "info"


def test_after_wins_over_before():
    args = parse(["--data-dir", "before", "scan", "localhost", "--data-dir", "after"])
    assert args.data_dir == "after"


def test_scan_options_mix_with_the_global_ones():
    args = parse(["scan", "--data-dir", "X", "-p", "80", "localhost", "127.0.0.1"])
    assert args.targets == ["localhost", "127.0.0.1"] and args.ports == "80"
    assert args.data_dir == "X"


def test_no_subcommand_still_takes_them():
    args = parse(["--data-dir", "Z"])
    assert args.command is None and args.data_dir == "Z" and args.log_level == "info"


def test_a_bad_log_level_after_the_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        parse(["scan", "localhost", "--log-level", "loud"])
    assert exited.value.code == 2
    assert "--log-level" in capsys.readouterr().err
