"""Base45 (RFC 9285): the alphabet QR codes store most compactly in alphanumeric mode."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [ALPHABET[c], ALPHABET[d], ALPHABET[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [ALPHABET[c], ALPHABET[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode Base45 text; raises ``ValueError`` on a character or length that cannot occur."""
    try:
        values = [_INDEX[c] for c in text]
    except KeyError as exc:
        raise ValueError(f"invalid Base45 character {exc.args[0]!r}") from None
    out = bytearray()
    full, rest = divmod(len(values), 3)
    if rest == 1:
        raise ValueError("invalid Base45 length")
    for i in range(full):
        c, d, e = values[3 * i: 3 * i + 3]
        n = c + d * 45 + e * 45 * 45
        if n > 0xFFFF:
            raise ValueError("invalid Base45 triplet")
        out += n.to_bytes(2, "big")
    if rest == 2:
        c, d = values[-2:]
        n = c + d * 45
        if n > 0xFF:
            raise ValueError("invalid Base45 pair")
        out.append(n)
    return bytes(out)
