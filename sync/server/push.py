"""Push: a device's batch applied in one transaction, each mutation authorised as scope stands now.

Creates — nearly all of the traffic — are decided in bulk: one query for the ids already known,
one for the persons the caller may write, then one ``storage.bulk_insert`` for the new versions.
The audit gets one line for the batch, naming it (its stored results list every record and
version) and the persons it touched; refusals keep a line each. Document edits are merged
against what other devices wrote since the edit's base version (``merge.py``). A change into
a scope the caller has lost (a revoked grant) goes to quarantine: kept, reported, never
applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from sync.ids import utc_now
from sync.protocol import Mutation, MutationResult, MutationStatus, PushRequest, PushResponse
from sync.records import DOCUMENT_KINDS, FACT_KINDS, EnteredBy, RecordData, RecordKind
from sync.server import data_rights, person_index, progress, scopes
from sync.server.accounts import Caller
from sync.server.errors import Conflict, DomainError
from sync.server.merge import Version, changed_by_others, merge
from sync.server.models import AuditEntry, PersonLink, Quarantine, ServerRecord, SyncBatch
from sync.server.storage import Storage, among

ATTEMPTS = 3
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]


def apply_push(*, session: Session, caller: Caller, storage: Storage, request: PushRequest,
               body_hash: str | None = None) -> PushResponse:
    """Apply a batch and store its result; a replay returns that result, a different body
    under a known ``batch_id`` is a conflict. Concurrent writers of the same record retry.

    ``body_hash`` identifies the body (the route passes a digest of the bytes received);
    by default it is computed from ``request``."""
    body_hash = body_hash or request.body_hash()
    if request.device_id != caller.device_id:
        raise DomainError("batch device_id does not match the signed-in device")
    for attempt in range(ATTEMPTS):
        try:
            with storage.writer():
                return _apply(session, caller, storage, request, body_hash)
        except IntegrityError:
            # Another transaction wrote the same record version or batch id first (PostgreSQL):
            # start again from what it committed.
            session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _apply(session: Session, caller: Caller, storage: Storage, request: PushRequest,
           body_hash: str) -> PushResponse:
    stored = session.get(SyncBatch, request.batch_id)
    if stored is not None:
        if stored.device_id != caller.device_id or stored.body_hash != body_hash:
            raise Conflict("a different batch was already received under this batch_id")
        return PushResponse.model_validate_json(stored.response_json)
    batch = _Batch(session, caller, request)
    results = [batch.decide(m) for m in request.mutations]
    connection = session.connection()
    _insert(storage, connection, ServerRecord, batch.versions)
    # The person index (for records that flow in from the city's systems) follows every push.
    person_index.refresh(session, batch.versions)
    person_index.flag_pushed_duplicates(session, batch.versions)
    _insert(storage, connection, AuditEntry, batch.audits)
    if batch.versions:
        # One audit line for what the batch wrote: the batch (kept with its results, which
        # name every record and version) and the persons it touched ("who changed my record").
        entry = AuditEntry(at=batch.now, account_id=caller.account.id,
                           device_id=caller.device_id, action="push",
                           detail=f"batch {request.batch_id}")
        session.add(entry)
        session.flush()
        assert entry.id is not None
        data_rights.served(session, entry.id, {
            v["id"] if v["kind"] == RecordKind.PERSON else v["person_id"]
            for v in batch.versions if v["person_id"]}, storage)
    _insert(storage, connection, Quarantine, batch.quarantined)
    # The area figures move with the records, in the same transaction.
    progress.refresh(session, {
        v["id"] if v["kind"] == RecordKind.PERSON else v["person_id"] for v in batch.versions
        if v["kind"] in (RecordKind.PERSON, RecordKind.DECLARATION) and v["person_id"]},
        written=batch.versions)
    _insert(storage, connection, PersonLink, [
        {"person_id": p, "account_id": caller.account.id, "relation": "owner",
         "scope": "manage", "created_at": batch.now, "revoked_at": None, "consent_id": None}
        for p in batch.owned])
    response = PushResponse.model_construct(batch_id=request.batch_id, results=results)
    session.add(SyncBatch(batch_id=request.batch_id, device_id=caller.device_id,
                          body_hash=body_hash, response_json=response.model_dump_json()))
    session.commit()
    return response


def _insert(storage: Storage, connection: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    table: Table = model.__table__
    storage.bulk_insert(connection, table, rows)


@dataclass
class _Head:
    """The latest version of a record as this batch sees it (stored, or written earlier in it)."""

    version: int
    kind: str
    person_id: str | None
    area_code: str
    deleted: bool
    payload: dict[str, Any]
    device_id: str
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    household_id: str | None = None
    entered_by: str = EnteredBy.SELF


class _Batch:
    """The decisions for one batch, and the rows they produce."""

    def __init__(self, session: Session, caller: Caller, request: PushRequest) -> None:
        self.session, self.caller, self.batch_id = session, caller, request.batch_id
        self.now = utc_now()
        self.versions: list[dict[str, Any]] = []
        self.audits: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.owned: list[str] = []
        self.pending: dict[str, list[Version]] = {}
        records = [m.record for m in request.mutations]
        referenced = {ref for r in records
                      for ref in (r.supersedes, *_households_named(r), _reported(r))}
        self.heads = self._heads({r.id for r in records} | {ref for ref in referenced if ref})
        persons = {r.id if r.kind == RecordKind.PERSON else r.person_id for r in records}
        # Records named by id that already exist count too: a create under a known id is
        # answered from the stored record's scope, never from its content.
        persons |= {h.person_id for h in self.heads.values() if h.person_id}
        # Every access decision of the batch is scopes.py's, made here in bulk.
        self.scope = scopes.writable_persons(self.session, self.caller,
                                             {p for p in persons if p})
        self.writable, self.revoked, self.relation = (self.scope.writable, self.scope.revoked,
                                                      self.scope.relation)

    # --- prefetch ------------------------------------------------------------------------------

    def _heads(self, ids: set[str]) -> dict[str, _Head]:
        heads: dict[str, _Head] = {}
        if not ids:
            return heads
        t = RECORDS.c
        connection = self.session.connection()
        rows = connection.execute(
            sa_select(t.id, t.version, t.kind, t.person_id, t.area_code, t.deleted, t.payload,
                      t.device_id, t.conflicts, t.household_id, t.entered_by
                      ).where(among(connection, t.id, ids))
        ).all()
        for (rid, version, kind, person_id, area, deleted, payload, device, conflicts, home,
             entered_by) in rows:
            if rid not in heads or heads[rid].version < version:
                heads[rid] = _Head(version, kind, person_id, area, deleted, payload, device,
                                   conflicts, home, entered_by)
        return heads

    # --- decisions -----------------------------------------------------------------------------

    def decide(self, mutation: Mutation) -> MutationResult:
        record = mutation.record
        head = self.heads.get(record.id)
        if mutation.op == "create":
            if head is not None:
                # Whose record the id names decides the answer, whatever the body: the same
                # refusal for any id outside the caller's scope (no content oracle).
                if not self._may_write_head(head):
                    return self._refused(mutation)
                # A create seen before (a replay in another batch) is a duplicate, never a
                # second row.
                if head.version == 1 and head.payload == record.payload:
                    return self._result(mutation, "duplicate", 1)
                return self._result(mutation, "rejected", reason="id_exists")
            area = self._create_area(mutation)
            if area is None:
                return self._refused(mutation)
            if not self._references_hold(mutation, None):
                return self._result(mutation, "rejected", reason="invalid_reference")
            replaced = self.heads.get(mutation.record.supersedes or "")
            if replaced is not None and replaced.entered_by == EnteredBy.CLINIC_IMPORT:
                # What a health facility sent is corrected by it, on a person's report.
                return self._result(mutation, "rejected", reason="institutional_record")
            if record.kind == RecordKind.CORRECTION_REQUEST and (
                    record.payload.get("status") != "requested" or record.payload.get("answer")
                    or record.payload.get("answered_at")):
                return self._result(mutation, "rejected", reason="answered_by_source")
            return self._write(mutation, version=1, area=area, payload=record.payload,
                               conflicts=[], status="applied")
        if head is not None and not self._may_write_head(head):
            return self._refused(mutation)
        if record.kind == RecordKind.HOUSEHOLD:
            # A household belongs to an area, not a person: a collaborator working there.
            if head is not None and not self.scope.collaborates_in(head.area_code):
                return self._refused(mutation)
        else:
            person_id = record.id if record.kind == RecordKind.PERSON else record.person_id
            if person_id is None or person_id not in self.writable:
                return self._refused(mutation)
        if record.kind not in DOCUMENT_KINDS:
            return self._result(mutation, "rejected", reason="facts_are_immutable")
        if record.kind == RecordKind.CORRECTION_REQUEST:
            # Sent is sent: what happens to it is the source's answer, written by the server.
            return self._result(mutation, "rejected", reason="answered_by_source")
        if head is None:
            return self._result(mutation, "rejected", reason="unknown_record")
        if head.person_id != record.person_id or head.kind != record.kind:
            return self._result(mutation, "rejected", reason="record_mismatch")
        if head.deleted:
            return self._result(mutation, "rejected", reason="deleted")
        if not self._references_hold(mutation, head):
            return self._result(mutation, "rejected", reason="invalid_reference")
        history = self._history(record.id, mutation.base_version, head)
        if history is None:
            return self._result(mutation, "rejected", reason="unknown_base_version")
        if mutation.op == "delete":
            if changed_by_others(history, self.caller.device_id):
                return self._result(mutation, "rejected", reason="changed_elsewhere")
            return self._write(mutation, version=head.version + 1, area=head.area_code,
                               payload=head.payload, conflicts=[], status="applied",
                               deleted=True)
        base = history[0].payload
        names = mutation.changed_fields or [
            n for n in base.keys() | record.payload.keys() if base.get(n) != record.payload.get(n)]
        merged = merge(kind=record.kind, history=history, device_id=self.caller.device_id,
                       changes={n: record.payload.get(n) for n in names},
                       new_version=head.version + 1)
        if not merged.changed:
            return self._result(mutation, "duplicate", head.version)
        return self._write(mutation, version=head.version + 1, area=head.area_code,
                           payload=merged.payload, conflicts=merged.conflicts,
                           status="conflict" if merged.opened else "applied",
                           fields=merged.opened)

    def _create_area(self, mutation: Mutation) -> str | None:
        """The area a new record belongs to, if the caller may create it, else None."""
        record = mutation.record
        return self.scope.create_area(record.kind, record.id, record.person_id,
                                      record.payload.get("area_code"))

    def _may_write_head(self, head: _Head) -> bool:
        return self.scope.may_change(head.kind, head.person_id, head.area_code)

    def _references_hold(self, mutation: Mutation, head: _Head | None) -> bool:
        """Every record a mutation names is one the caller may name: a correction supersedes
        a fact of the same person and kind; a household is one the caller works in, or the
        one the person is already in; a grant or consent is about the record's own person."""
        record = mutation.record
        if record.supersedes is not None:
            target = self.heads.get(record.supersedes)
            if (record.kind not in FACT_KINDS or target is None or target.kind != record.kind
                    or target.person_id != record.person_id or target.deleted):
                return False
        current = _households_named_by(head) if head is not None else set()
        for household_id in _households_named(record) - current:
            home = self.heads.get(household_id)
            if home is None or home.kind != RecordKind.HOUSEHOLD or home.deleted or not (
                    self.scope.collaborates_in(home.area_code)):
                return False
        payload = record.payload
        if record.kind == RecordKind.CORRECTION_REQUEST:
            # A report is about a record a city system sent for this same person.
            reported = self.heads.get(payload.get("record_id") or "")
            if (reported is None or reported.entered_by != EnteredBy.CLINIC_IMPORT
                    or reported.person_id != record.person_id or reported.deleted):
                return False
        if record.kind in (RecordKind.ACCESS_GRANT, RecordKind.CONSENT) and (
                payload.get("person_id") != record.person_id):
            return False
        head_person = payload.get("head_person_id") if record.kind == RecordKind.HOUSEHOLD \
            else None
        return head_person is None or head_person in self.writable

    def _history(self, record_id: str, base_version: int | None,
                 head: _Head) -> list[Version] | None:
        """The versions from ``base_version`` to the head, or None if the base is unknown."""
        if base_version is None or not 1 <= base_version <= head.version:
            return None
        t = RECORDS.c
        stored = self.session.connection().execute(
            sa_select(t.version, t.payload, t.device_id, t.conflicts)
            .where(t.id == record_id, t.version >= base_version).order_by(t.version)
        ).all()
        versions = [Version(v, p, d, c) for v, p, d, c in stored]
        versions += [v for v in self.pending.get(record_id, []) if v.version >= base_version]
        return versions

    def _write(self, mutation: Mutation, *, version: int, area: str, payload: dict[str, Any],
               conflicts: list[dict[str, Any]], status: MutationStatus,
               fields: list[str] | None = None, deleted: bool = False) -> MutationResult:
        record, device = mutation.record, self.caller.device_id
        self.versions.append({
            "id": record.id, "kind": str(record.kind), "person_id": record.person_id,
            "household_id": record.household_id, "version": version,
            "parent_version": version - 1 if version > 1 else None,
            "supersedes": record.supersedes, "entered_by": str(self._entered_by(record)),
            # The signed-in device, never the one a client names.
            "device_id": device, "created_at": record.created_at, "deleted": deleted,
            "payload": payload, "conflicts": conflicts, "area_code": area,
            "received_at": self.now,
        })
        self.heads[record.id] = _Head(version, record.kind, record.person_id, area, deleted,
                                      payload, device, conflicts, record.household_id)
        self.pending.setdefault(record.id, []).append(
            Version(version, payload, device, conflicts))
        if record.kind == RecordKind.PERSON and version == 1:
            self.writable[record.id] = area
            if self.caller.account.role == "citizen":
                self.owned.append(record.id)
        return self._result(mutation, status, version, fields=fields or [])

    def _entered_by(self, record: RecordData) -> EnteredBy:
        """Who entered the values, decided here from the caller's role and relation to the
        person; a device's claim counts only to tell the owner's own values from those the
        owner enters for a dependant on the same phone (a young child)."""
        if self.caller.account.role == "collaborator":
            return EnteredBy.COLLABORATOR
        person_id = record.id if record.kind == RecordKind.PERSON else record.person_id
        if self.relation.get(person_id or "", "owner") != "owner":
            return EnteredBy.FAMILY
        return EnteredBy.FAMILY if record.entered_by == EnteredBy.FAMILY else EnteredBy.SELF

    def _refused(self, mutation: Mutation) -> MutationResult:
        record = mutation.record
        person_id = record.id if record.kind == RecordKind.PERSON else record.person_id
        if person_id in self.revoked:
            self.quarantined.append({
                "received_at": self.now, "account_id": self.caller.account.id,
                "device_id": self.caller.device_id, "batch_id": self.batch_id,
                "mutation_id": mutation.mutation_id, "record_id": record.id,
                "person_id": person_id, "reason": "access_revoked",
                "mutation_json": mutation.model_dump_json(),
            })
            self._audit("push_quarantined", mutation)
            return self._result(mutation, "quarantined", reason="access_revoked")
        self._audit("push_denied", mutation)
        return self._result(mutation, "rejected", reason="out_of_scope")

    def _audit(self, action: str, mutation: Mutation) -> None:
        self.audits.append({"at": self.now, "device_id": self.caller.device_id,
                            "account_id": self.caller.account.id, "action": action,
                            "record_id": mutation.record.id, "kind": str(mutation.record.kind),
                            "detail": None})

    @staticmethod
    def _result(mutation: Mutation, status: MutationStatus, version: int | None = None,
                reason: str | None = None, fields: list[str] | None = None) -> MutationResult:
        # Built from values this module chose: nothing to validate (a batch has hundreds).
        return MutationResult.model_construct(
            mutation_id=mutation.mutation_id, record_id=mutation.record.id, status=status,
            version=version, reason=reason, fields=fields or [])



def _reported(record: RecordData) -> str | None:
    """The record a correction request reports as wrong."""
    if record.kind != RecordKind.CORRECTION_REQUEST:
        return None
    return str(record.payload.get("record_id") or "") or None


def _households_named(record: RecordData) -> set[str]:
    """The households a record points at (a household's own id is not a reference)."""
    named = {record.household_id}
    if record.kind == RecordKind.PERSON:
        named.add(record.payload.get("household_id"))
    named.discard(record.id)
    return {h for h in named if h}


def _households_named_by(head: _Head) -> set[str]:
    """The household a stored document is in already (moving nowhere needs no right)."""
    homes = {head.household_id}
    if head.kind == RecordKind.PERSON:
        homes.add(head.payload.get("household_id"))
    return {h for h in homes if h}
