"""A Bundle from a city system applied to HSSK's records (DESIGN: "Data from the city's systems").

Patients are matched first (``person_index``: attach, create a registered person in the
source's area, or queue for review); then each Observation, Immunization and Encounter becomes a
fact of that person, entered by the source — the server sets that, and nobody else can. The
same resource version sent again changes nothing; a new version supersedes the record of the
previous one. A ``batch`` keeps every entry that holds; a ``transaction`` keeps all or nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from sync.errors import InvalidValue
from sync.ids import new_id, utc_now
from sync.records import EnteredBy, PersonProfile, RecordKind, invalid_values
from sync.server import areas, data_rights, person_index, progress, scopes, sources
from sync.server.fhir_in import (
    EntryRefused,
    IncomingFact,
    IncomingPatient,
    Read,
    Sent,
    operation_outcome,
    read_all,
)
from sync.server.intake_models import MatchReview, SourceResource
from sync.server.models import AuditEntry, ServerRecord, Source
from sync.server.storage import Storage

MAX_ENTRIES = 1000
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
SENT: Table = SourceResource.__table__  # type: ignore[attr-defined]
AUDITS: Table = AuditEntry.__table__  # type: ignore[attr-defined]


class BundleRefused(Exception):
    """The Bundle as a whole cannot be taken (not a batch or transaction, too large…)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.outcome = operation_outcome("invalid", vi, en)


@dataclass
class Answer:
    """One entry's answer: an HTTP status line, where the record is, and why if refused."""

    status: str
    location: str | None = None
    outcome: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return not self.status.startswith("2")

    def entry(self) -> dict[str, Any]:
        response: dict[str, Any] = {"status": self.status}
        if self.location:
            response["location"] = self.location
        if self.outcome:
            response["outcome"] = self.outcome
        return {"response": response}


def refused(error: EntryRefused) -> Answer:
    """The answer for a resource refused before it reached the intake."""
    return Answer(f"{error.status} {'Forbidden' if error.status == 403 else 'Bad Request'}",
                  outcome=error.outcome())


@dataclass
class _Intake:
    session: Session
    source: Source
    areas: set[str]
    now: Any = field(default_factory=utc_now)
    versions: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    by_url: dict[str, str] = field(default_factory=dict)   # fullUrl → person id
    by_id: dict[str, str] = field(default_factory=dict)    # Patient id → person id

    # What earlier sends became, read once per chunk: (type, id) → version → (record, person).
    seen: dict[tuple[str, str], dict[str, tuple[str, str]]] = field(default_factory=dict)
    areas_of: dict[str, str | None] = field(default_factory=dict)
    lookup: person_index.Lookup | None = None
    erased: set[str] = field(default_factory=set)  # CCCDs of persons erased on request

    def prefetch(self, items: list[IncomingPatient | IncomingFact]) -> None:
        """Read in one query what this source sent before of these resources and of the
        Patients they refer to (a bulk import's chunk asks once, not once per line)."""
        wanted = {(i.sent.resource_type, i.sent.resource_id) for i in items}
        wanted |= {("Patient", str(i.subject.get("reference", "")).removeprefix("Patient/"))
                   for i in items if isinstance(i, IncomingFact)}
        s = SENT.c
        # By type, then id: the key's order (source, type, id, version), so each is a range.
        for resource_type in sorted({kind for kind, _ in wanted}):
            ids = sorted(resource_id for kind, resource_id in wanted if kind == resource_type)
            for start in range(0, len(ids), 500):
                rows = self.session.execute(select(
                    s.resource_id, s.version, s.record_id, s.person_id).where(
                    s.source_id == self.source.id, s.resource_type == resource_type,
                    s.resource_id.in_(ids[start:start + 500]))).all()
                for resource_id, version, record_id, person_id in rows:
                    self.seen.setdefault((resource_type, str(resource_id)), {})[str(version)] \
                        = (str(record_id), str(person_id))
        for key in wanted:
            self.seen.setdefault(key, {})
        patients = [i for i in items if isinstance(i, IncomingPatient)]
        self.erased = data_rights.erased_cccds(self.session, [p.cccd or "" for p in patients])
        self.lookup = person_index.prefetch(self.session, [
            (p.cccd, p.bhyt, p.full_name, p.birth_date) for p in patients])
        # Where the persons they may be about are registered: one query, not one a person.
        persons = {person for found in (self.lookup.ids or {}).values() for person in found}
        persons |= {person for rows in (self.lookup.names or {}).values()
                    for person, _ in rows}
        persons |= {person for versions in self.seen.values() for _, person in versions.values()}
        self.areas_of.update(scopes.person_areas(self.session, persons))

    def known(self, sent: Sent) -> dict[str, tuple[str, str]]:
        """The records this source's earlier versions of a resource became: version → ids."""
        key = (sent.resource_type, sent.resource_id)
        if key not in self.seen:
            s = SENT.c
            rows = self.session.execute(select(s.version, s.record_id, s.person_id).where(
                s.source_id == self.source.id, s.resource_type == sent.resource_type,
                s.resource_id == sent.resource_id)).all()
            self.seen[key] = {str(v): (str(r), str(p)) for v, r, p in rows}
        return self.seen[key]

    def area(self, person_id: str) -> str | None:
        """Where a person is registered (asked once per person per chunk)."""
        if person_id not in self.areas_of:
            self.areas_of[person_id] = scopes.person_area(self.session, person_id)
        return self.areas_of[person_id]

    def patient(self, p: IncomingPatient, full_url: str | None) -> Answer:
        earlier = self.known(p.sent)
        if earlier:  # matched before: the same person, whatever this version says
            person_id = next(iter(earlier.values()))[1]
            if p.sent.version not in earlier:
                self._remember(p.sent, person_id, person_id)
            return self._attached(p, full_url, person_id, "200 OK")
        found = person_index.match(self.session, full_name=p.full_name, birth_date=p.birth_date,
                                   sex=p.sex, cccd=p.cccd, bhyt=p.bhyt, areas=self.areas,
                                   lookup=self.lookup)
        if found.outcome == "review":
            self.session.add(MatchReview(
                id=new_id(), area_code=self.source.areas[0], reason=found.reason or "several",
                candidates=list(found.candidates), source_id=self.source.id,
                resource=asdict(p)))
            self._audit("source_match_review", None, "person")
            return Answer("202 Accepted", outcome=operation_outcome(
                "multiple-matches", "Chưa chắc là ai: cán bộ phường sẽ xem và ghép hồ sơ; "
                "hãy gửi lại các mục của người này sau.",
                "Not certain who this is: the ward will review the match; send this "
                "patient's entries again later.", severity="information"))
        if found.outcome == "attach" and found.person_id:
            if self.area(found.person_id) not in self.areas:
                raise EntryRefused("forbidden", "Người này không ở khu vực của nguồn dữ liệu.",
                                   "This person is outside the source's areas.", status=403)
            self._remember(p.sent, found.person_id, found.person_id)
            self._audit("source_attach", found.person_id, "person")
            return self._attached(p, full_url, found.person_id, "200 OK")
        person_id = self.create_person(p)
        return self._attached(p, full_url, person_id, "201 Created")

    def create_person(self, p: IncomingPatient) -> str:
        if p.cccd and p.cccd in self.erased:
            raise EntryRefused("conflict", "Người này đã yêu cầu xoá hồ sơ: không tạo lại.",
                               "This person had their record erased on request: it is not "
                               "made again.", status=409)
        area = self.source.areas[0]
        try:
            payload = PersonProfile(full_name=p.full_name, birth_date=p.birth_date,
                                    sex=p.sex,
                                    cccd=p.cccd, bhyt=p.bhyt, phone=p.phone, address=p.address,
                                    area_code=area).model_dump(mode="json")
        except (ValueError, InvalidValue) as exc:
            found = invalid_values(exc)
            raise EntryRefused("value", found[0].message("vi") if found else str(exc),
                               found[0].message("en") if found else str(exc)) from None
        person_id = new_id()
        self._version(person_id, RecordKind.PERSON, person_id, area, payload, None)
        self._remember(p.sent, person_id, person_id)
        self.areas_of[person_id] = area
        if self.lookup is not None:
            self.lookup.add(person_id, cccd=payload["cccd"], bhyt=payload["bhyt"],
                            full_name=p.full_name, birth_date=p.birth_date, area=area)
        return person_id

    def _attached(self, p: IncomingPatient, full_url: str | None, person_id: str,
                  status: str) -> Answer:
        if full_url:
            self.by_url[full_url] = person_id
        self.by_id[p.sent.resource_id] = person_id
        return Answer(status, location=f"Patient/{person_id}")

    def fact(self, f: IncomingFact) -> Answer:
        if f.kind.value not in self.source.record_kinds:
            raise EntryRefused("forbidden", f"Nguồn này không được gửi {f.sent.resource_type}.",
                               f"This source may not send {f.sent.resource_type}.", status=403)
        person_id = self._subject(f.subject)
        area = self.area(person_id) or self._new_area(person_id)
        if area not in self.areas:
            raise EntryRefused("forbidden", "Người này không ở khu vực của nguồn dữ liệu.",
                               "This person is outside the source's areas.", status=403)
        earlier = self.known(f.sent)
        if f.sent.version in earlier:
            return Answer("200 OK", location=f"{f.sent.resource_type}/{earlier[f.sent.version][0]}")
        replaced = max(earlier.items(), key=lambda kv: _order(kv[0]))[1][0] if earlier else None
        record_id = new_id()
        self._version(record_id, f.kind, person_id, area, f.payload, replaced)
        self._remember(f.sent, record_id, person_id)
        return Answer("201 Created", location=f"{f.sent.resource_type}/{record_id}")

    def _subject(self, subject: dict[str, Any]) -> str:
        reference = subject.get("reference", "")
        if reference in self.by_url:
            return self.by_url[reference]
        if reference.startswith("Patient/"):
            resource_id = reference.removeprefix("Patient/")
            if resource_id in self.by_id:
                return self.by_id[resource_id]
            earlier = self.known(Sent("Patient", resource_id, ""))
            if earlier:
                return next(iter(earlier.values()))[1]
        raise EntryRefused("not-found", "Không tìm thấy người bệnh mà mục này nói tới: hãy gửi "
                           "Patient trong cùng gói, hoặc đợi cán bộ phường ghép hồ sơ.",
                           "The patient this entry refers to is unknown: send the Patient in "
                           "the same Bundle, or wait for the ward's match review.", status=400)

    def _new_area(self, person_id: str) -> str:
        return next((v["area_code"] for v in self.versions if v["id"] == person_id), "")

    def _version(self, record_id: str, kind: RecordKind, person_id: str, area: str,
                 payload: dict[str, Any], supersedes: str | None) -> None:
        self.versions.append({
            "id": record_id, "kind": str(kind), "person_id": person_id, "household_id": None,
            "version": 1, "parent_version": None, "supersedes": supersedes,
            "entered_by": str(EnteredBy.CLINIC_IMPORT), "device_id": sources.device_of(self.source),
            "created_at": self.now, "deleted": False, "payload": payload, "conflicts": [],
            "area_code": area, "received_at": self.now})
        self._audit("source_create", record_id, str(kind))

    def _remember(self, sent: Sent, record_id: str, person_id: str) -> None:
        self.known(sent)[sent.version] = (record_id, person_id)
        self.sent.append({"source_id": self.source.id, "resource_type": sent.resource_type,
                          "resource_id": sent.resource_id, "version": sent.version,
                          "record_id": record_id, "person_id": person_id,
                          "received_at": self.now})

    def _audit(self, action: str, record_id: str | None, kind: str) -> None:
        # Rows written with the records, in bulk: an object added to the session would be
        # flushed before every query of the chunk.
        self.audits.append({"at": self.now, "device_id": None, "account_id": None,
                            "action": action, "record_id": record_id, "kind": kind,
                            "detail": None, "source_id": self.source.id})


def remember_match(session: Session, source: Source, sent: Sent, person_id: str) -> None:
    """A person's decision on a reviewed Patient: this resource version is that person."""
    session.add(SourceResource(source_id=source.id, resource_type=sent.resource_type,
                               resource_id=sent.resource_id, version=sent.version,
                               record_id=person_id, person_id=person_id))


def create_registered(session: Session, storage: Storage, source: Source,
                      patient: IncomingPatient) -> str:
    """A registered person made from a source's Patient (a review decided "new"), written
    like any intake; returns the person's id."""
    with storage.writer():
        work = _Intake(session, source, set(source.areas))
        work.erased = data_rights.erased_cccds(session, [patient.cccd or ""])
        person_id = work.create_person(patient)
        _write(session, storage, work)
    return person_id


def _write(session: Session, storage: Storage, work: _Intake) -> None:
    connection = session.connection()
    storage.bulk_insert(connection, RECORDS, work.versions)
    storage.bulk_insert(connection, SENT, work.sent)
    storage.bulk_insert(connection, AUDITS, work.audits)
    person_index.refresh(session, work.versions)
    progress.refresh(session, {v["person_id"] for v in work.versions
                               if v["kind"] in (RecordKind.PERSON, RecordKind.DECLARATION,
                                                RecordKind.ENCOUNTER)},
                     written=work.versions)
    session.commit()


def _order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


def apply_bundle(session: Session, storage: Storage, source: Source,
                 bundle: Any) -> dict[str, Any]:
    """Apply a ``batch`` or ``transaction`` Bundle; returns the response Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get(
            "type") not in ("batch", "transaction"):
        raise BundleRefused("Cần một Bundle loại batch hoặc transaction.",
                            "Send a Bundle of type batch or transaction.")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise BundleRefused(f"Tối đa {MAX_ENTRIES} mục một lần; gói lớn hơn dùng $import.",
                            f"At most {MAX_ENTRIES} entries at once; use $import for more.")
    with storage.writer():
        answers = _apply(session, storage, source, entries, bundle["type"])
    kind = f"{bundle['type']}-response"
    return {"resourceType": "Bundle", "type": kind, "entry": [a.entry() for a in answers]}


def apply_entries(session: Session, storage: Storage, source: Source,
                  resources: list[Any], *, already_read: list[Read] | None = None
                  ) -> list[Answer]:
    """Apply resources as one ``batch`` (the bulk import's chunks); an answer for each.
    ``already_read``: ``read_all(resources)``, when another process has done it."""
    with storage.writer():
        return _apply(session, storage, source, [{"resource": r} for r in resources], "batch",
                      already_read)


def _apply(session: Session, storage: Storage, source: Source, entries: list[Any],
           bundle_type: str, already_read: list[Read] | None = None) -> list[Answer]:
    tree_areas = set().union(*(areas.subtree(session=session, root=a) for a in source.areas))
    intake = _Intake(session, source, tree_areas)
    answers: list[Answer | None] = [None] * len(entries)
    read_entries: list[tuple[int, IncomingPatient | IncomingFact, str | None]] = []
    readings = already_read if already_read is not None else read_all(
        [entry.get("resource") if isinstance(entry, dict) else None for entry in entries])
    for n, (entry, item) in enumerate(zip(entries, readings, strict=True)):
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(item, EntryRefused):
            answers[n] = refused(item)
        else:
            read_entries.append((n, item, full_url if isinstance(full_url, str) else None))
    intake.prefetch([item for _, item, _ in read_entries])
    # Patients first, so that the facts after them in the same Bundle find their person.
    for n, item, full_url in sorted(read_entries, key=lambda e: not isinstance(e[1],
                                                                             IncomingPatient)):
        try:
            answers[n] = (intake.patient(item, full_url) if isinstance(item, IncomingPatient)
                          else intake.fact(item))
        except EntryRefused as exc:
            answers[n] = refused(exc)
    done = [a for a in answers if a is not None]
    if bundle_type == "transaction" and any(a.failed for a in done):
        session.rollback()
        failed = next(n for n, a in enumerate(done) if a.failed)
        raise BundleRefused(f"Giao dịch không được ghi: mục {failed} bị từ chối.",
                            f"The transaction was not applied: entry {failed} was refused.")
    _write(session, storage, intake)
    return done
