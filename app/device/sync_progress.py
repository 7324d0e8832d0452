"""How far a sync round has got, for a progress bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Progress:
    """How far a round has got, for a progress bar: ``done`` of ``total`` records (``total``
    is the server's estimate while pulling, and grows if records arrive meanwhile)."""

    phase: Literal["push", "pull"]
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0


ProgressListener = Callable[[Progress], None]

__all__ = ["Progress", "ProgressListener"]
