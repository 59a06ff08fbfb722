"""JSONL rows: line-numbered validation of every error kind, strict / non-strict loading, writing, the CLI."""
from __future__ import annotations

import json

import pytest

from needle_hf.cli import main
from needle_hf.data.io import (
    DataValidationError,
    Rows,
    check_row,
    load_rows,
    read_jsonl,
    validate_rows,
    write_jsonl,
)

from .helpers_data import tool_schema

TOOLS = [
    {"name": "getWeather", "description": "Weather for a city.",
     "parameters": {"location": {"type": "string", "description": "city", "required": True},
                    "days": {"type": "integer", "description": "how many days", "required": False}}},
    {"name": "set_timer", "description": "Start a timer.",
     "parameters": {"minutes": {"type": "integer", "description": "length", "required": True}}},
]
TOOLS_S = json.dumps(TOOLS)


def good(query="weather in Paris", name="get_weather", **args):
    args = args or {"location": "Paris"}
    return {"query": query, "tools": TOOLS_S, "answers": json.dumps([{"name": name, "arguments": args}])}


# line -> (raw line text, expected message fragment); line 3 is blank on purpose (line numbers must still match)
CASES = {
    1: (json.dumps(good()), None),
    2: ('{"query": "broken", "tools": ', "invalid JSON ("),
    4: ('["not", "an", "object"]', "row must be a JSON object {query, tools, answers}, got array"),
    5: (json.dumps({"query": "q", "tools": TOOLS_S}), "missing field 'answers'"),
    6: (json.dumps({"query": 7, "tools": TOOLS_S, "answers": "[]"}), "field 'query' must be a string, got integer"),
    7: (json.dumps({"query": "q", "tools": 3, "answers": "[]"}),
        "field 'tools' must be a JSON string (or a list), got integer"),
    8: (json.dumps({"query": "q", "tools": '[{"description": "no name"}]', "answers": "[]"}),
        'tools[0]: missing "name"'),
    9: (json.dumps({"query": "q", "tools": "[{not json", "answers": "[]"}), "field 'tools' is not valid JSON"),
    10: (json.dumps({"query": "q", "tools": TOOLS_S, "answers": "[{\"name\": "}), "answers: not valid JSON"),
    11: (json.dumps(good(name="book_flight", to="Rome")), "answers: call 0: unknown tool 'book_flight'"),
    12: (json.dumps(good(name="set_timer", minutes=1, seconds=3)),
         "answers: call 0 (set_timer): unknown argument 'seconds'"),
    13: (json.dumps({"query": "timer", "tools": TOOLS_S,
                     "answers": json.dumps([{"name": "set_timer", "arguments": {}}])}),
         "answers: call 0 (set_timer): missing required argument 'minutes'"),
    14: (json.dumps(good(name="set_timer", minutes="five")),
         "answers: call 0 (set_timer): argument 'minutes' must be integer, got 'five'"),
    15: (json.dumps({"query": "   ", "tools": TOOLS_S, "answers": "[]"}), "field 'query' is empty"),
    16: (json.dumps({"query": "q", "tools": TOOLS_S, "answers": 5}),
         "field 'answers' must be a JSON string (or a list), got integer"),
    17: (json.dumps({"query": "q", "tools": '{"name": "x"}', "answers": "[]"}),
         "field 'tools' must be a JSON array of tool schemas, got object"),
}


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "data.jsonl"
    last = max(CASES)
    lines = [CASES[i][0] if i in CASES else "" for i in range(1, last + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_error_kind_is_reported_with_file_and_line(bad_file):
    report = validate_rows(bad_file)
    text = [str(p) for p in report.problems]
    for line, (_, fragment) in CASES.items():
        if fragment is None:
            continue
        hits = [t for t in text if t.startswith(f"{bad_file}:{line}: ")]
        assert hits, f"no problem reported for line {line}: {text}"
        assert any(fragment in t for t in hits), (line, fragment, hits)
    assert not any(t.startswith(f"{bad_file}:1:") or t.startswith(f"{bad_file}:3:") for t in text)
    assert report.total == len(CASES) and report.valid == 1 and report.invalid == len(CASES) - 1
    assert report.invalid_lines == [f"{bad_file}:{i}" for i in sorted(CASES) if i != 1]
    # the formatted report shows the same file:line messages
    out = report.format()
    assert f"{bad_file}:13: answers: call 0 (set_timer): missing required argument 'minutes'" in out


def test_wrong_type_and_missing_field_are_all_listed_for_one_row():
    report = validate_rows([{"query": 1, "tools": None}])
    msgs = [str(p) for p in report.problems]
    assert "row 1: missing field 'answers'" in msgs
    assert "row 1: field 'query' must be a string, got integer" in msgs
    assert "row 1: field 'tools' must be a JSON string (or a list), got null" in msgs


def test_counts_per_tool_call_types_and_duplicates():
    rows = [
        good(),
        good(query="weather in Rome", location="Rome"),
        good(query="timer", name="set_timer", minutes=5),
        {"query": "two", "tools": TOOLS_S, "answers": json.dumps([
            {"name": "getWeather", "arguments": {"location": "Oslo"}},  # original name accepted too
            {"name": "set_timer", "arguments": {"minutes": 1}}])},
        {"query": "hello", "tools": TOOLS_S, "answers": "[]"},
        good(),  # duplicate (query, tools) of row 1
    ]
    report = validate_rows(rows)
    assert report.ok and report.valid == 6
    assert report.tool_counts == {"get_weather": 4, "set_timer": 2}
    assert report.offered_counts == {"get_weather": 6, "set_timer": 6}
    assert report.primary_counts == {"get_weather": 4, "set_timer": 1, "__no_tool__": 1}
    assert report.call_type_counts == {"single": 4, "multiple": 1, "none": 1}
    assert report.duplicates == 1
    assert "row 6: duplicate of row 1 (same query and tools)" in [str(w) for w in report.warnings]
    assert report.under_minimum(3) == {"set_timer": 2}


def test_coercible_value_is_a_warning_not_an_error():
    report = validate_rows([good(name="set_timer", minutes="5")])
    assert report.ok
    assert any("valid only after coercion" in str(w) for w in report.warnings)


def test_lists_are_normalised_to_compact_strings_and_strings_kept_verbatim():
    row = {"query": "Zürich weather", "tools": TOOLS, "answers": [{"name": "get_weather",
                                                                   "arguments": {"location": "Zürich"}}],
           "source": "hand"}
    c = check_row(row)
    assert c.row["tools"] == json.dumps(TOOLS, separators=(",", ":"), ensure_ascii=False)
    assert c.row["answers"] == '[{"name":"get_weather","arguments":{"location":"Zürich"}}]'
    assert c.row["source"] == "hand"
    spaced = good()
    assert check_row(spaced).row == spaced  # JSON strings are not re-serialised


def test_strict_loader_raises_with_every_problem(bad_file):
    with pytest.raises(DataValidationError) as info:
        read_jsonl(bad_file)
    msg = str(info.value)
    assert f"{bad_file}:2: invalid JSON" in msg and f"{bad_file}:14:" in msg and "strict=False" in msg
    assert info.value.report.invalid == len(CASES) - 1


def test_non_strict_loader_returns_valid_rows_and_counts_skipped(bad_file):
    rows = load_rows(bad_file, strict=False)
    assert isinstance(rows, Rows) and len(rows) == 1 and rows[0]["query"] == "weather in Paris"
    assert rows.report.skipped == len(CASES) - 1 == rows.report.total - len(rows)
    assert len(rows.report.invalid_lines) == rows.report.skipped


def test_load_rows_several_files_folder_and_missing(tmp_path):
    a, b = tmp_path / "d" / "a.jsonl", tmp_path / "d" / "b.jsonl"
    write_jsonl([good()], a)
    write_jsonl([good(query="x"), {"query": "y"}], b)
    rows = load_rows([a, b], strict=False)
    assert len(rows) == 2 and rows.report.sources == [str(a), str(b)]
    assert [str(p) for p in rows.report.problems] == [f"{b}:2: missing field 'tools'",
                                                     f"{b}:2: missing field 'answers'"]
    assert len(load_rows(tmp_path / "d", strict=False)) == 2  # a folder of *.jsonl
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        load_rows(tmp_path / "nope.jsonl")


def test_loaded_rows_are_not_validated_twice(tmp_path):
    rows = load_rows([good(), good(query="x")])
    assert load_rows(rows) is rows                      # split-data: load once, then split without a second pass
    rows.append({"query": "y"})                         # changed since: validated again, the bad row is named
    with pytest.raises(DataValidationError, match="row 3"):
        load_rows(rows)


def test_write_jsonl_roundtrip_utf8(tmp_path):
    rows = [{"query": "Zürich ☀", "tools": TOOLS, "answers": [{"name": "get_weather",
                                                              "arguments": {"location": "Zürich"}}]}, good()]
    path = tmp_path / "out" / "rows.jsonl"
    assert write_jsonl(rows, path) == 2
    raw = path.read_text(encoding="utf-8")
    assert "Zürich ☀" in raw and "\\u" not in raw.splitlines()[0]
    back = read_jsonl(path)
    assert back[1] == rows[1]
    assert json.loads(back[0]["answers"]) == rows[0]["answers"] and json.loads(back[0]["tools"]) == TOOLS


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_validate_data_exit_codes_and_output(bad_file, tmp_path, capsys):
    assert main(["validate-data", str(bad_file)]) == 1
    out = capsys.readouterr().out
    assert f"{bad_file}:2: invalid JSON" in out
    assert f"{bad_file}:14: answers: call 0 (set_timer): argument 'minutes' must be integer, got 'five'" in out

    ok = tmp_path / "ok.jsonl"
    write_jsonl([good(), good(query="timer", name="set_timer", minutes=3)], ok)
    assert main(["validate-data", str(ok)]) == 0
    out = capsys.readouterr().out
    assert "WARNING" in out and "fewer than 120 examples" in out and "get_weather (1)" in out
    assert main(["validate-data", str(ok), "--min-per-tool", "1"]) == 0
    assert "WARNING" not in capsys.readouterr().out

    assert main(["validate-data", str(ok), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] == 2 and data["under_minimum"] == {"get_weather": 1, "set_timer": 1}

    assert main(["validate-data", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_cli_validate_data_empty_file_fails(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert main(["validate-data", str(empty)]) == 1
    assert "no rows" in capsys.readouterr().err


def test_tool_schema_helper_rows_are_valid():
    t = tool_schema("do_it", extra="count")
    row = {"query": "do it", "tools": json.dumps([t]),
           "answers": json.dumps([{"name": "do_it", "arguments": {"value": "x", "count": 2}}])}
    assert validate_rows([row]).ok


def test_format_lists_the_most_called_tools_only():
    """Generated data offers thousands of tools: the text report shows the `max_tools` most called ones."""
    from needle_hf.data.offline import generate_rows

    report = validate_rows(list(generate_rows(80, seed=2)))
    names = set(report.tool_counts) | set(report.offered_counts)
    assert len(names) > 30
    out = report.format(max_tools=10, min_per_tool=120)
    assert f"... and {len(names) - 10} more tools (--json lists them all)" in out
    assert len([ln for ln in out.splitlines() if "WARNING: under 120" in ln]) <= 10
    assert f"({len(report.under_minimum(120)) - 10} more)" in out
    assert len(report.format(max_tools=None).splitlines()) > len(out.splitlines())
