"""The scanner's form as text in, a scan request out, with no Tk (tested
without a display, as IDLE tests ``Query.entry_ok``): the targets' quick
check and host count, the ports' count, and every field checked with the
engine's own rules, each problem worded for the field it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from net.fields import FieldError, whole_number
from net.i18n import _, number
from net.scan.engine import DEFAULT_TIMEOUT
from net.scan.ports import PortSpecError, parse_ports
from net.scan.targets import MAX_HOSTS_DEFAULT, TargetError, count_hosts, split_targets

FIELDS = ("targets", "ports", "threads", "timeout")  # in the form's order
THREADS_MAX = 2048  # the message below names it


@dataclass(frozen=True)
class FormText:
    """What the form holds, as the user left it."""

    targets: str
    ports: str
    threads: str
    timeout: str
    strategy: str
    scan_all: bool = False
    banners: bool = False


@dataclass(frozen=True)
class ScanRequest:
    """A form that passed: the Scanner's arguments, and what to remember."""

    targets: str
    ports: str  # the spec as typed (exports name it)
    threads: int | None  # None: the strategy's default
    timeout: float
    strategy: str
    skip_down: bool | None  # None: the engine's default (discovery when several hosts)
    banners: bool
    port_count: int  # ports per host
    threads_text: str = ""  # the field as typed, stripped (remembered)


def targets_problem(text: str) -> tuple[int, str]:
    """(hosts, "") for a target list that parses, else (0, the reason).
    Nothing is resolved: names count as one host each."""
    try:
        hosts = count_hosts(split_targets(text))
    except TargetError as e:
        return 0, str(e)
    if hosts > MAX_HOSTS_DEFAULT:
        return 0, _("{hosts} hosts is more than one scan takes ({most})").format(
            hosts=number(hosts), most=number(MAX_HOSTS_DEFAULT))
    return hosts, ""


def port_count(spec: str) -> int:
    """How many ports ``spec`` names; 0 when it names none or is wrong."""
    try:
        return len(parse_ports(spec))
    except PortSpecError:
        return 0


def check(form: FormText) -> tuple[ScanRequest | None, dict[str, str]]:
    """The form as a request, or None and a message for each field that is
    wrong (in the form's order: the first is where the cursor goes)."""
    problems: dict[str, str] = {}
    targets = form.targets.strip()
    problem = targets_problem(targets)[1]
    if problem:
        problems["targets"] = problem
    ports = 0
    try:
        ports = len(parse_ports(form.ports))
    except PortSpecError as e:
        problems["ports"] = str(e)
    threads = None
    if form.threads.strip() and form.strategy != "sequential":
        try:
            # ASCII digits only: int() took "１２３" and raised past 4,300 digits.
            threads = whole_number(form.threads, 1, THREADS_MAX)
        except FieldError:
            problems["threads"] = _("a number from 1 to 2048, or blank")
            threads = None
    try:
        timeout = float(form.timeout)
        if not 0.01 <= timeout <= 60:
            raise ValueError
    except ValueError:
        problems["timeout"] = _("seconds, from {low} to {high}").format(
            low=number(0.01, 2), high=number(60))
        timeout = DEFAULT_TIMEOUT
    if problems:
        return None, problems
    return ScanRequest(targets, form.ports, threads, timeout, form.strategy,
                       # Unticked: the engine's default (discovery when several hosts).
                       skip_down=False if form.scan_all else None, banners=form.banners,
                       port_count=ports, threads_text=form.threads.strip()), {}
