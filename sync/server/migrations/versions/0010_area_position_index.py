"""index for pulls by area in commit order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 05:50:00
"""

from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.create_index('ix_record_versions_area_position', ['area_code', 'txn', 'seq'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_record_versions_area_position')
