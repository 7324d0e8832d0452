"""The collaborator's screens' state: households of a group, search, one household, a new one.

Observed by the collaborator's components only, so a search or a refreshed list re-renders
those alone. Its actions answer the shell with an ``Outcome``; it also answers the declaration
form's questions about households (``place``, ``lookalikes``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import flet as ft
from sqlmodel import Session

from app.device import settings
from app.device.services import Services
from app.households import roster
from app.households.roster import HouseholdIndex, HouseholdStatus, HouseholdView, Resident
from app.ui.context import FormRequest, Outcome
from app.ui.i18n import t
from app.ui.typed import Typed
from sync import reminders
from sync.errors import FormInvalid, Lang
from sync.protocol import AreaView

KEPT_INDEX = "households.index"
PAGE = 40  # households shown at once; "show more" adds as many


@ft.observable
@dataclass
class CollabState:
    services: Services
    groups: list[AreaView] = field(default_factory=list)
    group: str | None = None
    search_box: Typed = field(default_factory=Typed)
    searched: str = ""
    rows: list[HouseholdView] = field(default_factory=list)
    total: int = 0
    limit: int = PAGE
    counts: dict[HouseholdStatus, int] = field(default_factory=dict)
    household: HouseholdView | None = None
    form: Typed = field(default_factory=Typed)
    form_errors: dict[str, str] = field(default_factory=dict)
    editing: str | None = None  # the household whose address the form corrects, if any
    loading: bool = False

    # --- the index --------------------------------------------------------------------------

    def _build(self, today: date, months: int) -> HouseholdIndex:
        with Session(self.services.engine) as session:
            self.groups = roster.groups(settings.worked_areas(session))
            return HouseholdIndex.build(session, today=today, default_months=months)

    async def load(self, *, today: date, default_months: int = reminders.DEFAULT_MONTHS,
                   rebuild: bool = False) -> None:
        """Read the store into the index (once, or again after a sync brought changes)."""
        if self.kept is None or rebuild:
            self.loading = True
            try:
                self.services.kept[KEPT_INDEX] = await asyncio.to_thread(
                    self._build, today, default_months)
            finally:
                self.loading = False
        elif not self.groups:
            with Session(self.services.engine) as session:
                self.groups = roster.groups(settings.worked_areas(session))
        self._list()

    @property
    def index(self) -> HouseholdIndex:
        assert self.kept is not None, "load() first"
        return self.kept

    @property
    def kept(self) -> HouseholdIndex | None:
        """The index this device built, shared by its screens; None before the first load."""
        found = self.services.kept.get(KEPT_INDEX)
        assert found is None or isinstance(found, HouseholdIndex)
        return found

    def forget(self) -> None:
        """The account signed out: its households leave the device's memory too."""
        self.services.kept.pop(KEPT_INDEX, None)

    def _list(self) -> None:
        if self.kept is None:
            return
        self.index.as_of(self.services.now().astimezone().date())
        found = self.index.listing(group=self.group, query=self.searched)
        self.total, self.rows = len(found), found[: self.limit]
        self.counts = self.index.counts(self.group)
        if self.household is not None:
            self.household = self.index.households.get(self.household.household_id)

    def refreshed(self, *, person_ids: Iterable[str] = (),
                  household_ids: Iterable[str] = ()) -> None:
        """After a save on this tablet: re-read just what changed."""
        if self.kept is None:
            return
        with Session(self.services.engine) as session:
            self.index.refresh(session, household_ids=household_ids, person_ids=person_ids)
        self._list()

    # --- the list ---------------------------------------------------------------------------

    def choose_group(self, code: str | None) -> None:
        self.group, self.limit = code, PAGE
        self._list()

    def set_search(self, text: str) -> None:
        self.services.touch()
        self.search_box.values["q"] = text

    def search(self) -> None:
        """Search on demand (a button or Enter), not per keystroke: the list stays still while
        the collaborator types."""
        self.searched, self.limit = self.search_box.get("q").strip(), PAGE
        self._list()

    def clear_search(self) -> None:
        self.search_box, self.searched, self.limit = Typed(), "", PAGE
        self._list()

    def more(self) -> None:
        self.limit += PAGE
        self._list()

    def open(self, household_id: str) -> None:
        self.household = self.index.households.get(household_id)

    def show(self, household_id: str) -> Outcome:
        """One household's page."""
        self.open(household_id)
        return Outcome(go="household")

    def declare_here(self, household_id: str) -> Outcome:
        """A new resident of a household: the declaration form, for this household."""
        return Outcome(declare=FormRequest(household_id=household_id))

    # --- what the declaration form asks -------------------------------------------------------

    def place(self, household_id: str) -> HouseholdView | None:
        """A household this tablet holds (its id and group), if it does."""
        return self.kept.households.get(household_id) if self.kept else None

    def lookalikes(self, *, full_name: str, birth_date: str, cccd: str | None,
                   household_id: str | None) -> Sequence[Resident]:
        """People already held who may be the one being declared in ``household_id``."""
        if self.kept is None:
            return []
        home = self.kept.households.get(household_id or "")
        return self.kept.duplicates(full_name=full_name, birth_date=birth_date, cccd=cccd,
                                    area_code=home.area_code if home else None)

    def on_their_own(self) -> list[roster.Resident]:
        """People of the open household's ward in no household: candidates to join it."""
        if self.household is None or self.household.household_id.startswith(roster.SOLO):
            return []
        return self.index.on_their_own(self.household.area_code)

    def join(self, person_id: str, lang: Lang) -> Outcome:
        """Someone already on record lives in the open household."""
        assert self.household is not None
        household_id = self.household.household_id
        with Session(self.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            roster.join_household(session, person_id, household_id, device_id=device_id)
        self.refreshed(person_ids=[person_id], household_ids=[household_id])
        person = self.index.residents.get(person_id)
        return Outcome(sync=True, notice=t("joined_household", lang).format(
            name=person.full_name if person else ""))

    # --- a new household --------------------------------------------------------------------

    def start_household(self) -> Outcome:
        self.form = Typed({"area_code": self.group or (self.groups[0].code if self.groups
                                                       else "")})
        self.form_errors, self.editing = {}, None
        return Outcome(go="new_household")

    def start_edit(self) -> Outcome:
        """Correct the open household's address."""
        assert self.household is not None
        self.form = Typed({"address": self.household.address,
                           "area_code": self.household.area_code or ""})
        self.form_errors, self.editing = {}, self.household.household_id
        return Outcome(go="new_household")

    def set_form_field(self, name: str, value: str) -> None:
        self.services.touch()
        self.form.values[name] = value

    def save_household(self, lang: Lang) -> Outcome | None:
        """Register the household typed in (or its corrected address) and show it; None with
        the errors shown beside their fields."""
        with Session(self.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            try:
                if self.editing is not None:
                    household_id = self.editing
                    roster.edit_address(session, household_id,
                                        address=self.form.get("address"), device_id=device_id)
                else:
                    household_id = roster.add_household(
                        session, address=self.form.get("address"),
                        area_code=self.form.get("area_code") or None,
                        allowed_areas=[g.code for g in self.groups], device_id=device_id)
            except FormInvalid as exc:
                self.form_errors = {k: e.message(lang) for k, e in exc.errors.items()}
                return None
        self.form, self.form_errors, self.editing = Typed(), {}, None
        self.refreshed(household_ids=[household_id])
        self.open(household_id)
        return Outcome(go="household", notice=t("household_saved", lang), sync=True)
