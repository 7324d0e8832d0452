"""The state of a person's page (their record, FHIR export, who else holds it) and of
accepting a relative's invite or a collaborator's handover on this phone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

import flet as ft
from sqlmodel import Session

from app.device import local_records, photos, scanning, settings, store
from app.device.store import LocalRecord
from app.person import family, fhir, health_record, rights, summary
from app.ui.context import FactKind, FactRequest, FormRequest, Outcome, Shared
from app.ui.i18n import t
from app.ui.typed import Typed
from sync.errors import HsskError, InstitutionalRecord
from sync.protocol import AccessLogEntry, GrantView
from sync.records import Administrative, Declaration, Encounter, Immunization

# Asked soon after the code is shown (the relative is usually beside the owner), then less
# often: each ask is an audited read of who holds access.
INVITE_CHECKS_SECONDS = (4, 4, 4, 8, 8, 15, 30)
_WATCHING: set[asyncio.Task[None]] = set()  # running tasks are kept, not garbage-collected


@ft.observable
@dataclass
class PersonState:
    ctx: Shared
    record: health_record.PersonRecord | None = None
    # Family access: the code shown on this phone, who holds access, the code typed.
    invite: family.ShownInvite | None = None
    grants: list[GrantView] | None = None
    error: str | None = None
    busy: bool = False
    invite_input: Typed = field(default_factory=Typed)
    needs_birth_date: bool = False  # a handover code: confirm the person's birth date
    exported: bool = False  # said beside the button pressed, not at the top of the page
    invite_note: str | None = None  # "copied", "your relative accepted", beside the invite
    reporting: str | None = None  # the record whose "Báo sai" form is open
    report_input: Typed = field(default_factory=Typed)
    report_photo: str | None = None  # base64 JPEG, once a picture is attached
    report_error: str | None = None
    # Rights over the data: who has seen the record, a request to erase it.
    access_log: list[AccessLogEntry] | None = None
    erase_asking: bool = False
    erase_reason: str = ""
    erase_sent: bool = False
    rights_error: str | None = None

    def open(self, person_id: str) -> None:
        self.record = self._load(person_id)
        self.error, self.invite, self.grants, self.exported = None, None, None, False
        self.invite_note = None
        self.access_log, self.erase_asking, self.erase_sent = None, False, False
        self.erase_reason, self.rights_error = "", None

    async def show_access_log(self) -> None:
        """Who read or changed this record (the server's audit; needs a connection)."""
        assert self.record is not None
        try:
            self.access_log = await rights.access_log(
                self.ctx.services.engine, self.record.person_id, http=self.ctx.services.sync.http)
            self.rights_error = None
        except HsskError as exc:
            self.rights_error = exc.message(self.ctx.lang)

    def start_erase(self) -> None:
        self.erase_asking, self.erase_sent = True, False

    def set_erase_reason(self, value: str) -> None:
        self.erase_reason = value

    async def send_erase(self) -> None:
        """Ask the server to erase this record; an administrator confirms it."""
        assert self.record is not None
        try:
            await rights.request_erase(self.ctx.services.engine, self.record.person_id,
                                       self.erase_reason, http=self.ctx.services.sync.http)
        except HsskError as exc:
            self.rights_error = exc.message(self.ctx.lang)
            return
        self.erase_asking, self.erase_sent, self.rights_error = False, True, None

    def reload(self) -> bool:
        """Re-read the open record (after a save or a sync round: reminders as of today);
        False when it has left this device (its owner withdrew this account's access)."""
        if self.record is None:
            return True
        try:
            self.record = self._load(self.record.person_id)
        except store.NotEditable:
            self.record = None
            return False
        return True

    def close(self) -> None:
        self.record = None

    def _load(self, person_id: str) -> health_record.PersonRecord:
        with Session(self.ctx.services.engine) as session:
            return health_record.load(session, person_id, today=self.ctx.today(),
                                      default_months=self.ctx.default_months())

    # --- what the page opens -------------------------------------------------------------

    def update_declaration(self) -> Outcome:
        """A new declaration for this person, starting from their latest one, or (never
        declared: registered by the residents registry) from who they are on record."""
        assert self.record is not None
        start = self.record.latest
        if start is None:
            p = self.record.profile
            start = Declaration(declared_on=date.today(), administrative=Administrative(
                **p.model_dump(include=set(Administrative.model_fields))))
        return Outcome(declare=FormRequest(self.record.person_id, start_from=start))

    def correct_declaration(self, record_id: str) -> Outcome:
        """Correct a past declaration: the form starts from it; saving supersedes it."""
        assert self.record is not None
        entry = next(e for e in self.record.history if e.record_id == record_id)
        return Outcome(declare=FormRequest(self.record.person_id, corrects=record_id,
                                           corrects_day=entry.day, start_from=entry.payload))

    def add_fact(self, kind: FactKind) -> Outcome:
        """A new vaccination or visit."""
        assert self.record is not None
        return Outcome(fact=FactRequest(kind, self.record.person_id))

    def correct_fact(self, kind: FactKind, record_id: str) -> Outcome:
        """Correct a vaccination or a visit: the form starts from it; saving supersedes it."""
        assert self.record is not None
        entry = next(e for e in self.record.facts() if e.record_id == record_id)
        if entry.institutional:
            raise InstitutionalRecord()
        assert isinstance(entry.payload, Immunization | Encounter)
        return Outcome(fact=FactRequest(kind, self.record.person_id, corrects=record_id,
                                        start_from=entry.payload))

    def fhir_export(self) -> tuple[str, bytes]:
        """The open person's record as a FHIR R4 Bundle: (file name, JSON bytes)."""
        assert self.record is not None
        text = fhir.bundle_json(self.record, generated_on=self.ctx.today())
        return f"hssk-{self.record.person_id}.fhir.json", text.encode()

    def summary_export(self) -> tuple[str, bytes]:
        """The open person's record as a printable summary: (file name, PDF bytes)."""
        assert self.record is not None
        data = summary.summary_pdf(self.record, self.ctx.lang, today=self.ctx.today())
        return f"hssk-{self.record.person_id}.pdf", data

    def export_done(self) -> None:
        self.exported = True

    # --- "Báo sai": reporting a mistake in what a city system sent --------------------------

    def start_report(self, record_id: str) -> None:
        self.reporting, self.report_input, self.report_error = record_id, Typed(), None
        self.report_photo = None

    async def attach_report_photo(self, data: bytes) -> None:
        """A picture of the paper with the right value, made small enough to send."""
        try:
            self.report_photo = await asyncio.to_thread(photos.report_photo, data)
            self.report_error = None
        except HsskError as exc:
            self.report_error = exc.message(self.ctx.lang)

    def remove_report_photo(self) -> None:
        self.report_photo = None

    def cancel_report(self) -> None:
        self.reporting, self.report_error = None, None

    def set_report_text(self, text: str) -> None:
        self.ctx.services.touch()
        self.report_input.values["comment"] = text

    def send_report(self) -> Outcome | None:
        """Keep the report on this device, queued for the next sync (it needs no connection)."""
        assert self.record is not None and self.reporting is not None
        comment = " ".join(self.report_input.get("comment").split())
        if not comment:
            self.report_error = t("report_empty", self.ctx.lang)
            return None
        with Session(self.ctx.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            local_records.report_mistake(
                session=session, record_id=self.reporting, comment=comment[:1000],
                photo_jpeg=self.report_photo, device_id=device_id,
                entered_by=local_records.entered_by(session, self.record.person_id))
        self.reporting, self.report_error, self.report_photo = None, None, None
        self.reload()
        return Outcome(notice=t("report_saved", self.ctx.lang), refresh=True)

    # --- family access -------------------------------------------------------------------

    async def show_code(self) -> None:
        """A one-time code for this record (needs a connection): on a collaborator's tablet a
        handover to the resident's phone, on the owner's phone an invite for a relative."""
        assert self.record is not None
        services = self.ctx.services
        create = (family.create_handover if self.ctx.role == "collaborator"
                  else family.create_invite)
        self.busy, self.error, self.invite_note = True, None, None
        try:
            code = await create(services.engine, self.record.person_id,
                                http=services.sync.http)
            campaign = self.ctx.campaign
            assert campaign is not None  # a device that made a code has joined a ward
            self.invite = family.shown(code, campaign.url)
            before = None if self.ctx.role == "collaborator" else await family.grants(
                services.engine, self.record.person_id, http=services.sync.http)
        except HsskError as exc:
            self.error = exc.message(self.ctx.lang)
            return
        finally:
            self.busy = False
        if before is not None:
            watch = asyncio.create_task(self._until_taken(self.invite, before))
            _WATCHING.add(watch)
            watch.add_done_callback(_WATCHING.discard)

    async def _until_taken(self, invite: family.ShownInvite, before: list[GrantView]) -> None:
        """While the invite is on screen, ask now and then whether a relative took it: a used
        code must not stay there looking usable."""
        assert self.record is not None
        person_id, known = self.record.person_id, {g.grantee_account_id for g in before}
        asked = 0
        while self.invite is invite and self.ctx.services.now() < invite.expires_at:
            await asyncio.sleep(INVITE_CHECKS_SECONDS[min(asked, len(INVITE_CHECKS_SECONDS) - 1)])
            asked += 1
            if self.invite is not invite or self.record is None \
                    or self.record.person_id != person_id:
                return
            try:
                grants = await family.grants(self.ctx.services.engine, person_id,
                                             http=self.ctx.services.sync.http)
            except HsskError:
                continue  # offline for a moment: the code is still shown, ask again
            taken = [g for g in grants if g.grantee_account_id not in known]
            if taken and self.invite is invite:
                who = taken[0].grantee_phone or t("grantee_device", self.ctx.lang)
                self.invite, self.grants = None, grants
                self.invite_note = t("invite_taken", self.ctx.lang).format(who=who)
                return

    def invite_copied(self) -> None:
        self.invite_note = t("invite_copied", self.ctx.lang)

    async def show_grants(self) -> None:
        """Who holds access to this person's record now (needs a connection)."""
        assert self.record is not None
        try:
            self.grants = await family.grants(self.ctx.services.engine, self.record.person_id,
                                              http=self.ctx.services.sync.http)
        except HsskError as exc:
            self.error = exc.message(self.ctx.lang)

    async def revoke_grant(self, grantee_account_id: str) -> Outcome | None:
        assert self.record is not None
        try:
            await family.revoke(self.ctx.services.engine, self.record.person_id,
                                grantee_account_id, http=self.ctx.services.sync.http)
        except HsskError as exc:
            self.error = exc.message(self.ctx.lang)
            return None
        await self.show_grants()
        return Outcome(notice=t("revoked", self.ctx.lang))

    # --- accepting an invite or a handover ---------------------------------------------------

    def start_accepting(self) -> None:
        """The accept screen opens empty."""
        self.invite_input, self.error, self.needs_birth_date = Typed(), None, False

    def set_invite_text(self, text: str) -> None:
        self.ctx.services.touch()
        self.invite_input.values["code"] = text

    def set_invite_birth_date(self, text: str) -> None:
        self.ctx.services.touch()
        self.invite_input.values["birth_date"] = text

    async def accept_invite(self) -> Outcome | None:
        """Verify the code typed offline, redeem it, and pull the person's record."""
        return await self._accept(self.invite_input.get("code"))

    async def accept_invite_image(self, data: bytes) -> Outcome | None:
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError as exc:
            self.error = exc.message(self.ctx.lang)
            return None
        return await self._accept(texts[0])

    async def _accept(self, text: str) -> Outcome | None:
        services = self.ctx.services
        self.busy, self.error = True, None
        try:
            claims = family.read_code(text, services.trusted_keys, now=services.now(),
                                      engine=services.engine)
            if claims.asks_birth_date:
                self.needs_birth_date = True
            birth_date = family.handover_birth_date(
                claims, self.invite_input.get("birth_date"), today=self.ctx.today())
            person_id = await family.redeem(services.engine, claims, birth_date=birth_date,
                                            http=services.sync.http)
        except HsskError as exc:
            self.error = exc.message(self.ctx.lang)
            return None
        finally:
            self.busy = False
        with Session(services.engine) as session:
            row = session.get(LocalRecord, person_id)
            name = str(row.payload.get("full_name", "")) if row else ""
        return Outcome(go="home", refresh=True,
                       notice=t("invite_accepted", self.ctx.lang).format(name=name))
