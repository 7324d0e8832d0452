"""The state of the forms: a declaration (new, update, correction; on a family phone or in a
household on a collaborator's tablet) and a vaccination or visit. Every keystroke goes to the
form's own draft; saving answers the shell with an ``Outcome``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import flet as ft
from sqlmodel import Session

from app.declare import facts, forms
from app.device import local_records, settings, store
from app.ui.context import FactKind, FactRequest, FormRequest, Outcome, Screen, Shared
from app.ui.i18n import t
from app.ui.typed import Derived, Typed
from sync.errors import FormInvalid
from sync.records import Declaration, RecordKind


class Lookalike(Protocol):
    """Someone already held who may be the person being declared."""

    @property
    def person_id(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def birth_date(self) -> str: ...
    @property
    def cccd(self) -> str | None: ...
    @property
    def household_id(self) -> str | None: ...


class Place(Protocol):
    @property
    def household_id(self) -> str: ...
    @property
    def area_code(self) -> str | None: ...


class Roster(Protocol):
    """The households a collaborator's tablet holds, as the form needs them (the households
    feature provides it; the shell hands it over)."""

    def place(self, household_id: str) -> Place | None: ...

    def lookalikes(self, *, full_name: str, birth_date: str, cccd: str | None,
                   household_id: str | None) -> Sequence[Lookalike]: ...


@ft.observable
@dataclass
class DeclareState:
    ctx: Shared
    roster: Callable[[], Roster]
    form: Typed = field(default_factory=Typed)
    errors: dict[str, str] = field(default_factory=dict)
    # Whom the form is for (None: a new person), the declaration it corrects, and where to go
    # back to (the person's page, the household visited, or home).
    person_id: str | None = None
    correcting: str | None = None
    correcting_day: date | None = None
    household_id: str | None = None
    back_to: Screen = "home"
    open_sections: list[str] = field(default_factory=lambda: ["basic"])
    bmi: Derived = field(default_factory=Derived)
    duplicates: list[Lookalike] = field(default_factory=list)
    duplicate_ok: bool = False

    def open(self, request: FormRequest, *, back_to: Screen) -> None:
        """Show the form, restoring its draft if one was left, else the request's start."""
        self.household_id, self.duplicates, self.duplicate_ok = request.household_id, [], False
        self.person_id, self.back_to = request.person_id, back_to
        self.correcting, self.correcting_day = request.corrects, request.corrects_day
        with Session(self.ctx.services.engine) as session:
            draft = store.load_draft(session, self._draft_key())
        start = request.start_from
        correcting = request.corrects is not None
        self.form = Typed(forms.upgrade_draft({k: str(x) for k, x in draft.items()}) if draft else
                          forms.form_from_declaration(start, measured=correcting) if start
                          else None)
        self.errors = {}
        # An update is mostly for new measurements: their section starts open.
        self.open_sections = ["basic"] + [
            s.key for s in forms.SECTIONS[1:] if any(self.form.get(f.name) for f in s.fields)
            or (s.key == "vitals" and start is not None and not correcting)]
        self.bmi.text = forms.bmi_text(self.form.values)

    def _draft_key(self) -> str:
        return local_records.draft_key(self.person_id, self.correcting, self.household_id)

    def toggle_section(self, key: str) -> None:
        self.open_sections = ([k for k in self.open_sections if k != key]
                              if key in self.open_sections else [*self.open_sections, key])

    def set_field(self, name: str, value: str) -> None:
        """Keep what was typed and save it as the draft, so nothing is lost if the app closes."""
        self.ctx.services.touch()
        self.form.values[name] = value
        with Session(self.ctx.services.engine) as session:
            store.save_draft(session, self._draft_key(), self.form.values)
        if name in ("height_cm", "weight_kg"):
            self.bmi.text = forms.bmi_text(self.form.values)

    def leave_field(self, name: str) -> None:
        """Check a field as the person leaves it; an empty one is not scolded until saving.
        Blood pressure is checked once its second number is left (its errors are the first
        number's)."""
        if name == "systolic" and not self.form.get("diastolic"):
            return
        filled = bool(self.form.get(name))
        name = "systolic" if name == "diastolic" else name
        error = (forms.errors_of(self.form.values, today=self.ctx.today()).get(name)
                 if filled else None)
        message = error.message(self.ctx.lang) if error else None
        if self.errors.get(name) != message:
            self.errors = ({**self.errors, name: message} if message else
                           {k: x for k, x in self.errors.items() if k != name})

    def cancel(self) -> Outcome:
        """Leave the form; its draft stays for next time. The first form on a phone goes back
        to the ward's page (account, invite, sign-in), there being no home yet."""
        first = self.back_to == "home" and not self.ctx.people and self.ctx.role == "citizen"
        return Outcome(go="welcome" if first else self.back_to)

    def asks_kinship(self) -> bool:
        """A second person on a family phone: who are they to its user (a child, a parent…)?"""
        return (self.person_id is None and self.correcting is None and bool(self.ctx.people)
                and self.ctx.role != "collaborator")

    async def save(self) -> Outcome | None:
        """Check the form and save the declaration (or its correction); None with the errors
        shown, or with people who may be the same one to look at first."""
        try:
            declaration = forms.check_declaration_form(
                self.form.values, today=self.ctx.today(), declared_on=self.correcting_day)
        except FormInvalid as exc:
            self.errors = {k: e.message(self.ctx.lang) for k, e in exc.errors.items()}
            # A section closed since something was typed in it still shows its error.
            self.open_sections = [*self.open_sections, *(
                s.key for s in forms.SECTIONS if s.key not in self.open_sections
                and any(f.name in self.errors for f in s.fields))]
            return None
        if self.person_id is None and self.correcting is None:
            self.duplicates = list(self._duplicates_of(declaration))
            if self.duplicates:
                return None
        person_id, notice = self._store(declaration)
        self.form, self.errors = Typed(), {}
        self.duplicates, self.duplicate_ok = [], False
        return Outcome(go=self.back_to, notice=notice, refresh=True, sync=True,
                       changed=(person_id,))

    def _store(self, declaration: Declaration) -> tuple[str, str]:
        lang = self.ctx.lang
        home = self.roster().place(self.household_id) if self.household_id else None
        with Session(self.ctx.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            kin = self._kin_chosen()
            who = local_records.entered_by(session, self.person_id, kin=kin)
            if self.correcting is not None:
                assert self.person_id is not None
                local_records.correct(session=session, old_id=self.correcting,
                                      payload=declaration.model_dump(mode="json"),
                                      device_id=device_id, entered_by=who)
                return self.person_id, t("corrected", lang)
            campaign = self.ctx.campaign
            area = home.area_code if home else campaign.area if campaign else None
            person_id, _ = local_records.declare(
                session=session, declaration=declaration, device_id=device_id,
                area_code=area, person_id=self.person_id, entered_by=who,
                household_id=home.household_id if home else None, kin=kin)
        return person_id, t("saved", lang)

    async def save_for_existing(self, person_id: str) -> Outcome | None:
        """The person typed in is one already on record: the declaration is theirs, and they
        join the household being visited."""
        self.person_id = person_id
        return await self.save()

    async def save_anyway(self) -> Outcome | None:
        """The collaborator checked: not the same person. Save the new record."""
        self.duplicate_ok = True
        return await self.save()

    def _duplicates_of(self, declaration: Declaration) -> Sequence[Lookalike]:
        if self.ctx.role != "collaborator" or self.duplicate_ok:
            return []
        admin = declaration.administrative
        return self.roster().lookalikes(full_name=admin.full_name, birth_date=admin.birth_date,
                                        cccd=admin.cccd, household_id=self.household_id)

    def kinship_choices(self) -> tuple[str, ...]:
        """Who a new person can be to this phone's user: not "myself" once the user's own
        record is here (their first declaration on the phone, or one marked "myself")."""
        own = any(p.kin == "self" or (p.kin is None and not p.invited)
                  for p in self.ctx.people)
        return tuple(k for k in local_records.KINSHIPS if not (own and k == "self"))

    def applies(self, section: str) -> bool:
        """A section is offered only where it applies (reproductive health: a woman or girl
        of ten or more, as typed so far)."""
        return forms.section_applies(section, self.form.values, today=self.ctx.today())

    def _kin_chosen(self) -> str | None:
        if not self.asks_kinship():
            return None
        chosen = self.form.get("kin")
        return chosen if chosen in self.kinship_choices() else "other"


@ft.observable
@dataclass
class FactState:
    """A vaccination or a visit being added or corrected, for the person whose page is open."""

    ctx: Shared
    kind: FactKind = "immunization"
    person_id: str = ""
    corrects: str | None = None
    form: Typed = field(default_factory=Typed)
    errors: dict[str, str] = field(default_factory=dict)

    def open(self, request: FactRequest) -> None:
        """The form for the request; what was typed last time and not saved comes back."""
        self.kind, self.person_id, self.corrects = (request.kind, request.person_id,
                                                    request.corrects)
        with Session(self.ctx.services.engine) as session:
            draft = store.load_draft(session, self._draft_key())
        start = request.start_from
        self.form = Typed(forms.upgrade_draft({k: str(x) for k, x in draft.items()}) if draft else
                          facts.form_from_fact(start) if start else None)
        self.errors = {}

    def _draft_key(self) -> str:
        if self.corrects:
            return f"{self.kind}:{self.corrects}"
        return f"{self.kind}:new:{self.person_id}"

    def set_field(self, name: str, value: str) -> None:
        """Keep what was typed, as a draft, like the declaration form."""
        self.ctx.services.touch()
        self.form.values[name] = value
        with Session(self.ctx.services.engine) as session:
            store.save_draft(session, self._draft_key(), self.form.values)

    async def save(self) -> Outcome | None:
        """Check and save a vaccination or a visit (or its correction)."""
        try:
            payload = facts.check_fact_form(self.kind, self.form.values, today=self.ctx.today())
        except FormInvalid as exc:
            self.errors = {k: e.message(self.ctx.lang) for k, e in exc.errors.items()}
            return None
        with Session(self.ctx.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            who = local_records.entered_by(session, self.person_id)
            if self.corrects:
                local_records.correct(session=session, old_id=self.corrects, payload=payload,
                                      device_id=device_id, entered_by=who)
            else:
                local_records.add_fact(session=session, person_id=self.person_id,
                                       kind=RecordKind(self.kind), payload=payload,
                                       device_id=device_id, entered_by=who)
            store.delete_draft(session, self._draft_key())
            session.commit()
        return Outcome(go="person", notice=t("saved_fact", self.ctx.lang), refresh=True,
                       sync=True)
