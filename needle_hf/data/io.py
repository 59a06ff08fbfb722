"""JSONL rows ``{query, tools, answers}``: read, validate (every problem, with its file and line), write.

A row is one JSON object per line::

    {"query": "What's the weather in Paris?",
     "tools": "[{\\"name\\":\\"get_weather\\", ...}]",          # JSON array of tool schemas (any accepted format)
     "answers": "[{\\"name\\":\\"get_weather\\",\\"arguments\\":{\\"location\\":\\"Paris\\"}}]"}   # "[]" = no call

``tools`` and ``answers`` are JSON-encoded *strings* (what the model sees and what the v1 data holds). Rows that give
them as already-parsed JSON lists are accepted too and normalised on load to compact strings
(``separators=(",", ":")``, ``ensure_ascii=False``); strings are kept byte-for-byte as given. Other keys (``source``,
``language``, ...) are kept.

Checks, each reported as ``file:line: message`` (``row N: message`` for in-memory rows):
invalid JSON, not an object, missing field, field of the wrong type, empty query, tools that do not parse (the
``ToolSchemaError`` message is passed on), answers that do not parse, answers naming a tool that is not offered,
missing required argument, argument of the wrong type (as :func:`needle_hf.tools.validate_calls` reports them).
Call names may be given as the original tool name or its snake_case form (the model's form).
Warnings (the row stays valid): duplicate ``(query, tools)`` pairs, argument values only valid after coercion
(``"5"`` for an integer).

Nothing is dropped silently: :func:`load_rows` with ``strict=True`` raises :class:`DataValidationError` (listing every
problem) if any row is invalid; with ``strict=False`` it returns the valid rows and ``rows.report`` counts and lists
the skipped ones.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, Union

from needle_hf.tools import (
    CallParseError,
    ToolSchemaError,
    parse_calls,
    parse_tools,
    to_snake_case,
    tools_fingerprint,
    validate_calls,
)

REQUIRED_FIELDS = ("query", "tools", "answers")
NO_TOOL = "__no_tool__"  # group name of rows without a call (per-tool split, counts)
DEFAULT_MIN_PER_TOOL = 120  # reference finetune warns under 120 examples per tool (100 train / 10 val / 10 test)

PathLike = Union[str, os.PathLike]


# ---------------------------------------------------------------------------------------------- report
@dataclass
class Problem:
    """One problem of one row. ``file`` is None for in-memory rows (then ``line`` is the 1-based row number)."""

    file: str | None
    line: int
    message: str
    field: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file is not None else f"row {self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ValidationReport:
    """Result of validating rows. ``problems`` make a row invalid; ``warnings`` do not.

    Counts are over *valid* rows: ``tool_counts[name]`` = rows whose answers call the tool (snake_case name; a row
    calling it twice counts once), ``offered_counts[name]`` = rows offering it, ``call_type_counts`` =
    rows with no call / one call / several calls ("none" / "single" / "multiple").
    """

    sources: list[str] = field(default_factory=list)
    total: int = 0
    valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    invalid_lines: list[str] = field(default_factory=list)  # "file:line" of each invalid (skipped) row
    tool_counts: Counter = field(default_factory=Counter)
    offered_counts: Counter = field(default_factory=Counter)
    primary_counts: Counter = field(default_factory=Counter)  # rows per first-called tool ("__no_tool__" if none)
    call_type_counts: Counter = field(default_factory=Counter)
    duplicates: int = 0

    @property
    def invalid(self) -> int:
        return self.total - self.valid

    @property
    def skipped(self) -> int:
        """Rows a non-strict loader leaves out (= invalid rows)."""
        return self.invalid

    @property
    def ok(self) -> bool:
        return self.invalid == 0

    def under_minimum(self, minimum: int = DEFAULT_MIN_PER_TOOL) -> dict[str, int]:
        """Tools (offered or called) with fewer than ``minimum`` rows calling them, fewest first."""
        names = set(self.tool_counts) | set(self.offered_counts)
        under = {n: self.tool_counts.get(n, 0) for n in names if self.tool_counts.get(n, 0) < minimum}
        return dict(sorted(under.items(), key=lambda kv: (kv[1], kv[0])))

    def merge(self, other: "ValidationReport") -> "ValidationReport":
        self.sources += other.sources
        self.total += other.total
        self.valid += other.valid
        self.problems += other.problems
        self.warnings += other.warnings
        self.invalid_lines += other.invalid_lines
        self.tool_counts.update(other.tool_counts)
        self.offered_counts.update(other.offered_counts)
        self.primary_counts.update(other.primary_counts)
        self.call_type_counts.update(other.call_type_counts)
        self.duplicates += other.duplicates
        return self

    def summary(self) -> str:
        src = f"{', '.join(self.sources)}: " if self.sources else ""
        return f"{src}{self.total} rows, {self.valid} valid, {self.invalid} invalid ({len(self.problems)} problems)"

    def format(self, min_per_tool: int | None = DEFAULT_MIN_PER_TOOL, max_problems: int | None = None,
               max_warnings: int | None = 20, max_tools: int | None = 40) -> str:
        """Human-readable report: problems (``file:line: message``), per-tool counts (the `max_tools` most called;
        generated data offers thousands of tools, ``to_dict`` / ``--json`` has them all), warnings."""
        out = [self.summary()]
        shown = self.problems if max_problems is None else self.problems[:max_problems]
        if shown:
            out.append("problems:")
            out += [f"  {p}" for p in shown]
            if len(shown) < len(self.problems):
                out.append(f"  ... and {len(self.problems) - len(shown)} more problems")
        if self.valid:
            types = ", ".join(f"{k} {self.call_type_counts.get(k, 0)}" for k in ("none", "single", "multiple"))
            out.append(f"call types: {types}")
            names = sorted(set(self.tool_counts) | set(self.offered_counts),
                           key=lambda n: (-self.tool_counts.get(n, 0), n))
            listed_names = names if max_tools is None else names[:max_tools]
            if names:
                width = max(12, *(len(n) for n in listed_names))
                out.append("per tool (valid rows; called = rows calling it, offered = rows offering it):")
                out.append(f"  {'tool':<{width}}  {'called':>7}  {'offered':>7}")
                for n in listed_names:
                    c = self.tool_counts.get(n, 0)
                    flag = f"  WARNING: under {min_per_tool}" if min_per_tool and c < min_per_tool else ""
                    out.append(f"  {n:<{width}}  {c:>7}  {self.offered_counts.get(n, 0):>7}{flag}")
                if max_tools is not None and len(names) > max_tools:
                    out.append(f"  ... and {len(names) - max_tools} more tools (--json lists them all)")
            if self.duplicates:
                out.append(f"duplicates: {self.duplicates} row(s) repeat the query and tools of an earlier row")
        if self.warnings:
            out.append(f"warnings ({len(self.warnings)}, rows kept):")
            ws = self.warnings if max_warnings is None else self.warnings[:max_warnings]
            out += [f"  {w}" for w in ws]
            if len(ws) < len(self.warnings):
                out.append(f"  ... and {len(self.warnings) - len(ws)} more warnings")
        if min_per_tool:
            under = self.under_minimum(min_per_tool)
            if under:
                items = list(under.items())
                listed = ", ".join(f"{n} ({c})" for n, c in (items if max_tools is None else items[:max_tools]))
                if max_tools is not None and len(items) > max_tools:
                    listed += f", ... ({len(items) - max_tools} more)"
                out.append(f"WARNING: {len(under)} tool(s) have fewer than {min_per_tool} examples: {listed}. "
                           f"Per-tool splits hold out up to 20 examples per tool (10 validation + 10 test); "
                           f"add examples for these tools.")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources, "total": self.total, "valid": self.valid, "invalid": self.invalid,
            "problems": [str(p) for p in self.problems], "warnings": [str(w) for w in self.warnings],
            "tool_counts": dict(self.tool_counts), "offered_counts": dict(self.offered_counts),
            "primary_counts": dict(self.primary_counts), "call_type_counts": dict(self.call_type_counts),
            "duplicates": self.duplicates,
        }


class DataValidationError(ValueError):
    """Raised by strict loaders; ``.report`` holds the full :class:`ValidationReport`."""

    def __init__(self, report: ValidationReport, max_problems: int = 50):
        self.report = report
        lines = [str(p) for p in report.problems[:max_problems]]
        more = len(report.problems) - len(lines)
        msg = (f"{report.summary()}\n" + "\n".join(lines) + (f"\n... and {more} more problems" if more > 0 else "")
               + "\nfix these rows (`needle-hf validate-data FILE` lists every problem), or in Python load them with "
                 "strict=False to skip them (they are counted in the report)")
        super().__init__(msg)


class Rows(list):
    """A list of rows (dicts) that also carries the :class:`ValidationReport` of how it was loaded."""

    report: ValidationReport

    def __init__(self, rows: Iterable[dict] = (), report: ValidationReport | None = None):
        super().__init__(rows)
        self.report = report if report is not None else ValidationReport()


# ---------------------------------------------------------------------------------------------- row checks
def compact_json(value: Any) -> str:
    """Our serialization: compact JSON, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def call_type(calls: Sequence) -> str:
    """"none" (no call), "single" (one call) or "multiple" (several calls, same or different tools)."""
    return "none" if not calls else "single" if len(calls) == 1 else "multiple"


@dataclass
class _Checked:
    row: dict | None  # normalised row if valid
    problems: list[tuple[str | None, str]]  # (field, message)
    warnings: list[str]
    tool_names: list[str] = field(default_factory=list)  # offered, snake_case
    call_names: list[str] = field(default_factory=list)  # called, snake_case, in order
    dup_key: tuple | None = None


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(v), type(v).__name__)


def check_row(row: Any) -> _Checked:
    """Validate one parsed row; never raises. Returns the normalised row (or None) and every problem found."""
    problems: list[tuple[str | None, str]] = []
    warnings: list[str] = []
    if not isinstance(row, dict):
        return _Checked(None, [(None, f"row must be a JSON object {{query, tools, answers}}, got {_type_name(row)}")],
                        [])
    out = dict(row)
    for name in REQUIRED_FIELDS:
        if name not in row:
            problems.append((name, f"missing field '{name}'"))

    query = row.get("query")
    if "query" in row:
        if not isinstance(query, str):
            problems.append(("query", f"field 'query' must be a string, got {_type_name(query)}"))
        elif not query.strip():
            problems.append(("query", "field 'query' is empty"))

    # tools / answers: JSON string, or an already-parsed list (normalised to a compact string)
    texts: dict[str, str | None] = {}
    for name in ("tools", "answers"):
        if name not in row:
            texts[name] = None
            continue
        v = row[name]
        if isinstance(v, list):
            out[name] = texts[name] = compact_json(v)
        elif isinstance(v, str):
            texts[name] = v
        else:
            problems.append((name, f"field '{name}' must be a JSON string (or a list), got {_type_name(v)}"))
            texts[name] = None

    tools = None
    if texts.get("tools") is not None:
        try:
            parsed = json.loads(texts["tools"])
        except json.JSONDecodeError as err:
            problems.append(("tools", f"field 'tools' is not valid JSON ({err.msg}, column {err.colno})"))
        else:
            if not isinstance(parsed, list):
                problems.append(("tools", f"field 'tools' must be a JSON array of tool schemas, "
                                          f"got {_type_name(parsed)}"))
            else:
                try:
                    tools = parse_tools(parsed)
                except (ToolSchemaError, ValueError, TypeError) as err:  # ToolSchemaError names tools[i].field
                    msg = str(err)
                    problems.append(("tools", msg if msg.startswith("tools") else f"tools: {msg}"))

    calls = None
    if texts.get("answers") is not None:
        try:
            calls = parse_calls(texts["answers"])
        except CallParseError as err:
            msg = str(err)
            msg = "answers:" + msg[len("answer:"):] if msg.startswith("answer:") else f"answers: {msg}"
            problems.append(("answers", msg))

    tool_names = [t.snake_name for t in tools] if tools is not None else []
    call_names: list[str] = []
    if calls is not None:
        call_names = [to_snake_case(c["name"]) for c in calls]
        if tools is not None:
            # call names may be the tool's original name or its snake_case form (validate_calls accepts both)
            coerced, errors = validate_calls(calls, tools, coerce=True)
            problems += [("answers", f"answers: {e}") for e in errors]
            if not errors:
                for i, (a, b) in enumerate(zip(calls, coerced)):
                    for k, v in (a.get("arguments") or {}).items():
                        cv = (b.get("arguments") or {}).get(k, v)
                        if cv != v or type(cv) is not type(v):
                            warnings.append(f"answers: call {i} ({a['name']}): argument '{k}' is "
                                            f"{json.dumps(v, ensure_ascii=False)}, valid only after coercion to "
                                            f"{json.dumps(cv, ensure_ascii=False)}")

    if problems:
        return _Checked(None, problems, warnings, tool_names, call_names)
    dup_key = (query.strip(), tools_fingerprint(tools))
    return _Checked(out, [], warnings, tool_names, call_names, dup_key)


# ---------------------------------------------------------------------------------------------- reading
def _iter_json_lines(path: PathLike) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value, error) for each non-blank line of a JSONL file."""
    with open(path, encoding="utf-8-sig") as f:  # -sig: tolerate a UTF-8 BOM
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as err:
                yield lineno, None, f"invalid JSON ({err.msg}, column {err.colno})"


def _expand_paths(path_or_paths: PathLike | Sequence[PathLike]) -> list[str]:
    items = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    out: list[str] = []
    for item in items:
        p = os.fspath(item)
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "**", "*.jsonl"), recursive=True))
            if not found:
                raise FileNotFoundError(f"no *.jsonl files in folder {p}")
            out += found
        elif any(ch in p for ch in "*?[") and not os.path.exists(p):
            found = sorted(glob.glob(p))
            if not found:
                raise FileNotFoundError(f"no files match {p}")
            out += found
        elif not os.path.exists(p):
            raise FileNotFoundError(f"data file not found: {p}")
        else:
            out.append(p)
    return out


class _Validator:
    """Accumulates a report over rows from one or more sources (duplicates are detected across sources)."""

    def __init__(self):
        self.report = ValidationReport()
        self.seen: dict[tuple, str] = {}
        self.rows: list[dict] = []
        self.meta: list[tuple[list[str], list[str], tuple]] = []  # per valid row: offered, called, dedup key

    def add(self, file: str | None, line: int, value: Any, json_error: str | None = None) -> None:
        r = self.report
        r.total += 1
        where = Problem(file, line, "").where
        if json_error is not None:
            r.problems.append(Problem(file, line, json_error))
            r.invalid_lines.append(where)
            return
        c = check_row(value)
        for w in c.warnings:
            r.warnings.append(Problem(file, line, w))
        if c.row is None:
            for fld, msg in c.problems:
                r.problems.append(Problem(file, line, msg, fld))
            r.invalid_lines.append(where)
            return
        r.valid += 1
        self.rows.append(c.row)
        self.meta.append((c.tool_names, c.call_names, c.dup_key))
        names = list(dict.fromkeys(c.call_names))
        r.tool_counts.update(names)
        r.offered_counts.update(set(c.tool_names))
        r.primary_counts[c.call_names[0] if c.call_names else NO_TOOL] += 1
        r.call_type_counts[call_type(c.call_names)] += 1
        if c.dup_key in self.seen:
            r.duplicates += 1
            r.warnings.append(Problem(file, line, f"duplicate of {self.seen[c.dup_key]} (same query and tools)"))
        else:
            self.seen[c.dup_key] = where

    def add_file(self, path: str) -> None:
        self.report.sources.append(path)
        for lineno, value, err in _iter_json_lines(path):
            self.add(path, lineno, value, err)


def validate_rows(rows_or_path: PathLike | Sequence[PathLike] | Iterable[dict]) -> ValidationReport:
    """Validate JSONL file(s) (path, folder, glob or list of paths) or in-memory rows; never raises on bad rows."""
    return _load(rows_or_path).report


def _is_paths(x: Any) -> bool:
    if isinstance(x, (str, os.PathLike)):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(i, (str, os.PathLike)) for i in x)


def _load(source: Any) -> Rows:
    v = _Validator()
    if _is_paths(source):
        for p in _expand_paths(source):
            v.add_file(p)
    else:
        for i, row in enumerate(source, 1):
            v.add(None, i, row)
    rows = Rows(v.rows, v.report)
    rows._meta = v.meta  # internal: lets splits reuse the parse (offered / called names, dedup key)
    return rows


def load_rows(path_or_paths: PathLike | Sequence[PathLike] | Iterable[dict], strict: bool = True) -> Rows:
    """Load and validate rows from JSONL file(s) (a path, a folder of ``*.jsonl``, a glob, or a list of those), or
    validate in-memory rows.

    Returns a :class:`Rows` list of normalised valid rows with ``.report`` (a :class:`ValidationReport`).
    ``strict=True``: raise :class:`DataValidationError` naming every problem (``file:line: message``) if any row is
    invalid. ``strict=False``: skip invalid rows; ``rows.report.skipped`` counts them and ``report.problems``
    says why. A :class:`Rows` returned by this function is returned as is (already validated), unless rows were
    added or removed since.
    """
    if isinstance(path_or_paths, Rows) and path_or_paths.report.ok and \
            len(getattr(path_or_paths, "_meta", ())) == len(path_or_paths):
        return path_or_paths  # split-data loads, then splits: one validation pass, not two
    rows = _load(path_or_paths)
    if strict and not rows.report.ok:
        raise DataValidationError(rows.report)
    return rows


def read_jsonl(path: PathLike, strict: bool = True) -> Rows:
    """Read and validate one JSONL file (see :func:`load_rows`)."""
    return load_rows([path], strict=strict)


# ---------------------------------------------------------------------------------------------- writing
def write_jsonl(rows: Iterable[dict], path: PathLike) -> int:
    """Write rows as JSONL (UTF-8, one compact object per line; ``tools``/``answers`` lists become JSON strings).

    The file is written atomically (temp file + rename) and parent folders are created. Returns the row count.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                row = dict(row)
                for k in ("tools", "answers"):
                    if isinstance(row.get(k), list):
                        row[k] = compact_json(row[k])
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return n


# ---------------------------------------------------------------------------------------------- small helpers
def row_tool_names(row: dict) -> list[str]:
    """snake_case names of the tools a (valid) row offers."""
    return [t.snake_name for t in parse_tools(row["tools"])]


def row_call_names(row: dict) -> list[str]:
    """snake_case names of the tools a (valid) row calls, in order."""
    return [to_snake_case(str(c.get("name", ""))) for c in parse_calls(row["answers"])]


def primary_tool(row: dict) -> str:
    """First called tool (snake_case), or ``"__no_tool__"`` for a row without a call (spec §7.1 grouping)."""
    names = row_call_names(row)
    return names[0] if names else NO_TOOL


__all__ = [
    "REQUIRED_FIELDS", "NO_TOOL", "DEFAULT_MIN_PER_TOOL", "Problem", "ValidationReport", "DataValidationError",
    "Rows", "check_row", "validate_rows", "load_rows", "read_jsonl", "write_jsonl", "compact_json", "call_type",
    "row_tool_names", "row_call_names", "primary_tool",
]
