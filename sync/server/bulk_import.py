"""``hssk-server import fhir FILE.ndjson``: a source's records in bulk, one FHIR resource per
line, streamed in chunks (never the whole file in memory), each chunk one transaction.

Every line gets an outcome in ``FILE.outcomes.ndjson``. After each chunk the byte offset
reached is saved in ``FILE.checkpoint.json``: an interrupted import started again goes on from
there, and a chunk that was written but not yet checkpointed is simply sent again (the same
resource version changes nothing), so nothing is ever stored twice.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from sync.server import intake
from sync.server.models import Source
from sync.server.storage import Storage

CHUNK = 500


@dataclass
class ImportReport:
    """What an import did (this run and any earlier ones of the same file)."""

    lines: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    resumed_from_line: int = 0
    seconds: float = 0.0


def paths(source_file: Path) -> tuple[Path, Path]:
    """The outcome file and the checkpoint file of an import."""
    return (source_file.with_name(source_file.stem + ".outcomes.ndjson"),
            source_file.with_name(source_file.stem + ".checkpoint.json"))


def import_ndjson(session: Session, storage: Storage, source: Source, source_file: Path, *,
                  restart: bool = False, chunk: int = CHUNK,
                  progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import the file (resuming from its checkpoint unless ``restart``); ``progress`` is
    called after each chunk with (bytes read, lines read)."""
    outcomes_path, checkpoint_path = paths(source_file)
    report, offset = ImportReport(), 0
    if checkpoint_path.exists() and not restart:
        saved = json.loads(checkpoint_path.read_text())
        offset, report.lines = saved["offset"], saved["lines"]
        report.outcomes.update(saved["outcomes"])
        report.resumed_from_line = report.lines
    elif outcomes_path.exists():
        outcomes_path.unlink()
    started = time.monotonic()
    with source_file.open("rb") as lines, outcomes_path.open("a", encoding="utf-8") as out:
        lines.seek(offset)
        while True:
            batch: list[tuple[int, Any]] = []
            while len(batch) < chunk:
                raw = lines.readline()
                if not raw:
                    break
                report.lines += 1
                if raw.strip():
                    batch.append((report.lines, parse_line(raw)))
            if not batch:
                break
            answers = intake.apply_entries(session, storage, source, [r for _, r in batch])
            for (number, _), answer in zip(batch, answers, strict=True):
                report.outcomes[answer.status] += 1
                out.write(json.dumps({"line": number, **answer.entry()["response"]},
                                     ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())  # the outcomes are on disk before the checkpoint says so
            _save(checkpoint_path, lines.tell(), report)
            if progress is not None:
                progress(lines.tell(), report.lines)
    report.seconds = time.monotonic() - started
    return report


def parse_line(raw: bytes) -> Any:
    """A line's resource; an unreadable line becomes a value the intake refuses with words."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "(not JSON)"


def _save(path: Path, offset: int, report: ImportReport) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"offset": offset, "lines": report.lines,
                                     "outcomes": dict(report.outcomes)}))
    os.replace(temporary, path)  # never a half-written checkpoint
