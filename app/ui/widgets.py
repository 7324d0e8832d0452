from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.i18n import t
from sync.errors import Lang
from sync.reminders import Reminder, ReminderState
from sync.validators import format_date_vn

BIG_TEXT = 20
BUTTON_HEIGHT = 56
REMINDER_COLOURS = {ReminderState.UP_TO_DATE: ft.Colors.GREEN_800,
                    ReminderState.DUE_SOON: ft.Colors.ORANGE_900,
                    ReminderState.DUE: ft.Colors.DEEP_ORANGE_900,
                    ReminderState.OVERDUE: ft.Colors.ERROR}


def big_button(label: str, on_click: Any, *, key: str, disabled: bool = False,
               size: float = BIG_TEXT, icon: ft.IconData | None = None) -> ft.Control:
    """A large touch target (at least 56 px high) that grows with a label of two lines instead
    of clipping it; its text is also its accessible name."""
    return ft.Button(
        label,
        icon=icon,
        on_click=on_click,
        disabled=disabled,
        key=key,
        style=ft.ButtonStyle(text_style=ft.TextStyle(size=size),
                             padding=ft.Padding.symmetric(
                                 vertical=max(16, (BUTTON_HEIGHT - size * 1.2) / 2),
                                 horizontal=20)),
    )


def field(label: str, value: str, on_change: Any, *, key: str | ft.ScrollKey,
          error: str | None = None, keyboard: ft.KeyboardType = ft.KeyboardType.TEXT,
          size: float = BIG_TEXT, multiline: bool = False, password: bool = False,
          on_submit: Any = None, on_blur: Any = None, helper: str | None = None) -> ft.Control:
    """A large text field whose label is its accessible name; its error shows beside it. It
    takes the screen's width (a bare text field stays 300 px wide, cramped on a tablet and
    wrapping long labels on a phone)."""
    return ft.Row([ft.TextField(
        label=label,
        value=value,
        on_change=on_change,
        error=error,
        error_max_lines=4,
        helper=helper,  # below the field, wrapping freely (a label must stay one line)
        helper_max_lines=3,
        helper_style=ft.TextStyle(size=max(14, size * 0.8)),
        keyboard_type=keyboard,
        text_size=size,
        # Full size: a floating label shrinks to three quarters (15 px at normal size).
        label_style=ft.TextStyle(size=size),
        error_style=ft.TextStyle(size=max(14, size * 0.8)),
        multiline=multiline,
        password=password,
        can_reveal_password=password,
        on_submit=on_submit,
        on_blur=on_blur,
        key=key,
        expand=True,
    )])


def error_text(message: str | None, *, key: str, size: float = BIG_TEXT - 2) -> ft.Control:
    return ft.Text(message or "", color=ft.Colors.ERROR, size=size,
                   visible=bool(message), key=key)


def heading(text: str, *, size: float) -> ft.Control:
    return ft.Text(text, size=size, weight=ft.FontWeight.BOLD)


def reminder_line(reminder: Reminder, lang: Lang, size: float) -> ft.Control:
    """Where a person stands (up to date, due soon, due, overdue) and the next due date."""
    text = t(f"reminder_{reminder.state.value}", lang)
    if reminder.due_on:
        text += f" — {t('next_update', lang).lower()} {format_date_vn(reminder.due_on)}"
    return ft.Text(text, size=size, color=REMINDER_COLOURS[reminder.state],
                   weight=ft.FontWeight.BOLD)


def scroll_key(name: str) -> ft.ScrollKey:
    """A key ``scroll_to`` can find."""
    return ft.ScrollKey(name)  # type: ignore[call-arg]  # flet's key dataclass hides its init


async def scroll_to(control: ft.BaseControl, key: str) -> None:
    """Scroll the column holding ``control`` (a pressed button) to the control keyed
    ``ft.ScrollKey(key)``."""
    node: ft.BaseControl | None = control
    while node is not None and not (isinstance(node, ft.Column) and node.scroll):
        node = node.parent
    if node is not None:
        await node.scroll_to(scroll_key=scroll_key(key), duration=300)
