"""sync_batches.device_id without a foreign key: devices signed in by phone push too

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _create(name: str, with_fk: bool) -> None:
    columns: list[sa.Column | sa.Constraint] = [  # type: ignore[type-arg]
        sa.Column("batch_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("response_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=f"pk_{name}"),
    ]
    if with_fk:
        columns.append(sa.ForeignKeyConstraint(["device_id"], ["devices.id"]))
    op.create_table(name, *columns)


def _swap(with_fk: bool) -> None:
    # Rebuild the table: the original foreign key has no portable name to drop.
    _create("sync_batches_new", with_fk)
    op.execute("INSERT INTO sync_batches_new SELECT batch_id, device_id, body_hash, "
               "response_json, received_at FROM sync_batches")
    op.drop_table("sync_batches")
    op.rename_table("sync_batches_new", "sync_batches")


def upgrade() -> None:
    _swap(with_fk=False)


def downgrade() -> None:
    _swap(with_fk=True)
