"""Small holders of screen state shared by ``AppState`` and ``CollabState``."""

from __future__ import annotations

from dataclasses import dataclass

import flet as ft


class Typed:
    """What has been typed into a form. Deliberately not observable: re-rendering the form on
    every keystroke would send each value back to the field and race the keyboard."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@ft.observable
@dataclass
class Derived:
    """A figure worked out from what is being typed (the BMI). Observed by its own small
    component, so showing it re-renders that text alone and never the fields being typed in."""

    text: str | None = None
