"""areas: "merged into / split from, on date"; residents count where their area is now; the
residents registry's households and residents; persons who left (moved away, died)

Persons now count under the areas above theirs as the tree stands (merged areas under the
area they were merged into), declarations under the tree as it stood when they were made.
The rollups are emptied: the server rebuilds them when it next starts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'area_merges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey('areas.code'), nullable=False),
        sa.Column('into_code', sqlmodel.sql.sqltypes.AutoString(length=32), sa.ForeignKey('areas.code'),
                  nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_area_merges_code', 'area_merges', ['code'])
    op.create_index('ix_area_merges_into_code', 'area_merges', ['into_code'])
    op.create_table(
        'registry_households',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('household_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('group_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_table(
        'registry_residents',
        sa.Column('cccd', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('household_key', sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column('group_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('cccd'),
    )
    op.create_index('ix_registry_residents_person_id', 'registry_residents', ['person_id'])
    op.create_index('ix_registry_residents_group_code', 'registry_residents', ['group_code'])
    op.execute("DELETE FROM progress_counts")
    op.execute("DELETE FROM progress_persons")
    with op.batch_alter_table('progress_persons') as batch:
        batch.add_column(sa.Column('left_on', sa.Date(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM progress_counts")
    op.execute("DELETE FROM progress_persons")
    with op.batch_alter_table('progress_persons') as batch:
        batch.drop_column('left_on')
    op.drop_index('ix_registry_residents_group_code', 'registry_residents')
    op.drop_index('ix_registry_residents_person_id', 'registry_residents')
    op.drop_table('registry_residents')
    op.drop_table('registry_households')
    op.drop_index('ix_area_merges_into_code', 'area_merges')
    op.drop_index('ix_area_merges_code', 'area_merges')
    op.drop_table('area_merges')
    op.execute("DELETE FROM progress_counts")
    op.execute("DELETE FROM progress_persons")
