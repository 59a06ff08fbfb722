"""The Gemini data generator, end to end against a loopback stub of the Gemini REST API (no network)."""
from __future__ import annotations

import itertools
import json
import re

import pytest

pytest.importorskip("google.genai")

from needle_hf.data import gemini  # noqa: E402
from needle_hf.data.gemini import GeminiError, generate_rows_gemini  # noqa: E402
from needle_hf.tools import parse_calls, parse_tools, tools_to_text  # noqa: E402

from .gemini_stub import GeminiStub, Reply, error, ok  # noqa: E402

TOOLS = [
    {"name": "get_weather", "description": "Current weather for a place",
     "parameters": {"location": {"type": "string", "description": "city name", "required": True},
                    "days": {"type": "integer", "description": "forecast days", "required": False}}},
    {"name": "set_timer", "description": "Start a countdown timer",
     "parameters": {"minutes": {"type": "integer", "description": "duration in minutes", "required": True}}},
]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", gemini.BASE_URL_ENV_VAR, "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")


def _n_asked(body: dict) -> int:
    text = " ".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))
    m = re.search(r"Write (\d+) rows", text)
    return int(m.group(1)) if m else 3


_city_ids = itertools.count()


def weather_row(i: int, **over) -> dict:
    row = {"query": f"What's the weather in Springfield{i}?",
           "answers": [{"name": "get_weather", "arguments": json.dumps({"location": f"Springfield{i}"})}]}
    row.update(over)
    return row


def given_rows(body: dict) -> Reply:
    """Good rows for TOOLS, as many as the prompt asks for, unique across the whole test session."""
    return ok([weather_row(next(_city_ids)) for _ in range(_n_asked(body))])


def invented_rows(body: dict) -> Reply:
    rows = []
    for _ in range(_n_asked(body)):
        i = next(_city_ids)
        rows.append({
            "query": f"Play the album Blue{i} please",
            "tools": [
                {"name": "play_album", "description": "Play an album",
                 "parameters": [{"name": "album", "type": "string", "description": "album title", "required": True},
                                {"name": "shuffle", "type": "boolean", "description": "shuffle", "required": False}]},
                {"name": "set_volume", "description": "Set the volume",
                 "parameters": [{"name": "level", "type": "string", "description": "level", "required": True,
                                 "enum": ["low", "medium", "high"]}]},
            ],
            "answers": [{"name": "play_album", "arguments": json.dumps({"album": f"Blue{i}"})}],
        })
    return ok(rows)


def run(stub, tmp_path, **kw):
    kw.setdefault("tools", TOOLS)
    kw.setdefault("num_samples", 3)
    kw.setdefault("workers", 1)
    kw.setdefault("rows_per_request", 3)
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("timeout_s", 10)
    kw.setdefault("progress", False)
    kw.setdefault("out", tmp_path / "out.jsonl")
    return generate_rows_gemini(base_url=stub.url, **kw)


def read_rows(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def test_success_given_tools_rows_and_request_body(tmp_path):
    with GeminiStub(default=given_rows) as stub:
        s = run(stub, tmp_path, num_samples=6, workers=2, model="gemini-test-model")
    assert s["written"] == 6 and s["total"] == 6 and s["complete"]
    assert s["skipped"] == {} and s["retries"] == 0 and s["requests"] == 2
    rows = read_rows(tmp_path / "out.jsonl")
    assert len(rows) == 6 and len({r["query"] for r in rows}) == 6
    canonical = tools_to_text(parse_tools(TOOLS))
    for r in rows:
        assert set(r) == {"query", "tools", "answers"}
        assert r["tools"] == canonical
        assert parse_calls(r["answers"])[0]["name"] == "get_weather"
        assert ", " not in r["answers"]  # compact JSON
    # what Gemini was sent: structured output with our schema, and the user's tool set in the prompt
    req = stub.requests[0]
    assert re.fullmatch(r"/v1(beta)?/models/gemini-test-model:generateContent", req["path"])
    assert req["headers"].get("x-goog-api-key") == "test-key"
    cfg = req["body"]["generationConfig"]
    assert cfg["responseMimeType"] == "application/json"
    schema = cfg["responseSchema"]
    assert schema["type"] == "ARRAY"
    props = schema["items"]["properties"]
    assert {"query", "answers"} <= set(props) and "tools" not in props
    assert props["answers"]["items"]["properties"]["name"]["enum"] == ["get_weather", "set_timer"]
    assert canonical in stub.prompts()[0]


def test_invented_tools_and_env_base_url(tmp_path, monkeypatch):
    with GeminiStub(default=invented_rows) as stub:
        monkeypatch.setenv(gemini.BASE_URL_ENV_VAR, stub.url)
        s = generate_rows_gemini(tools=None, num_samples=4, out=tmp_path / "inv.jsonl", seed=1, workers=2,
                                 rows_per_request=2, progress=False)
    assert s["written"] == 4 and s["skipped"] == {}
    rows = read_rows(tmp_path / "inv.jsonl")
    tools = json.loads(rows[0]["tools"])
    assert [t["name"] for t in tools] == ["play_album", "set_volume"]
    assert tools[0]["parameters"]["album"] == {"type": "string", "description": "album title", "required": True}
    assert tools[1]["parameters"]["level"]["enum"] == ["low", "medium", "high"]
    props = stub.requests[0]["body"]["generationConfig"]["responseSchema"]["items"]["properties"]
    assert "tools" in props
    assert "scenario" in stub.prompts()[0] and "Call types" in stub.prompts()[0]


@pytest.mark.parametrize("status", [429, 500])
def test_retry_then_success(tmp_path, status):
    with GeminiStub([error(status)], default=given_rows) as stub:
        s = run(stub, tmp_path)
    assert s["retries"] == 1 and s["requests"] == 2
    assert s["written"] == 3 and s["skipped"] == {}


def test_malformed_replies_are_counted_and_the_run_continues(tmp_path):
    script = [
        ok("Sure! Here are your rows: query=..."),  # not JSON
        ok({"rows": "nope"}),  # JSON, wrong shape
        Reply(200, b"<html>bad gateway</html>"),  # the HTTP body itself is not JSON
        ok([1, 2, 3]),  # an array, but not of rows
    ]
    with GeminiStub(script, default=given_rows) as stub:
        s = run(stub, tmp_path, max_malformed=2)
    # first request: 3 malformed replies -> gives up; second: 1 malformed, then good rows
    assert s["skipped"] == {"malformed_reply": 4, "request_failed": 1}
    assert s["written"] == 3 and s["requests"] == 5
    assert len(read_rows(tmp_path / "out.jsonl")) == 3


def test_rows_failing_validation_are_skipped_with_reasons(tmp_path):
    bad = [
        weather_row(9001),
        weather_row(9002, answers=[{"name": "get_stock_price", "arguments": "{\"ticker\":\"ACME\"}"}]),
        weather_row(9003, answers=[{"name": "get_weather", "arguments": "{\"days\":2}"}]),
        weather_row(9004, answers=[{"name": "get_weather",
                                    "arguments": "{\"location\":\"Springfield9004\",\"days\":\"five\"}"}]),
        weather_row(9005, answers=[{"name": "get_weather", "arguments": "{\"location\":\"Atlantis\"}"}]),
        weather_row(9006, answers=[{"name": "get_weather", "arguments": "not json"}]),
        {"answers": []},
        {"query": "  WHAT'S the weather in   springfield9001 "},  # duplicate of the first (normalised)
    ]
    bad[-1]["answers"] = bad[0]["answers"]
    with GeminiStub([ok(bad)], default=given_rows) as stub:
        s = run(stub, tmp_path, num_samples=4, rows_per_request=8)
    assert s["skipped"] == {"unknown_tool": 1, "missing_required_argument": 1, "wrong_argument_type": 1,
                            "ungrounded_value": 1, "bad_answers": 1, "bad_row": 1, "duplicate": 1}
    assert "get_stock_price" in s["skipped_examples"]["unknown_tool"]
    assert "location" in s["skipped_examples"]["missing_required_argument"]
    assert s["written"] == 4
    rows = read_rows(tmp_path / "out.jsonl")
    assert rows[0]["query"] == "What's the weather in Springfield9001?" and len(rows) == 4


def test_no_api_key_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    with GeminiStub(default=given_rows) as stub:
        with pytest.raises(ValueError, match="GEMINI_API_KEY") as exc:
            run(stub, tmp_path)
        assert stub.requests == []
    assert "GOOGLE_API_KEY" in str(exc.value) and "aistudio.google.com" in str(exc.value)
    assert not (tmp_path / "out.jsonl").exists()


def test_google_api_key_also_works(tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "other-key")
    with GeminiStub(default=given_rows) as stub:
        assert run(stub, tmp_path)["written"] == 3
    assert stub.requests[0]["headers"].get("x-goog-api-key") == "other-key"


def test_resume_generates_only_the_missing_rows(tmp_path):
    out = tmp_path / "resume.jsonl"
    with GeminiStub(default=given_rows) as stub:
        first = run(stub, tmp_path, out=out, num_samples=5, rows_per_request=2)
    assert first["written"] == 5 and len(read_rows(out)) == 5
    existing = read_rows(out)
    dup = {"query": existing[0]["query"], "answers": json.loads(existing[0]["answers"])}
    dup["answers"][0]["arguments"] = json.dumps(dup["answers"][0]["arguments"])
    # the resumed run's first reply repeats a row already in the file: it must be caught by the loaded dedup set
    with GeminiStub([lambda body: ok([dup] + [weather_row(next(_city_ids)) for _ in range(_n_asked(body) - 1)])],
                    default=given_rows) as stub:
        second = run(stub, tmp_path, out=out, num_samples=8, rows_per_request=10)
    assert second["existing"] == 5 and second["written"] == 3 and second["total"] == 8
    assert second["skipped"] == {"duplicate": 1}
    assert "Write 3 rows" in stub.prompts()[0]
    rows = read_rows(out)
    assert len(rows) == 8 and rows[:5] == existing and len({r["query"] for r in rows}) == 8
    # already complete: nothing is requested
    with GeminiStub(default=given_rows) as stub:
        third = run(stub, tmp_path, out=out, num_samples=8)
    assert third["written"] == 0 and third["complete"] and stub.requests == []


def test_resume_repairs_a_cut_off_last_line(tmp_path):
    out = tmp_path / "cut.jsonl"
    with GeminiStub(default=given_rows) as stub:
        run(stub, tmp_path, out=out, num_samples=2, rows_per_request=2)
        with open(out, "a", encoding="utf-8") as f:
            f.write('{"query": "half a ro')
        s = run(stub, tmp_path, out=out, num_samples=3)
    assert s["existing"] == 2 and s["written"] == 1 and len(read_rows(out)) == 3


def test_bad_line_in_existing_file_names_the_line(tmp_path):
    out = tmp_path / "bad.jsonl"
    out.write_text('{"query": "a", "tools": "[]", "answers": "[]"}\nnot json\n{"query": "b", "tools": "[]"}\n')
    with GeminiStub(default=given_rows) as stub:
        with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
            run(stub, tmp_path, out=out, num_samples=5)


def test_rejected_request_is_a_clear_error(tmp_path):
    with GeminiStub([error(403, "API key not valid")], default=given_rows) as stub:
        with pytest.raises(GeminiError, match="API key") as exc:
            run(stub, tmp_path)
    assert exc.value.summary["requests"] == 1 and exc.value.summary["retries"] == 0


def test_persistent_server_errors_stop_after_bounded_retries(tmp_path):
    with GeminiStub(default=error(503)) as stub:
        with pytest.raises(GeminiError, match="in a row failed") as exc:
            run(stub, tmp_path, max_retries=2, max_consecutive_failures=2)
    summary = exc.value.summary
    assert summary["requests"] == 6 and summary["retries"] == 4
    assert summary["skipped"] == {"request_failed": 2} and summary["written"] == 0


def test_plans_are_seeded_and_cover_call_types():
    def plans(seed):
        rng = __import__("random").Random(seed)
        return [gemini.plan_request(rng, i, 10, given_tools=False) for i in range(30)]

    a, b = plans(0), plans(0)
    assert [(p.call_types, p.language, p.scenario) for p in a] == [(p.call_types, p.language, p.scenario) for p in b]
    kinds = {k for p in a for k in p.call_types}
    assert kinds == {"single", "multiple", "parallel", "none"}
    assert len({p.language for p in a}) > 3 and all(p.tools_range[1] <= gemini.MAX_TOOLS for p in a)
    one_tool = gemini.plan_request(__import__("random").Random(0), 0, 50, given_tools=True, num_given_tools=1)
    assert "multiple" not in one_tool.call_types and one_tool.language == "English"


def test_invented_mode_checks_tools_and_keeps_no_call_rows(tmp_path):
    good_tool = {"name": "getWeather", "description": "weather",
                 "parameters": [{"name": "city", "type": "string", "description": "", "required": True}]}
    reply = [
        {"query": "Tell me a joke", "tools": [good_tool], "answers": []},  # call type "none": kept, answers "[]"
        {"query": "Weather in Oslo", "tools": [], "answers": []},
        {"query": "Weather in Bergen", "tools": [{"description": "no name"}], "answers": []},
        {"query": "Weather in Lima", "tools": [dict(good_tool, name=f"t{i}") for i in range(11)], "answers": []},
        {"query": "Weather in Quito", "tools": [good_tool],
         "answers": [{"name": "getWeather", "arguments": "{\"city\":\"Quito\"}"}]},
    ]
    with GeminiStub([ok(reply)]) as stub:
        s = run(stub, tmp_path, tools=None, num_samples=2, rows_per_request=5)
    assert s["skipped"] == {"bad_tools": 2, "too_many_tools": 1}
    rows = read_rows(tmp_path / "out.jsonl")
    assert rows[0]["answers"] == "[]"
    assert rows[1]["answers"] == '[{"name":"get_weather","arguments":{"city":"Quito"}}]'
    assert json.loads(rows[1]["tools"])[0]["name"] == "get_weather"
