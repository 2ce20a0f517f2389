"""The order of the results, with no Tk: hosts in target order (the worker
sends the resolved addresses as a ``TargetOrder``), each host's port rows by
the column last clicked, ascending or, clicked again, descending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

COLUMNS = ("port", "service", "banner", "state")
Row = tuple[int, str, str, str]  # a port row's values: port, service, banner, state


@dataclass(frozen=True)
class TargetOrder:
    """The resolved targets' addresses in target order (host rows follow it)."""

    addresses: list[str]


class RowOrder:
    """Which column the port rows are sorted by, and which way; ties go by port."""

    def __init__(self, column: str = "port", reverse: bool = False):
        self.column = column
        self.reverse = reverse

    def click(self, column: str) -> None:
        """A heading clicked: sort by it; a second click reverses."""
        if column == self.column:
            self.reverse = not self.reverse
        else:
            self.column, self.reverse = column, False

    def key(self, row: Row) -> tuple:
        return (row[COLUMNS.index(self.column)], row[0])

    def before(self, a: tuple, b: tuple) -> bool:
        """Whether key ``a`` goes before key ``b`` in the current order."""
        return a > b if self.reverse else a < b

    def position(self, iids: list[str], rows: Mapping[str, Row], key: tuple) -> int:
        """Where a row with ``key`` goes among ``iids`` (sorted) in the current order."""
        if not iids or self.before(self.key(rows[iids[-1]]), key):
            return len(iids)  # ports mostly come in order: the common case is cheap
        low, high = 0, len(iids)
        while low < high:
            mid = (low + high) // 2
            if self.before(self.key(rows[iids[mid]]), key):
                low = mid + 1
            else:
                high = mid
        return low

    def sort(self, iids: list[str], rows: Mapping[str, Row]) -> None:
        """Put ``iids`` in the current order, in place."""
        iids.sort(key=lambda iid: self.key(rows[iid]), reverse=self.reverse)

    def arrow(self, column: str) -> str:
        """The mark after a heading: the sorted column's direction, else nothing."""
        if column != self.column:
            return ""
        return " ▼" if self.reverse else " ▲"
