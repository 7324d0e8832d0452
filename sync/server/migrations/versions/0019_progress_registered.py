"""progress: persons the city's systems registered, and the check-ups they recorded

The rollups are emptied: the server rebuilds them from the records when it next starts
(``progress.needs_rebuild``), now counting both.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM progress_counts")
    op.execute("DELETE FROM progress_persons")
    with op.batch_alter_table('progress_persons') as batch:
        batch.add_column(sa.Column('registered', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('last_checkup', sa.Date(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM progress_counts")
    op.execute("DELETE FROM progress_persons")
    with op.batch_alter_table('progress_persons') as batch:
        batch.drop_column('last_checkup')
        batch.drop_column('registered')
