"""the name people see for a source ("Trạm Y tế phường Bến Nghé")

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources') as batch:
        batch.add_column(sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources') as batch:
        batch.drop_column('title')
