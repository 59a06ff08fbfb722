"""Tests of the offline procedural generator (needle_hf.data.offline + needle_hf.data.catalog)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from needle_hf.data import catalog as C
from needle_hf.data.catalog.naming import DESC_SUFFIXES
from needle_hf.data.offline import (CALL_TYPES, DEFAULT_MIX, OfflineGenerator, format_summary, generate_rows,
                                    generate_to_file, load_tools_file, parse_mix, row_key)
from needle_hf.tools import answers_to_text, parse_calls, parse_tools, to_snake_case, tool_to_dict, validate_calls

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_TIME = re.compile(r"^\d{2}:\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
CODE = re.compile(r"^[A-Za-z]{2,3}$")           # language / currency codes converted from names

USER_TOOLS = [
    {"type": "function", "function": {
        "name": "getWeather", "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"name": "book_meeting_room", "description": "Reserve a meeting room.", "parameters": {
        "room": {"type": "string", "description": "Room name", "required": True},
        "date": {"type": "string", "description": "Date as YYYY-MM-DD", "required": True},
        "attendees": {"type": "array", "items": "string", "description": "Emails of attendees", "required": False},
        "projector": {"type": "boolean", "description": "Need a projector", "required": False},
        "duration_minutes": {"type": "integer", "description": "Length", "required": False}}},
    {"name": "create_invoice", "description": "Create an invoice for a client", "parameters": {
        "client": {"type": "string", "description": "Client company", "required": True},
        "amount": {"type": "number", "description": "Total amount", "required": True},
        "currency": {"type": "string", "description": "ISO currency", "required": False, "enum": ["USD", "EUR"]}}},
]


def _run(n, seed=0, mix=None, tools=None):
    gen = OfflineGenerator(seed, mix, tools)
    rows, metas = [], []
    for row, meta in gen.stream():
        rows.append(row)
        metas.append(meta)
        gen.summary.add(meta)
        if len(rows) >= n:
            break
    return rows, metas, gen.summary.as_dict()


@pytest.fixture(scope="module")
def sample():
    return _run(1500, seed=11)


# ------------------------------------------------------------------------------------------------ catalog
def test_catalog_breadth_and_consistency():
    stats = C.catalog_stats()
    assert stats["domains"] >= 30
    assert stats["tools"] >= 300
    assert stats["templates"] >= 2 * stats["tools"]
    for t in ("string", "integer", "number", "boolean", "enum", "array"):
        assert stats["parameter_types"].get(t, 0) > 0, t
    assert stats["optional_parameters"] > 100
    assert C.check_catalog() == []
    assert all(name in C.TOOLS_BY_NAME for name in C.INTENT_LINKS)
    assert all(t.templates for t in C.ALL_TOOLS)


def test_catalog_tools_match_the_canonical_tools_module():
    gen = OfflineGenerator(0)
    for spec in C.ALL_TOOLS:
        fast = gen._finish(spec)._dict                      # the generator's fast path
        (ref,) = parse_tools([spec.schema()])               # the tools module's own parse
        assert fast == tool_to_dict(ref), spec.name


# ------------------------------------------------------------------------------------------------ determinism
def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    generate_to_file(a, 300, seed=5, progress=False)
    generate_to_file(b, 300, seed=5, progress=False)
    generate_to_file(c, 300, seed=6, progress=False)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert list(generate_rows(50, seed=5)) == [json.loads(x) for x in a.read_text("utf-8").splitlines()[:50]]


@pytest.mark.slow
def test_same_bytes_in_another_process_with_another_hash_seed():
    here = list(generate_rows(200, seed=3))
    code = ("import json,sys; from needle_hf.data.offline import generate_rows; "
            "sys.stdout.write(json.dumps(list(generate_rows(200, seed=3))))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == here


# ------------------------------------------------------------------------------------------------ mix
def test_call_type_mix_within_tolerance():
    rows, metas, summary = _run(500, seed=1)
    mix = parse_mix(None)
    counts = Counter(m["call_type"] for m in metas)
    assert set(counts) == set(CALL_TYPES)
    for k in CALL_TYPES:
        assert abs(counts[k] / 500 - mix[k]) < 0.06, (k, counts[k])
    # the rows themselves agree with their call type
    for row, meta in zip(rows, metas):
        calls, tools = json.loads(row["answers"]), json.loads(row["tools"])
        if meta["call_type"] == "none":
            assert calls == []
        elif meta["call_type"] == "parallel":
            assert len(calls) >= 2
        else:
            assert len(calls) == 1
        if meta["call_type"] == "single_tool":
            assert len(tools) == 1
        assert 1 <= len(tools) <= 8


def test_custom_mix_and_bad_mix():
    _, metas, _ = _run(150, seed=2, mix="none=1")
    assert {m["call_type"] for m in metas} == {"none"}
    assert parse_mix({"single": 2, "none": 2}) == {"single": 0.5, "single_tool": 0.0, "parallel": 0.0, "none": 0.5}
    assert abs(sum(DEFAULT_MIX.values()) - 1) < 1e-9
    for bad in ("single", "single=x", {"sngle": 1}, {"single": -1}, {"none": 0}):
        with pytest.raises(ValueError, match="mix"):
            parse_mix(bad)


# ------------------------------------------------------------------------------------------------ validity
def _check_row(row):
    assert list(row) == ["query", "tools", "answers"]
    assert isinstance(row["query"], str) and row["query"].strip() == row["query"] and row["query"]
    tools = parse_tools(row["tools"])
    names = [t.snake_name for t in tools]
    assert len(set(names)) == len(names)
    assert all(d["name"] == to_snake_case(d["name"]) for d in json.loads(row["tools"]))
    calls = parse_calls(row["answers"])
    assert answers_to_text(calls) == row["answers"]
    coerced, errors = validate_calls(calls, tools)
    assert errors == [], (row, errors)
    assert coerced == calls                               # values already have the schema's types
    by_name = {t.snake_name: t for t in tools}
    for c in calls:
        params = by_name[c["name"]].parameters
        order = [p.name for p in params if p.name in c["arguments"]]
        assert list(c["arguments"]) == order              # arguments follow the tool's parameter order
        ptypes = {p.name: p for p in params}
        for k, v in c["arguments"].items():
            values = v if isinstance(v, list) else [v]
            for x in values:
                if not isinstance(x, str) or ptypes[k].enum:
                    continue
                # strings are copied verbatim from the query, except normalised dates/times/codes
                assert (x in row["query"] or ISO_DATE.match(x) or ISO_TIME.match(x) or ISO_DATETIME.match(x)
                        or CODE.match(x)), (x, row["query"])


def test_every_row_is_valid(sample):
    rows, _, summary = sample
    for row in rows:
        _check_row(row)
    assert summary["rows"] == len(rows)


def test_values_of_every_type_and_optional_arguments(sample):
    rows, _, _ = sample
    kinds, optional_present, optional_absent = Counter(), 0, 0
    for row in rows:
        tools = {t.snake_name: t for t in parse_tools(row["tools"])}
        for c in json.loads(row["answers"]):
            for p in tools[c["name"]].parameters:
                if p.name in c["arguments"]:
                    kinds["enum" if p.enum else p.type] += 1
                    optional_present += not p.required
                else:
                    optional_absent += 1
    for t in ("string", "integer", "number", "boolean", "enum", "array"):
        assert kinds[t] > 5, (t, kinds)
    assert optional_present > 100 and optional_absent > 100


def test_procedural_tools_are_the_majority(sample):
    rows, metas, summary = sample
    assert summary["procedural_tool_fraction"] > 0.5
    src = Counter(s for m in metas for s in m["sources"])
    assert src["mutated"] > 0 and src["invented"] > 0 and src["catalog"] > 0
    # tool names in the rows: most are not hand-authored names
    names = [t["name"] for row in rows for t in json.loads(row["tools"])]
    assert sum(n not in C.TOOLS_BY_NAME for n in names) / len(names) > 0.5
    assert summary["distinct_tool_names"] > 0.5 * len(names) / 2
    # called tool names usually do not occur as such in the query
    called = [(c["name"], row["query"]) for row in rows for c in json.loads(row["answers"])]
    said = sum(name.replace("_", " ") in q.lower() for name, q in called)
    assert said / len(called) < 0.3


def test_breadth_in_rows_and_shuffling(sample):
    rows, metas, summary = sample
    catalog_domains = {m["domain"] for m in metas} & set(C.DOMAINS)
    assert len(catalog_domains) >= 30
    assert {m["num_tools"] for m in metas} >= set(range(1, 9))
    first_keys = Counter(next(iter(t)) for row in rows for t in json.loads(row["tools"]))
    assert len(first_keys) == 3                               # key order shuffled per tool
    orders = {tuple(t["parameters"]) for row in rows for t in json.loads(row["tools"]) if t["name"] == "set_alarm"
              and len(t["parameters"]) == 3}
    assert len(orders) > 1                                     # parameter order shuffled


def test_descriptions_do_not_repeat_a_sentence(sample):
    rows, _, _ = sample
    descriptions = [t.get("description", "") for row in rows for t in json.loads(row["tools"])]
    suffixed = [d for d in descriptions if any(d.endswith(x) for x in DESC_SUFFIXES)]
    assert len(suffixed) > 100  # the long variants are common
    for d in descriptions:
        assert not any(d.count(x) > 1 for x in DESC_SUFFIXES), d


def test_no_duplicate_rows(sample):
    rows, _, _ = sample
    keys = {row_key(r["query"], json.loads(r["tools"])) for r in rows}
    assert len(keys) == len(rows)
    assert len({(r["query"], r["tools"]) for r in rows}) == len(rows)


def test_names_and_messages_are_often_new_so_they_must_be_copied():
    import random

    from needle_hf.data.catalog import pools, values
    rng = random.Random(3)
    names = [values.first_name(rng)[0] for _ in range(2000)]
    new = [n for n in names if n not in pools.FIRST_NAMES]
    assert 0.25 < len(new) / len(names) < 0.45 and len(set(new)) > 300
    messages = [values.message(rng)[0] for _ in range(2000)]
    assert len(set(messages) - set(pools.MESSAGES)) > 300
    # in rows, such values are copied verbatim from the query into the answer
    rows, _, _ = _run(3000, seed=5, mix="single_tool=1")
    copied = [(v, r["query"]) for r in rows for c in json.loads(r["answers"]) for k, v in c["arguments"].items()
              if k in ("recipient", "contact", "message") and isinstance(v, str)]
    assert len(copied) > 30 and all(v in query for v, query in copied)
    assert any(v.split()[0] not in pools.FIRST_NAMES + pools.RELATIONS for v, _ in copied)


def test_no_call_rows_include_general_questions_without_search_tools():
    from needle_hf.data.offline import KNOWLEDGE_DOMAINS
    rows, metas, summary = _run(3000, seed=6, mix="none=1")
    assert all(json.loads(r["answers"]) == [] for r in rows)
    questions = [(r, m) for r, m in zip(rows, metas) if m["domain"] == "general_question"]
    chitchat = [m for m in metas if m["domain"] == "chitchat"]
    assert 0.12 < len(questions) / len(rows) < 0.23 and 0.12 < len(chitchat) / len(rows) < 0.23
    assert len({r["query"] for r, _ in questions}) > 200
    offered = {t["name"] for r, _ in questions for t in json.loads(r["tools"])}
    knowledge = {t.name for t in C.TOOLS_BY_NAME.values() if t.domain in KNOWLEDGE_DOMAINS}
    assert offered and not offered & knowledge


def test_exclude_tools_removes_catalog_tools_and_their_renamed_versions():
    held = [t.name for t in C.DOMAINS["weather"]] + ["set_timer", "set_timer_seconds"]
    rows, metas, _ = _run(600, seed=8, mix="single=1")
    assert any(m["domain"] == "weather" for m in metas)
    gen = OfflineGenerator(8, "single=1", exclude_tools=held)
    for (row, meta), _ in zip(gen.stream(), range(600)):
        assert meta["domain"] != "weather"
        assert not set(held) & {t["name"] for t in json.loads(row["tools"])}
        assert "set a timer for" not in row["query"].lower()  # set_timer(_seconds) templates unused
    with pytest.raises(ValueError, match="exclude_tools"):
        OfflineGenerator(0, exclude_tools=["no_such_tool"])


# ------------------------------------------------------------------------------------------------ tools= mode
def test_tools_mode_uses_only_the_given_tools():
    rows, metas, summary = _run(300, seed=4, tools=USER_TOOLS)
    allowed = {"get_weather", "book_meeting_room", "create_invoice"}
    called = Counter()
    for row in rows:
        _check_row(row)
        names = {t["name"] for t in json.loads(row["tools"])}
        assert names <= allowed
        called.update(c["name"] for c in json.loads(row["answers"]))
    assert set(called) == allowed
    assert {m["call_type"] for m in metas} == set(CALL_TYPES)
    assert sum(m["call_type"] == "none" for m in metas) > 20
    assert set(summary["tool_sources"]) == {"user"}
    assert "procedural" not in format_summary(summary)  # user tools are not the generator's procedural tools


def test_tools_mode_from_file_and_unusable_tools(tmp_path):
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(USER_TOOLS), "utf-8")
    assert [t.snake_name for t in load_tools_file(path)] == ["get_weather", "book_meeting_room", "create_invoice"]
    jl = tmp_path / "tools.jsonl"
    jl.write_text("\n".join(json.dumps(t) for t in USER_TOOLS), "utf-8")
    assert len(load_tools_file(jl)) == 3
    bad = [{"name": "set_config", "description": "x", "parameters": {
        "config": {"type": "object", "description": "nested", "required": True}}}]
    with pytest.raises(ValueError, match="config"):
        list(generate_rows(5, tools=bad))
    one = [{"name": "ping", "description": "Ping the server.", "parameters": {}}]
    rows = list(generate_rows(40, seed=1, tools=one))
    assert rows and all(json.loads(r["tools"])[0]["name"] == "ping" for r in rows)


# ------------------------------------------------------------------------------------------------ files, CLI
def test_resume_appends_without_duplicating(tmp_path):
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    generate_to_file(full, 120, seed=9, progress=False)
    lines = full.read_bytes().splitlines(keepends=True)
    part.write_bytes(b"".join(lines[:45]) + lines[45][:20])          # interrupted in the middle of a line
    summary = generate_to_file(part, 120, seed=9, resume=True, progress=False)
    assert summary["resumed_rows"] == 45 and summary["rows"] == 75
    assert part.read_bytes() == full.read_bytes()
    again = generate_to_file(part, 120, seed=9, resume=True, progress=False)   # already complete
    assert again["rows"] == 0 and part.read_bytes() == full.read_bytes()
    generate_to_file(part, 160, seed=10, resume=True, progress=False)          # another seed: new rows only
    rows = [json.loads(x) for x in part.read_text("utf-8").splitlines()]
    assert len(rows) == 160
    assert len({row_key(r["query"], json.loads(r["tools"])) for r in rows}) == 160


def test_cli_writes_file_and_prints_summary(tmp_path, capsys):
    from needle_hf.cli import main

    out = tmp_path / "data.jsonl"
    assert main(["generate-data", "--out", str(out), "--num-samples", "60", "--seed", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "generated 60 rows" in text and "call types:" in text and "skipped:" in text
    assert len(out.read_text("utf-8").splitlines()) == 60

    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(USER_TOOLS), "utf-8")
    out2 = tmp_path / "mine.jsonl"
    assert main(["generate-data", "--out", str(out2), "--num-samples", "30", "--tools", str(tools), "--json",
                 "--mix", "single=1,none=1", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 30 and set(summary["call_types"]) <= {"single", "none"}

    assert main(["generate-data", "--out", str(out2), "--num-samples", "5", "--mix", "bogus=1"]) == 2
    assert "mix" in capsys.readouterr().err
