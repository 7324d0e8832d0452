"""``hssk-server import fhir FILE.ndjson`` and ``import school-checks FILE.csv``: a source's
records in bulk, one FHIR resource per line (or one school check per CSV row, read as the FHIR
resources it stands for), streamed in chunks (never the whole file in memory), each chunk one
transaction.

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
from sync.server.fhir_in import EntryRefused
from sync.server.models import Source
from sync.server.storage import Storage

CHUNK = 500

# A line's resources: NDJSON's one, or the several a CSV row stands for. ``EntryRefused`` when
# the line cannot be read at all (the line's outcome says why).
LineReader = Callable[[bytes], list[Any]]


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
    return import_lines(session, storage, source, source_file, lambda raw: [parse_line(raw)],
                        restart=restart, chunk=chunk, progress=progress)


def import_lines(session: Session, storage: Storage, source: Source, source_file: Path,
                 read_line: LineReader, *, header_lines: int = 0, restart: bool = False,
                 chunk: int = CHUNK,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import a file line by line, each line read into resources by ``read_line`` after the
    first ``header_lines`` (which the caller has read); one outcome per line."""
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
        if offset:
            lines.seek(offset)
        else:
            for _ in range(header_lines):
                lines.readline()
                report.lines += 1
        while True:
            batch: list[tuple[int, list[Any] | EntryRefused]] = []
            while len(batch) < chunk:
                raw = lines.readline()
                if not raw:
                    break
                report.lines += 1
                if raw.strip():
                    batch.append((report.lines, _read(read_line, raw)))
            if not batch:
                break
            sent = [r for _, rs in batch if not isinstance(rs, EntryRefused) for r in rs]
            answers = iter(intake.apply_entries(session, storage, source, sent))
            for number, resources in batch:
                answer = (intake.refused(resources) if isinstance(resources, EntryRefused)
                          else _line_answer([next(answers) for _ in resources]))
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


def _read(read_line: LineReader, raw: bytes) -> list[Any] | EntryRefused:
    try:
        return read_line(raw)
    except EntryRefused as refused:
        return refused


def _line_answer(answers: list[intake.Answer]) -> intake.Answer:
    """A line's outcome: its one resource's, or for a row of several the first refusal (the
    rest of the row is kept), else created when anything was."""
    if len(answers) == 1:
        return answers[0]
    failed = next((a for a in answers if a.failed), None)
    if failed is not None:
        return failed
    created = any(a.status.startswith("201") for a in answers)
    return intake.Answer("201 Created" if created else "200 OK",
                         location=" ".join(a.location or "" for a in answers).strip())


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
