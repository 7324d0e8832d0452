"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from sync.server.db import make_engine, migrate
from sync.server.models import SERVER_TABLES, server_metadata


def test_a_fresh_database_migrates_to_the_models_and_again_is_a_no_op(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # every start runs it; the second time changes nothing
        assert set(inspect(engine).get_table_names()) >= SERVER_TABLES
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, server_metadata()) == []
            assert context.get_current_revision() is not None
    finally:
        engine.dispose()


def test_a_database_without_migration_history_is_refused_clearly(tmp_path):
    import pytest

    from sync.server.db import UnmanagedDatabase

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    server_metadata().create_all(engine)  # what pre-release builds did
    with pytest.raises(UnmanagedDatabase, match="pre-release build"):
        migrate(engine)
    engine.dispose()
