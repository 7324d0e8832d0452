"""data rights: the persons each audited pull served, and requests to erase a record

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_persons',
        sa.Column('audit_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.PrimaryKeyConstraint('audit_id', 'person_id'),
    )
    op.create_index('ix_audit_persons_person_id', 'audit_persons', ['person_id'])
    op.create_table(
        'erase_requests',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_erase_requests_person_id', 'erase_requests', ['person_id'])


def downgrade() -> None:
    op.drop_index('ix_erase_requests_person_id', 'erase_requests')
    op.drop_table('erase_requests')
    op.drop_index('ix_audit_persons_person_id', 'audit_persons')
    op.drop_table('audit_persons')
