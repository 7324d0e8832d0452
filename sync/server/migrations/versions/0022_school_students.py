"""guardians of students: schools' rosters, grants that end by themselves; erased identities

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'school_students',
        sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('student_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('school', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('class_name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('guardian_phones', sa.JSON(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('source_id', 'student_id'),
    )
    op.create_index('ix_school_students_person_id', 'school_students', ['person_id'])
    op.create_index('ix_school_students_school', 'school_students', ['school'])
    op.create_table(
        'erased_identities',
        sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    with op.batch_alter_table('person_links') as batch:
        batch.add_column(sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))


def downgrade() -> None:
    op.drop_table('erased_identities')
    with op.batch_alter_table('person_links') as batch:
        batch.drop_column('ends_at')
    op.drop_index('ix_school_students_school', 'school_students')
    op.drop_index('ix_school_students_person_id', 'school_students')
    op.drop_table('school_students')
