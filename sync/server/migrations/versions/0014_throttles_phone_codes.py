"""per-address rate windows, phone codes, handover birth-date checks, sliding tokens

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_windows',
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'client', 'window')
    )
    op.create_table('phone_codes',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('phone_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_codes_phone'), ['phone'], unique=False)
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_verified_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_checks', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8),
                                      server_default='sign_in', nullable=False))
    # A device's token is its own secret: those sessions slide a year, not 30 days.
    op.execute("UPDATE sessions SET kind = 'device' "
               "WHERE token_hash IN (SELECT secret_hash FROM devices)")


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_column('failed_checks')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('phone_verified_at')
    op.drop_table('phone_codes')
    op.drop_table('rate_windows')
