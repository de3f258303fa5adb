"""Attempt histories as plain records: the evaluation CSV format and dataset conversion (pure).

The CSV format read by ``flask mastery fit`` and ``flask mastery evaluate`` has a header
and the columns ``student,skill,item,correct,timestamp[,duration]``:

* ``skill`` is one concept key or several joined with ``|`` (a multi-concept item);
* ``correct`` is ``1``/``0`` (``true``/``false`` accepted);
* ``timestamp`` is ISO 8601 or POSIX seconds;
* ``duration`` is seconds spent, empty when unknown.

``convert_akt_sequences`` turns the four-line-per-student files of the knowledge-tracing
repository arghosh/AKT (``data/assist2009_pid``) into such records. Those files keep the
order of a student's attempts but not their time, so timestamps are synthetic: one
minute apart per student. A problem tagged with several skills appears there as
consecutive rows with the same problem id; they are merged back into one attempt tagged
``a|b`` so the model is not handed the answer it is asked to predict.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(slots=True)
class AttemptRecord:
    """One answer by one student to one item."""

    student: str
    concepts: tuple[str, ...]
    item: str
    correct: bool
    timestamp: float
    """POSIX seconds."""
    duration: float | None = None


class HistoryFormatError(ValueError):
    """A row of an attempts CSV cannot be read; the message names the line."""


def _parse_time(value: str, line: int) -> float:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HistoryFormatError(f"line {line}: timestamp {value!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_TRUE = {"1", "true", "t", "yes", "1.0"}
_FALSE = {"0", "false", "f", "no", "0.0"}


_COLUMNS = ("student", "skill", "item", "correct", "timestamp")


def parse_attempt_rows(rows: Iterable[Sequence[str]]) -> Iterator[AttemptRecord]:
    """Records from CSV rows (``csv.reader``), the first row being the header.

    Raises ``HistoryFormatError`` naming the line of the first bad row.
    """
    iterator = iter(rows)
    header = [name.strip().lower() for name in next(iterator, [])]
    try:
        s_at, k_at, i_at, c_at, t_at = (header.index(name) for name in _COLUMNS)
    except ValueError as exc:
        raise HistoryFormatError(
            "line 1: expected columns student,skill,item,correct,timestamp[,duration]"
        ) from exc
    d_at = header.index("duration") if "duration" in header else None
    width = max(s_at, k_at, i_at, c_at, t_at, d_at or 0) + 1
    # Shared tuples: a history repeats a few hundred skill tags hundreds of thousands of times.
    tags: dict[str, tuple[str, ...]] = {}
    for line, row in enumerate(iterator, start=2):
        if not row:
            continue
        if len(row) < width and (d_at is None or len(row) < width - 1):
            raise HistoryFormatError(f"line {line}: expected {width} columns, got {len(row)}")
        student = row[s_at].strip()
        skill = row[k_at].strip()
        correct_text = row[c_at].strip().lower()
        if correct_text in _TRUE:
            correct = True
        elif correct_text in _FALSE:
            correct = False
        else:
            raise HistoryFormatError(f"line {line}: correct must be 1 or 0, got {correct_text!r}")
        concepts = tags.get(skill)
        if concepts is None:
            concepts = tags[skill] = tuple(part for part in skill.split("|") if part)
        if not student or not concepts:
            raise HistoryFormatError(f"line {line}: student and skill are required")
        duration_text = row[d_at].strip() if d_at is not None and d_at < len(row) else ""
        yield AttemptRecord(
            student,
            concepts,
            row[i_at].strip() or skill,
            correct,
            _parse_time(row[t_at], line),
            float(duration_text) if duration_text else None,
        )


def read_attempts_csv(path: str | Path) -> list[AttemptRecord]:
    """Every attempt of a CSV file in file order."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(parse_attempt_rows(csv.reader(handle)))


def write_attempts_csv(records: Iterable[AttemptRecord], path: str | Path) -> int:
    """Write records in the CSV format; returns the number written."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "skill", "item", "correct", "timestamp", "duration"])
        for r in records:
            writer.writerow(
                [
                    r.student,
                    "|".join(r.concepts),
                    r.item,
                    1 if r.correct else 0,
                    f"{r.timestamp:.0f}",
                    "" if r.duration is None else f"{r.duration:g}",
                ]
            )
            count += 1
    return count


# 2009-09-01T00:00:00Z: the start of the 2009-2010 school year the data comes from.
_AKT_EPOCH = 1251763200.0
_AKT_STEP_SECONDS = 60.0


def convert_akt_sequences(lines: Iterable[str]) -> Iterator[AttemptRecord]:
    """Records from AKT's ``*_pid`` sequence files (4 lines per student).

    Line 1 ``index,user_id``; line 2 problem ids; line 3 skill ids; line 4 correctness.
    """
    block: list[str] = []
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        block.append(text)
        if len(block) < 4:
            continue
        header, problems, skills, answers = block
        block = []
        student = header.split(",")[-1]
        step = 0
        previous_problem = None
        pending: list = []
        merged: list[tuple[str, list[str], bool]] = []
        for problem, skill, answer in zip(
            problems.split(","), skills.split(","), answers.split(","), strict=True
        ):
            if problem == previous_problem and pending:
                if skill not in pending[1]:
                    pending[1].append(skill)
                continue
            pending = [problem, [skill], answer.strip() == "1"]
            merged.append(pending)  # type: ignore[arg-type]
            previous_problem = problem
        for problem, skill_list, correct in merged:
            yield AttemptRecord(
                student=student,
                concepts=tuple(skill_list),
                item=problem,
                correct=correct,
                timestamp=_AKT_EPOCH + step * _AKT_STEP_SECONDS,
            )
            step += 1
    if block:
        raise HistoryFormatError("sequence file ends inside a 4-line student block")


def convert_akt_directory(
    directory: str | Path, prefix: str = "assist2009_pid"
) -> list[AttemptRecord]:
    """All students of AKT's five test folds (``<prefix>_test1..5.csv``), which partition them.

    The train/valid files of that repository repeat the same students; reading only the
    test folds gives every student exactly once.
    """
    directory = Path(directory)
    records: list[AttemptRecord] = []
    seen: set[str] = set()
    for fold in range(1, 6):
        path = directory / f"{prefix}_test{fold}.csv"
        with open(path, encoding="utf-8") as handle:
            for record in convert_akt_sequences(handle):
                if record.student in seen and record.timestamp == _AKT_EPOCH:
                    raise HistoryFormatError(f"student {record.student} appears in two folds")
                records.append(record)
        seen.update(r.student for r in records)
    return records
