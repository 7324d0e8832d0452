"""The supervisor's screen state: the open area's report, where it was opened from, and, at
ward level and below, the households to visit. Observed by the supervision component only."""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft
from sqlmodel import Session

from app.device import settings
from app.device.services import Services
from app.supervision import progress
from app.ui.context import Outcome
from app.ui.i18n import t
from sync.errors import HsskError, Lang
from sync.protocol import AreaView, ProgressReport, VisitList


@ft.observable
@dataclass
class SupervisionState:
    services: Services
    roots: list[AreaView] = field(default_factory=list)
    report: ProgressReport | None = None
    visits: VisitList | None = None
    loading: bool = False
    error: str | None = None

    async def start(self, lang: Lang) -> None:
        """Open the top of the supervisor's areas (once per sign-in)."""
        if self.report is not None or self.loading:
            return
        with Session(self.services.engine) as session:
            self.roots = settings.supervised_areas(session)
        if self.roots:
            await self.open(self.roots[0].code, lang)

    async def open(self, code: str, lang: Lang) -> None:
        """Drill into an area (a child row), or back up to one on the path."""
        self.loading, self.error = True, None
        engine, http = self.services.engine, self.services.sync.http
        try:
            report = await progress.fetch_report(engine, code, http=http)
            visits = (await progress.fetch_visits(engine, code, http=http)
                      if report.area.level in progress.VISIT_LEVELS else None)
        except HsskError as exc:
            # The last report stays on screen, with why the new one did not come.
            self.error = exc.message(lang)
            return
        finally:
            self.loading = False
        self.report, self.visits = report, visits

    async def refresh(self, lang: Lang) -> None:
        if self.report is not None:
            await self.open(self.report.area.code, lang)

    def export(self, lang: Lang) -> tuple[str, bytes]:
        """The table on screen as CSV: (file name, UTF-8 bytes with a BOM for spreadsheets)."""
        assert self.report is not None
        return (progress.csv_name(self.report),
                progress.report_csv(self.report, lang).encode("utf-8-sig"))

    def export_visits(self, lang: Lang) -> tuple[str, bytes]:
        """The households to visit as CSV."""
        assert self.visits is not None
        return (f"ho-can-tham-{self.visits.area_code}-{self.visits.on.isoformat()}.csv",
                progress.visits_csv(self.visits, lang, self._area_names()).encode("utf-8-sig"))

    def _area_names(self) -> dict[str, str]:
        report = self.report
        if report is None:
            return {}
        return {a.code: a.name for a in [report.area, *report.children]}

    @staticmethod
    def exported(lang: Lang) -> Outcome:
        return Outcome(notice=t("progress_exported", lang))
