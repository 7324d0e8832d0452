"""document conflicts, quarantine, scope events

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conflicts', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('batch_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('mutation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('mutation_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_account_id'), ['account_id'], unique=False)
    op.create_table('scope_events',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('txn', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('scope_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scope_events_account_id'), ['account_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_scope_events_txn'), ['txn'], unique=False)
    if op.get_context().dialect.name == "postgresql":
        # Ordered by writing transaction like record_versions (see sync/server/storage.py).
        op.execute("ALTER TABLE scope_events ALTER COLUMN txn "
                   "SET DEFAULT (pg_current_xact_id()::text)::bigint")


def downgrade() -> None:
    op.drop_table('scope_events')
    op.drop_table('quarantine')
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.drop_column('conflicts')
