"""Three-way merge of a document edit against the versions other devices wrote meanwhile.

Plain functions over plain values, so the rule can be read and tested on its own:

* a field changed only by this edit takes its value;
* a field also changed by another device since the edit's base version, to a different value,
  opens a conflict that keeps both values (the document keeps the earlier one until a person
  picks); device clocks play no part;
* an edit of a conflicting field from a device that had seen the conflict resolves it; one
  made without seeing it joins the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from sync.records import ConflictValue, FieldConflict, parse_payload


@dataclass(frozen=True)
class Version:
    """One stored version of a document."""

    version: int
    payload: dict[str, Any]
    device_id: str
    conflicts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Merged:
    payload: dict[str, Any]
    conflicts: list[dict[str, Any]]
    opened: list[str]  # fields that are in conflict because of this edit
    changed: bool  # whether a new version is needed at all


def changed_by_others(history: list[Version], device_id: str) -> dict[str, Version]:
    """Fields that another device changed after ``history[0]``, with the last such version."""
    touched: dict[str, Version] = {}
    for before, after in pairwise(history):
        if after.device_id == device_id:
            continue
        for name in before.payload.keys() | after.payload.keys():
            if before.payload.get(name) != after.payload.get(name):
                touched[name] = after
    return touched


def merge(*, kind: str, history: list[Version], device_id: str, changes: dict[str, Any],
          new_version: int) -> Merged:
    """Apply ``changes`` (made on ``history[0]``) on top of ``history[-1]``."""
    base, latest = history[0], history[-1]
    others = changed_by_others(history, device_id)
    payload = dict(latest.payload)
    conflicts = {c["field"]: FieldConflict.model_validate(c) for c in latest.conflicts}
    opened: list[str] = []
    changed = False
    for name, mine in changes.items():
        open_conflict = conflicts.get(name)
        if open_conflict is not None:
            if base.version >= open_conflict.opened_in:
                del conflicts[name]  # a person saw both values and chose
                payload[name] = mine
                changed = True
            elif all(candidate.value != mine for candidate in open_conflict.values):
                open_conflict.values.append(ConflictValue(value=mine, device_id=device_id,
                                                          version=new_version))
                opened.append(name)
                changed = True
            continue
        theirs = payload.get(name)
        if theirs == mine:
            continue
        if name in others:
            other = others[name]
            conflicts[name] = _conflict(name, theirs, other, mine, device_id, new_version)
            opened.append(name)
        else:
            payload[name] = mine
        changed = True
    if changed and not _valid(kind, payload):
        # Each change was fine alone but together they break a rule across fields (e.g. the
        # CCCD against the birth year): keep the latest document, put every change up for choice.
        payload = dict(latest.payload)
        conflicts = {c["field"]: FieldConflict.model_validate(c) for c in latest.conflicts}
        opened = []
        for name, mine in changes.items():
            if payload.get(name) != mine:
                conflicts[name] = _conflict(name, payload.get(name), latest, mine, device_id,
                                            new_version)
                opened.append(name)
    return Merged(payload=payload,
                  conflicts=[c.model_dump(mode="json") for c in conflicts.values()],
                  opened=opened, changed=changed)


def _conflict(name: str, theirs: Any, other: Version, mine: Any, device_id: str,
              new_version: int) -> FieldConflict:
    return FieldConflict(field=name, opened_in=new_version, values=[
        ConflictValue(value=theirs, device_id=other.device_id, version=other.version),
        ConflictValue(value=mine, device_id=device_id, version=new_version),
    ])


def _valid(kind: str, payload: dict[str, Any]) -> bool:
    try:
        parse_payload(kind, payload)
    except (ValidationError, ValueError):
        return False
    return True
