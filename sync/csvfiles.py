"""Every CSV file HSSK writes goes through here: cells that a spreadsheet would run as a
formula are neutralised (OWASP "CSV injection"), whoever typed them.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe: spreadsheets then show the text as typed and run nothing. Numbers stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """The value to write in a cell: text that could start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell has passed ``safe_cell``."""

    def __init__(self, handle: _Writable) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


def writer(handle: _Writable) -> SafeWriter:
    """A CSV writer for ``handle`` (a text file opened with ``newline=""``, or a StringIO)."""
    return SafeWriter(handle)
