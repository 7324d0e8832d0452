"""Many rows into one SQLite table through one DB-API ``executemany`` (SQLite's ``?`` marks).

SQLAlchemy's per-statement machinery costs more than SQLite's insert itself at sync sizes
(hundreds of rows a page or batch), so the columns' own bind processors (JSON, UTC datetimes,
the device's sealing) are applied once per value here and the rows go straight to the driver.
Used by the server's SQLite storage and by the device's store (PostgreSQL gets ``COPY``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table


def executemany_insert(connection: Connection, table: Table,
                       rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, named by column) in the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    values = [tuple(process(row[name]) if process else row[name]
                    for name, process in zip(columns, processors, strict=True))
              for row in rows]
    quoted = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', values)
