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

import contextlib
import json
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlmodel import Session

from sync.server import intake
from sync.server.fhir_in import EntryRefused, Read, read_all
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
    chunks: int = 0  # written by this run


def resume(source_file: Path, *, restart: bool) -> tuple[ImportReport, int]:
    """Where an import of this file stands: the report and byte offset of its checkpoint, or
    (first run, or ``restart``) a new report at offset 0 and no outcome file."""
    outcomes_path, checkpoint_path = paths(source_file)
    report = ImportReport()
    if checkpoint_path.exists() and not restart:
        saved = json.loads(checkpoint_path.read_text())
        report.lines = saved["lines"]
        report.outcomes.update(saved["outcomes"])
        report.resumed_from_line = report.lines
        return report, int(saved["offset"])
    if outcomes_path.exists():
        outcomes_path.unlink()
    return report, 0


def paths(source_file: Path) -> tuple[Path, Path]:
    """The outcome file and the checkpoint file of an import."""
    return (source_file.with_name(source_file.stem + ".outcomes.ndjson"),
            source_file.with_name(source_file.stem + ".checkpoint.json"))


def import_ndjson(session: Session, storage: Storage, source: Source, source_file: Path, *,
                  restart: bool = False, chunk: int = CHUNK, workers: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import the file (resuming from its checkpoint unless ``restart``); ``progress`` is
    called after each chunk with (bytes read, lines read)."""
    return import_lines(session, storage, source, source_file, lambda raw: [parse_line(raw)],
                        restart=restart, chunk=chunk, workers=workers, progress=progress)


@dataclass
class _Chunk:
    """Lines read ahead of the database: each line's resources (or why it was refused), where
    the file stands after them, and the reading of their resources, done or under way."""

    lines: list[tuple[int, list[Any] | EntryRefused]]
    offset: int
    count: int
    sent: list[Any]
    reading: Future[list[Read]] | list[Read]


def import_lines(session: Session, storage: Storage, source: Source, source_file: Path,
                 read_line: LineReader, *, header_lines: int = 0, restart: bool = False,
                 chunk: int = CHUNK, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import a file line by line, each line read into resources by ``read_line`` after the
    first ``header_lines`` (which the caller has read); one outcome per line.

    With ``workers`` > 1, the FHIR reading of the next chunks (validation and mapping, most of
    an import's time, no database) runs in ``workers - 1`` other processes while this one
    writes the current chunk; chunks are still written, and checkpointed, in order."""
    outcomes_path, checkpoint_path = paths(source_file)
    report, offset = resume(source_file, restart=restart)
    started = time.monotonic()
    pool = (ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn"))
            if workers > 1 else None)
    with source_file.open("rb") as lines, outcomes_path.open("a", encoding="utf-8") as out, \
            pool or contextlib.nullcontext():
        if offset:
            lines.seek(offset)
        else:
            for _ in range(header_lines):
                lines.readline()
                report.lines += 1
        ahead: deque[_Chunk] = deque()
        count = report.lines
        for batch in _batches(lines, read_line, chunk):
            before, count = count, count + batch[-1][0]
            numbered = [(before + n, resources) for n, resources in batch[:-1]]
            sent = [r for _, rs in numbered if not isinstance(rs, EntryRefused) for r in rs]
            ahead.append(_Chunk(numbered, lines.tell(), count, sent,
                                pool.submit(read_all, sent) if pool else read_all(sent)))
            if len(ahead) >= workers:
                _write_chunk(session, storage, source, ahead.popleft(), out, checkpoint_path,
                             report, progress)
        while ahead:
            _write_chunk(session, storage, source, ahead.popleft(), out, checkpoint_path,
                         report, progress)
    report.seconds = time.monotonic() - started
    return report


def _batches(lines: BinaryIO, read_line: LineReader,
             chunk: int) -> Iterator[list[tuple[int, Any]]]:
    """Up to ``chunk`` non-empty lines at a time, each numbered from 1 within the batch, then
    a last item ``(lines read, None)`` counting the blank lines too."""
    while True:
        batch: list[tuple[int, Any]] = []
        read = 0
        while len(batch) < chunk:
            raw = lines.readline()
            if not raw:
                break
            read += 1
            if raw.strip():
                batch.append((read, _read(read_line, raw)))
        if not read:
            return
        yield [*batch, (read, None)]


def _write_chunk(session: Session, storage: Storage, source: Source, done: _Chunk,
                 out: TextIO, checkpoint_path: Path, report: ImportReport,
                 progress: Callable[[int, int], None] | None) -> None:
    readings = done.reading if isinstance(done.reading, list) else done.reading.result()
    answers = iter(intake.apply_entries(session, storage, source, done.sent,
                                        already_read=readings))
    report.chunks += 1
    if report.chunks & (report.chunks - 1) == 0:  # after chunks 1, 2, 4, 8…: as tables double
        storage.refresh_statistics(session.connection())
        session.commit()
    for number, resources in done.lines:
        answer = (intake.refused(resources) if isinstance(resources, EntryRefused)
                  else _line_answer([next(answers) for _ in resources]))
        report.outcomes[answer.status] += 1
        out.write(json.dumps({"line": number, **answer.entry()["response"]},
                             ensure_ascii=False) + "\n")
    out.flush()
    os.fsync(out.fileno())  # the outcomes are on disk before the checkpoint says so
    report.lines = done.count
    save_checkpoint(checkpoint_path, done.offset, report)
    if progress is not None:
        progress(done.offset, done.count)


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


def save_checkpoint(path: Path, offset: int, report: ImportReport) -> None:
    """Where the import stands, written whole or not at all."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"offset": offset, "lines": report.lines,
                                     "outcomes": dict(report.outcomes)}))
    os.replace(temporary, path)  # never a half-written checkpoint
