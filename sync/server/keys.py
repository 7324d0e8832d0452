"""Issuer signing keys on disk: ``keys/<kid>.key`` (private, 0600), ``keys/<kid>.pub``, ``active``.

Only the public half ever leaves the server: devices pin it in ``assets/keys/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.qrcodes import key_id, public_key_pem


class NoSigningKey(Exception):
    """No active issuer key: run ``hssk-server keys create`` first."""


def create_key(keys_dir: Path) -> str:
    """Create a new Ed25519 issuer key, make it the active one, and return its id."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    private_path = keys_dir / f"{kid}.key"
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    (keys_dir / f"{kid}.pub").write_bytes(public_key_pem(private.public_key()))
    (keys_dir / "active").write_text(kid + "\n")
    return kid


def active_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The private key that signs new codes."""
    active = keys_dir / "active"
    if not active.exists():
        raise NoSigningKey("no active signing key; run `hssk-server keys create`")
    kid = active.read_text().strip()
    key = serialization.load_pem_private_key((keys_dir / f"{kid}.key").read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoSigningKey(f"key {kid} is not an Ed25519 key")
    return key


def list_keys(keys_dir: Path) -> list[tuple[str, bool]]:
    """Every issuer key id here, and whether it is the active one."""
    active_file = keys_dir / "active"
    active = active_file.read_text().strip() if active_file.exists() else None
    return [(p.stem, p.stem == active) for p in sorted(keys_dir.glob("*.pub"))]
