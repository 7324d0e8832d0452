"""The residents registry: ``hssk-server import residents FILE --as-of DATE [--area CODE]``.

Each line (CSV with a header, or NDJSON) is a resident: CCCD, full name, birth date or year, sex,
the registry's household id, address, neighbourhood group, and optionally an ``event``
(``present``, ``moved_out``, ``died``). Residents and households the server has never seen
become *registered* persons and households in their group, so a collaborator's tablet lists who
has not declared yet before anyone types.

A person who declared already with the same CCCD is the same person: the registry fills their
identity fields that are empty; a name, birth date or sex that differs opens a conflict on the
record (both values kept, the declared one shown) that the collaborator resolves on the tablet;
nothing is overwritten silently. Where they live (household, group) is the registry's to say: a
move is a new version of the record, audited. A resident who moved away or died leaves the
ward's lists and figures (``left``), never the history. With ``--area`` the file is a full
snapshot of that area: its registry residents the file no longer names have moved away.

Streamed in chunks (each one transaction), resumable from a checkpoint, with an outcome for
every line in ``FILE.outcomes.ndjson`` — as the other bulk imports (``bulk_import.py``).
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from sync.errors import InvalidValue
from sync.ids import new_id, utc_now
from sync.names import fold
from sync.records import (
    Administrative,
    ConflictValue,
    EnteredBy,
    FieldConflict,
    Household,
    PersonProfile,
    RecordKind,
    invalid_values,
)
from sync.server import areas, data_rights, person_index, progress
from sync.server.bulk_import import ImportReport, paths, resume, save_checkpoint
from sync.server.errors import DomainError
from sync.server.models import (
    Area,
    AuditEntry,
    RegistryHousehold,
    RegistryResident,
    ServerRecord,
)
from sync.server.storage import Storage

COLUMNS = ("cccd", "full_name", "birth_date", "sex", "household_id", "address", "group_code")
EVENTS = {"": "present", "present": "present", "moved_out": "moved_out", "died": "died"}
SEXES = {"male": "male", "nam": "male", "m": "male", "female": "female", "nữ": "female",
         "nu": "female", "f": "female"}
DEVICE = "registry"  # the device id of what the registry writes
IDENTITY = ("full_name", "birth_date", "sex")  # differences open a conflict
FILLED = ("address",)  # filled when empty, else left as the person gave it
RESIDENCE = ("household_id", "area_code")  # where they live: the registry says
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
AUDITS: Table = AuditEntry.__table__  # type: ignore[attr-defined]
RESIDENTS: Table = RegistryResident.__table__  # type: ignore[attr-defined]
HOMES: Table = RegistryHousehold.__table__  # type: ignore[attr-defined]
CHUNK = 500


class RegistryFileError(DomainError):
    """A file the import cannot read at all (its header, its format): nothing is imported."""

    status = 422
    code = "invalid_registry_file"


class RowRefused(Exception):
    """One line refused, in both languages; the rest of the file goes on."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass(frozen=True)
class Row:
    cccd: str
    full_name: str
    birth_date: str
    sex: str
    household_key: str
    address: str
    group_code: str
    event: str  # present | moved_out | died


# --- reading lines ---------------------------------------------------------------------------


def _birth(text: str) -> str:
    text = text.strip()
    if len(text) == 10 and text[2] == "/" and text[5] == "/":  # 07/03/1950
        return f"{text[6:]}-{text[3:5]}-{text[:2]}"
    return text


def row_of(values: dict[str, Any]) -> Row:
    """A resident from one line's values, checked (CCCD, name, birth date, sex); raises
    ``RowRefused`` with the reason."""
    text = {k: str(values.get(k) or "").strip() for k in (*COLUMNS, "event")}
    sex = SEXES.get(text["sex"].lower())
    if sex is None:
        raise RowRefused("Giới tính phải là nam hoặc nữ.", "sex must be male or female")
    event = EVENTS.get(text["event"].lower())
    if event is None:
        raise RowRefused("Sự kiện phải là present, moved_out hoặc died.",
                         "event must be present, moved_out or died")
    if not text["cccd"]:
        raise RowRefused("Thiếu số CCCD.", "the CCCD is missing")
    for column in ("household_id", "group_code"):
        if not text[column] or len(text[column]) > 64:
            raise RowRefused(f"Thiếu hoặc sai {column}.", f"{column} is missing or too long")
    try:
        checked = Administrative(full_name=text["full_name"], birth_date=_birth(
            text["birth_date"]), sex=sex, cccd=text["cccd"], address=text["address"] or None)
    except (ValueError, InvalidValue) as exc:
        found = invalid_values(exc)
        raise RowRefused(found[0].message("vi") if found else "Dòng không hợp lệ.",
                         found[0].message("en") if found else str(exc)) from None
    return Row(cccd=checked.cccd or "", full_name=checked.full_name,
               birth_date=checked.birth_date, sex=sex, household_key=text["household_id"],
               address=checked.address or "", group_code=text["group_code"], event=event)


def csv_reader(header_line: bytes) -> Callable[[bytes], Row]:
    """A reader of the CSV lines after ``header_line``; a missing column refuses the file."""
    header = next(csv.reader([header_line.decode("utf-8-sig")]))
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RegistryFileError(f"missing columns: {', '.join(missing)}")

    def read(raw: bytes) -> Row:
        try:
            cells = next(csv.reader([raw.decode("utf-8")]))
        except (UnicodeDecodeError, StopIteration, csv.Error):
            raise RowRefused("Dòng không đọc được.", "unreadable line") from None
        return row_of(dict(zip(header, cells, strict=False)))
    return read


def ndjson_row(raw: bytes) -> Row:
    try:
        values = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RowRefused("Dòng không phải JSON.", "the line is not JSON") from None
    if not isinstance(values, dict):
        raise RowRefused("Dòng phải là một đối tượng JSON.", "the line must be a JSON object")
    return row_of(values)


# --- applying a chunk ------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # created | updated | unchanged | conflict | left | refused
    person_id: str | None = None
    vi: str = ""
    en: str = ""

    def line(self, number: int) -> dict[str, Any]:
        out: dict[str, Any] = {"line": number, "status": self.status}
        if self.person_id:
            out["person"] = self.person_id
        if self.en:
            out |= {"message_vi": self.vi, "message_en": self.en}
        return out


@dataclass
class _Chunk:
    """One transaction's work: the record versions and audit rows written at its end, and
    what earlier lines of the same chunk made (later lines find them)."""

    session: Session
    as_of: date
    tree: areas.Snapshot
    now: Any = field(default_factory=utc_now)
    versions: list[dict[str, Any]] = field(default_factory=list)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)  # record id → latest
    audits: list[dict[str, Any]] = field(default_factory=list)
    # Read ahead for the whole chunk (``prefetch``), and the rows it adds, written in bulk.
    residents: dict[str, RegistryResident | dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, RegistryHousehold | dict[str, Any]] = field(default_factory=dict)
    holders: dict[str, list[str]] = field(default_factory=dict)
    firsts: dict[str, str] = field(default_factory=dict)  # record id → first entered_by
    new_residents: list[dict[str, Any]] = field(default_factory=list)
    new_homes: list[dict[str, Any]] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)  # CCCDs of persons erased on request

    def prefetch(self, rows: list[Row]) -> None:
        """What the chunk's lines need, in a few queries: their registry residents and
        households, who holds their CCCDs, and the latest version of each record involved."""
        cccds = sorted({r.cccd for r in rows})
        keys = sorted({r.household_key for r in rows})
        self.erased |= data_rights.erased_cccds(self.session, cccds)
        for start in range(0, len(cccds), 500):
            part = cccds[start:start + 500]
            for resident in self.session.exec(select(RegistryResident).where(
                    col(RegistryResident.cccd).in_(part))):
                self.residents[resident.cccd] = resident
            i = person_index.IDENTIFIERS.c
            for person_id, value in self.session.execute(sa_select(i.person_id, i.value).where(
                    i.system == "cccd", i.value.in_(part))):
                self.holders.setdefault(str(value), []).append(str(person_id))
        for start in range(0, len(keys), 500):
            for home in self.session.exec(select(RegistryHousehold).where(
                    col(RegistryHousehold.key).in_(keys[start:start + 500]))):
                self.homes[home.key] = home
        ids = sorted({r.person_id if isinstance(r, RegistryResident) else r["person_id"]
                      for r in self.residents.values()}
                     | {p for found in self.holders.values() for p in found}
                     | {h.household_id if isinstance(h, RegistryHousehold) else h["household_id"]
                        for h in self.homes.values()})
        t = RECORDS.c
        for start in range(0, len(ids), 500):
            for row in self.session.execute(sa_select(
                    t.id, t.version, t.payload, t.conflicts, t.entered_by, t.area_code).where(
                    t.id.in_(ids[start:start + 500]))).mappings():
                if row["version"] == 1:
                    self.firsts[row["id"]] = row["entered_by"]
                held = self.heads.get(row["id"])
                if held is None or held["version"] < row["version"]:
                    self.heads[row["id"]] = dict(row)

    def write(self, record_id: str, kind: RecordKind, person_id: str | None, area: str,
              payload: dict[str, Any], conflicts: list[dict[str, Any]] | None = None) -> None:
        head = self.head(record_id)
        version = {
            "id": record_id, "kind": str(kind), "person_id": person_id,
            "household_id": payload.get("household_id") if kind == RecordKind.PERSON
            else record_id, "version": head["version"] + 1 if head else 1,
            "parent_version": head["version"] if head else None, "supersedes": None,
            "entered_by": str(EnteredBy.REGISTRY), "device_id": DEVICE,
            "created_at": self.now, "deleted": False, "payload": payload,
            "conflicts": conflicts if conflicts is not None else (
                head["conflicts"] if head else []),
            "area_code": area, "received_at": self.now}
        self.versions.append(version)
        self.heads[record_id] = version
        self.firsts.setdefault(record_id, str(EnteredBy.REGISTRY))
        self.audits.append({"at": self.now, "device_id": DEVICE, "account_id": None,
                            "action": "registry_write", "record_id": record_id,
                            "kind": str(kind), "detail": None, "source_id": None})

    def head(self, record_id: str) -> dict[str, Any] | None:
        if record_id not in self.heads:
            t = RECORDS.c
            row = self.session.execute(sa_select(
                t.id, t.version, t.payload, t.conflicts, t.entered_by, t.area_code)
                .where(t.id == record_id).order_by(t.version.desc()).limit(1)).mappings().first()
            if row is None:
                return None
            self.heads[record_id] = dict(row)
        return self.heads[record_id]

    def first_by(self, record_id: str) -> str | None:
        if record_id not in self.firsts:
            t = RECORDS.c
            self.firsts[record_id] = self.session.execute(sa_select(t.entered_by).where(
                t.id == record_id, t.version == 1)).scalar() or ""
        return self.firsts[record_id] or None

    def household(self, row: Row, person_id: str | None) -> str:
        """The household record of the registry's household id: known, adopted from the
        person's own household (typed before the registry came), or made now."""
        known = self.homes.get(row.household_key)
        own = (self.head(person_id) or {}).get("payload", {}).get("household_id") \
            if person_id else None
        if known is None:
            home_id = own or new_id()
            added = {"key": row.household_key, "household_id": home_id,
                     "group_code": row.group_code}
            self.homes[row.household_key] = added
            self.new_homes.append(added)
            if not own:
                self.write(home_id, RecordKind.HOUSEHOLD, None, row.group_code, Household(
                    address=row.address or row.household_key, area_code=row.group_code
                ).model_dump(mode="json"))
            return home_id
        home_id = str(_get(known, "household_id"))
        head = self.head(home_id)
        if head and (head["area_code"] != row.group_code or (
                row.address and head["payload"].get("address") != row.address)
                     ) and self.first_by(home_id) == EnteredBy.REGISTRY:
            self.write(home_id, RecordKind.HOUSEHOLD, None, row.group_code, {
                **head["payload"], "area_code": row.group_code,
                "address": row.address or head["payload"].get("address")})
            _set(known, group_code=row.group_code)
        return home_id

    def apply(self, row: Row) -> Outcome:
        if row.group_code not in self.tree.areas:
            raise RowRefused(f"Không có tổ/khu phố mã {row.group_code}.",
                             f"unknown group {row.group_code}")
        resident = self.residents.get(row.cccd)
        if resident is not None:
            person_id: str | None = _get(resident, "person_id")
        else:
            holders = sorted(self.holders.get(row.cccd, []))
            if len(holders) > 1:
                raise RowRefused("Nhiều hồ sơ cùng số CCCD này: phường cần ghép trước.",
                                 "several records hold this CCCD: the ward must merge them")
            person_id = holders[0] if holders else None
        if person_id is None and row.cccd in self.erased:
            return Outcome("erased", None, "Người này đã yêu cầu xoá hồ sơ: không tạo lại.",
                           "this person had their record erased on request: not made again")
        if person_id is None and row.event != "present":
            return Outcome("unchanged", None, "Không có người này: không có gì để ghi.",
                           "no such resident here: nothing to record")
        home_id = self.household(row, person_id)
        wanted = PersonProfile(full_name=row.full_name, birth_date=row.birth_date, sex=row.sex,
                               cccd=row.cccd, address=row.address or None,
                               household_id=home_id, area_code=row.group_code)
        if person_id is None:
            person_id = new_id()
            self.write(person_id, RecordKind.PERSON, person_id, row.group_code,
                       wanted.model_dump(mode="json"))
            self.holders[row.cccd] = [person_id]
            outcome = Outcome("created", person_id)
        else:
            outcome = self._update(person_id, row, wanted.model_dump(mode="json"))
        if resident is None:
            added = {"cccd": row.cccd, "person_id": person_id,
                     "household_key": row.household_key, "group_code": row.group_code,
                     "status": row.event, "as_of": self.as_of}
            self.residents[row.cccd] = added
            self.new_residents.append(added)
        else:
            _set(resident, household_key=row.household_key, group_code=row.group_code,
                 status=row.event, as_of=self.as_of)
        return outcome

    def _update(self, person_id: str, row: Row, wanted: dict[str, Any]) -> Outcome:
        head = self.head(person_id)
        assert head is not None
        ours = self.first_by(person_id) == EnteredBy.REGISTRY
        payload, conflicts = dict(head["payload"]), list(head["conflicts"] or [])
        opened: list[str] = []
        version = head["version"] + 1
        for name in (*IDENTITY, *FILLED, "cccd", "household_id", "area_code"):
            have, new = payload.get(name), wanted.get(name)
            if new in (None, "") or have == new:
                continue
            # The registry's own person; a field left empty; or where someone lives, which
            # is the registry's to say (a move is a new version, audited, never silent).
            if ours or have in (None, "") or _refines(name, have, new) or (
                    name in RESIDENCE and row.event == "present"):
                payload[name] = new
            elif name in IDENTITY and not _same_name(name, have, new) and not any(
                    c["field"] == name for c in conflicts):
                conflicts.append(FieldConflict(field=name, opened_in=version, values=[
                    ConflictValue(value=have, device_id="declared", version=head["version"]),
                    ConflictValue(value=new, device_id=DEVICE, version=version),
                ]).model_dump(mode="json"))
                opened.append(name)
        if row.event != "present":
            payload["left"], payload["left_on"] = row.event, self.as_of.isoformat()
        elif payload.get("left"):
            payload["left"] = payload["left_on"] = None  # back in the registry: moved back
        if payload == head["payload"] and not opened:
            return Outcome("unchanged", person_id)
        self.write(person_id, RecordKind.PERSON, person_id,
                   payload.get("area_code") or head["area_code"], payload, conflicts)
        if opened:
            return Outcome("conflict", person_id,
                           f"Khác với hồ sơ đã khai ({', '.join(opened)}): cán bộ phường "
                           "sẽ chọn giá trị đúng.",
                           f"differs from the declared record ({', '.join(opened)}): the "
                           "ward's collaborator chooses")
        return Outcome("left" if row.event != "present" else "updated", person_id)

    def finish(self, storage: Storage) -> None:
        connection = self.session.connection()
        storage.bulk_insert(connection, RECORDS, self.versions)
        storage.bulk_insert(connection, AUDITS, self.audits)
        storage.bulk_insert(connection, RESIDENTS, self.new_residents)
        storage.bulk_insert(connection, HOMES, self.new_homes)
        person_index.refresh(self.session, self.versions)
        progress.refresh(self.session, {v["person_id"] for v in self.versions
                                        if v["kind"] == RecordKind.PERSON},
                         written=self.versions)
        self.session.commit()


def _get(row: Any, name: str) -> Any:
    """A value of a registry row: read from the database, or added by this chunk."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _set(row: Any, **values: Any) -> None:
    if isinstance(row, dict):
        row.update(values)
    else:
        for name, value in values.items():
            setattr(row, name, value)


def _same_name(name: str, have: Any, new: Any) -> bool:
    """Names that differ only in case, spacing or accents typed: not a conflict."""
    return name == "full_name" and fold(str(have)) == fold(str(new))


def _refines(name: str, have: Any, new: Any) -> bool:
    """A bare birth year the registry completes with a day of that year."""
    return name == "birth_date" and len(str(have)) == 4 and str(new).startswith(str(have))


# --- the file --------------------------------------------------------------------------------


def import_file(session: Session, storage: Storage, source_file: Path, *, as_of: date,
                area: str | None = None, restart: bool = False, chunk: int = CHUNK,
                progress_to: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import a registry file (CSV by its ``.csv`` name, else NDJSON), resuming from its
    checkpoint unless ``restart``; with ``area``, a full snapshot of that area."""
    if area is not None and area not in areas.snapshot(session).areas:
        raise RegistryFileError(f"unknown area {area}")
    outcomes_path, checkpoint_path = paths(source_file)
    report, offset = resume(source_file, restart=restart)
    started = time.monotonic()
    with source_file.open("rb") as lines, outcomes_path.open("a", encoding="utf-8") as out:
        read: Callable[[bytes], Row] = ndjson_row
        if source_file.suffix.lower() == ".csv":
            header = lines.readline()
            read = csv_reader(header)
            if not offset:
                report.lines = 1
        if offset:
            lines.seek(offset)
        for batch in _chunks(lines, chunk):
            written = []
            parsed: list[Row | RowRefused | None] = []
            for raw in batch:
                try:
                    parsed.append(read(raw) if raw.strip() else None)
                except RowRefused as refused:
                    parsed.append(refused)
            with storage.writer():
                work = _Chunk(session, as_of, areas.snapshot(session))
                work.prefetch([r for r in parsed if isinstance(r, Row)])
                for row in parsed:
                    report.lines += 1
                    if row is None:
                        continue
                    try:
                        if isinstance(row, RowRefused):
                            raise row
                        outcome = work.apply(row)
                    except RowRefused as refused:
                        outcome = Outcome("refused", None, refused.vi, refused.en)
                    report.outcomes[outcome.status] += 1
                    written.append(json.dumps(outcome.line(report.lines), ensure_ascii=False))
                work.finish(storage)
            out.write("".join(w + "\n" for w in written))
            out.flush()
            os.fsync(out.fileno())
            save_checkpoint(checkpoint_path, lines.tell(), report)
            report.chunks += 1
            if report.chunks & (report.chunks - 1) == 0:  # after chunks 1, 2, 4, 8…
                # The tables this import fills were planned as empty until autovacuum noticed.
                storage.refresh_statistics(session.connection())
                session.commit()
            if progress_to is not None:
                progress_to(lines.tell(), report.lines)
    if area is not None and (gone := moved_out_since(session, storage, area, as_of)):
        report.outcomes["moved_out (not in the snapshot)"] += gone
    report.seconds = time.monotonic() - started
    return report


def _chunks(lines: Any, size: int) -> Iterator[list[bytes]]:
    while True:
        batch = [raw for raw in (lines.readline() for _ in range(size)) if raw]
        if not batch:
            return
        yield batch


def moved_out_since(session: Session, storage: Storage, area: str, as_of: date) -> int:
    """After a full snapshot of ``area``: its registry residents that the snapshot did not
    name (their last file is older) moved away on ``as_of``. Returns how many."""
    codes = sorted(areas.snapshot(session).subtree(area))
    gone = list(session.exec(select(RegistryResident).where(
        col(RegistryResident.group_code).in_(codes), RegistryResident.status == "present",
        col(RegistryResident.as_of) < as_of)).all())
    for start in range(0, len(gone), CHUNK):
        work = _Chunk(session, as_of, areas.snapshot(session))
        work.residents = {r.cccd: r for r in gone[start:start + CHUNK]}
        work.prefetch([])
        for resident in gone[start:start + CHUNK]:
            head = work.head(resident.person_id)
            if head is not None and not head["payload"].get("left"):
                work.write(resident.person_id, RecordKind.PERSON, resident.person_id,
                           head["area_code"], {**head["payload"], "left": "moved_out",
                                               "left_on": as_of.isoformat()})
            resident.status, resident.as_of = "moved_out", as_of
            session.add(resident)
        work.finish(storage)
    return len(gone)


def set_targets(session: Session, area: str) -> dict[str, int]:
    """Each group of ``area`` gets as target the registry's residents living there."""
    codes = sorted(areas.snapshot(session).subtree(area))
    r = RegistryResident.__table__.c  # type: ignore[attr-defined]
    counts: dict[str, int] = {str(code): int(n) for code, n in session.execute(
        sa_select(r.group_code, func.count()).where(r.group_code.in_(codes),
                                                    r.status == "present")
        .group_by(r.group_code)).all()}
    for code, n in counts.items():
        found = session.get(Area, code)
        if found is not None:
            found.target_population = int(n)
            session.add(found)
    session.commit()
    return {str(code): int(n) for code, n in counts.items()}
