"""progress rollups: per-person facts and per-area counts

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('progress_persons',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('household_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('last_declared', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('declarations', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('person_id')
    )
    with op.batch_alter_table('progress_persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_persons_area_code'), ['area_code'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_progress_persons_household_id'), ['household_id'],
                              unique=False)
    op.create_table('progress_counts',
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('area_code', 'metric', 'day')
    )


def downgrade() -> None:
    op.drop_table('progress_counts')
    op.drop_table('progress_persons')
