"""Alembic environment: the server tables of SQLModel's metadata, on the configured engine."""

from __future__ import annotations

from alembic import context

from sync.server.db import make_engine
from sync.server.models import server_metadata

config = context.config


connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=server_metadata(),
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=server_metadata(),
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
