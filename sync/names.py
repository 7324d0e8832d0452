"""Names compared as people type them: the device's duplicate checks and the server's matching
of records sent by the city's systems fold names the same way."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without diacritics ("Nguyễn Văn Đạt" → "nguyen van dat"): people type
    names both ways, often without the marks on a tablet keyboard."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c))
                    .lower().split())
