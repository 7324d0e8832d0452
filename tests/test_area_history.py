"""A ward moved to another parent: its residents count under the new parent (as its
collaborators' scope does), its declarations keep their week under the parent they had then."""

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from sync.ids import new_id
from sync.records import Administrative, Declaration, PersonProfile, RecordKind
from sync.server import area_import, areas, crud, progress
from sync.server.db import alembic_config, make_engine, migrate
from sync.server.models import ServerRecord

TREE = """code,name,level,parent_code,valid_from,valid_to
79,Thành phố,city,,,
760,Quận 1 (cũ),district,79,,2025-06-30
761,Quận mới,district,79,,
26740,Phường Sài Gòn,ward,760,,
"""


def _person(session: Session, area: str, made: datetime) -> None:
    """A person made (and declaring) at ``made``."""
    person_id = new_id()
    session.add(ServerRecord(id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                             device_id="d", created_at=made, area_code=area,
                             payload=PersonProfile(full_name="A", birth_date="1950",
                                                   sex="male").model_dump(mode="json")))
    session.add(ServerRecord(id=new_id(), kind=RecordKind.DECLARATION, person_id=person_id,
                             device_id="d", created_at=made, area_code=area,
                             payload=Declaration(declared_on=made.date(), administrative=(
                                 Administrative(full_name="A", birth_date="1950",
                                                sex="male"))).model_dump(mode="json")))
    session.commit()
    progress.refresh(session, [person_id])  # as push keeps the rollups
    session.commit()


def test_residents_follow_the_tree_declarations_keep_their_history(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    with Session(engine) as session:
        area_import.import_csv(session=session, text=TREE)
        _person(session, "26740", datetime(2025, 3, 1, tzinfo=UTC))
        _person(session, "26740", datetime(2025, 9, 1, tzinfo=UTC))
        # The July 2025 reform: the ward leaves the old district.
        area_import.import_csv(session=session, text="code,name,level,parent_code,valid_from\n"
                                                "26740,Phường Sài Gòn,ward,761,2025-07-01\n",
                         now=datetime(2025, 10, 1, tzinfo=UTC))

        def persons(code: str) -> int:
            """The figure supervisors and the administrator's report read (the rollups)."""
            counted = progress.figures(session.connection(), [code], date(2026, 1, 10))
            return counted[code]["persons"]

        def declared_in_weeks(code: str) -> int:
            return sum(n for _, n in progress.weeks(session.connection(), code,
                                                    date(2026, 1, 10), count=60))

        # Both residents now live under the new district, as its collaborators' scope says.
        assert (persons("760"), persons("761"), persons("26740"), persons("79")) == (0, 2, 2, 2)
        # The March declaration stays in the old district's history, September's is the new's.
        assert (declared_in_weeks("760"), declared_in_weeks("761")) == (1, 1)
        _person(session, "26740", datetime(2025, 12, 1, tzinfo=UTC))
        assert (persons("760"), persons("761"), persons("79")) == (0, 3, 3)
        # Creating areas one by one records their parents too.
        crud.add_area(session=session, code="26740-01", name="Tổ 1", level="group",
                      parent_code="26740")
        _person(session, "26740-01", datetime(2026, 1, 5, tzinfo=UTC))
        assert (persons("761"), persons("26740"), persons("760")) == (4, 4, 0)
        assert (declared_in_weeks("760"), declared_in_weeks("761")) == (1, 3)
    engine.dispose()


def test_the_history_migration_backfills_existing_areas(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO areas (code, name, level) VALUES ('79', 'C', 'city')"))
        connection.execute(text("INSERT INTO areas (code, name, level, parent_code) "
                                "VALUES ('1', 'W', 'ward', '79')"))
    migrate(engine)
    with Session(engine) as session:
        periods = areas.parent_periods(session=session)
        assert periods["1"][0].parent_code == "79" and periods["1"][0].until is None
        assert areas.ancestors_at(periods, "1", datetime(2020, 1, 1, tzinfo=UTC)) == {"1", "79"}
    engine.dispose()
