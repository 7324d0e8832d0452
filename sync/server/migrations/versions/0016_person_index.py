"""person index (CCCD, health-insurance number, folded name + birth date) and match reviews;
the index filled from the persons already stored

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 18:30:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

from sync.names import fold

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person_identifiers',
    sa.Column('system', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.PrimaryKeyConstraint('system', 'value', 'person_id')
    )
    with op.batch_alter_table('person_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_identifiers_person_id'), ['person_id'],
                              unique=False)
    op.create_table('person_names',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('folded_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('birth_date', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.PrimaryKeyConstraint('person_id')
    )
    with op.batch_alter_table('person_names', schema=None) as batch_op:
        batch_op.create_index('ix_person_names_lookup',
                              ['area_code', 'folded_name', 'birth_date'], unique=False)
    op.create_table('match_reviews',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('resource', sa.JSON(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('decided_person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('match_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_reviews_area_code'), ['area_code'],
                              unique=False)
    _fill_index()


def _fill_index() -> None:
    """Index each stored person's latest version, as every later push keeps doing."""
    bind = op.get_bind()
    latest: dict[str, tuple[int, bool, str, Any]] = {}
    rows = bind.execute(sa.text(
        "SELECT id, version, deleted, area_code, payload FROM record_versions "
        "WHERE kind = 'person'"))
    for person_id, version, deleted, area, payload in rows:
        if person_id not in latest or latest[person_id][0] < version:
            latest[person_id] = (version, bool(deleted), area, payload)
    identifiers, names = [], []
    for person_id, (_version, deleted, area, payload) in latest.items():
        data = json.loads(payload) if isinstance(payload, str) else payload
        if deleted:
            continue
        identifiers += [{"system": s, "value": data[s], "person_id": person_id}
                        for s in ("cccd", "bhyt") if data.get(s)]
        names.append({"person_id": person_id, "area_code": data.get("area_code") or area,
                      "folded_name": fold(data["full_name"])[:120],
                      "birth_date": data["birth_date"]})
    if identifiers:
        bind.execute(sa.text("INSERT INTO person_identifiers (system, value, person_id) "
                             "VALUES (:system, :value, :person_id)"), identifiers)
    if names:
        bind.execute(sa.text("INSERT INTO person_names (person_id, area_code, folded_name, "
                             "birth_date) VALUES (:person_id, :area_code, :folded_name, "
                             ":birth_date)"), names)


def downgrade() -> None:
    op.drop_table('match_reviews')
    op.drop_table('person_names')
    op.drop_table('person_identifiers')
