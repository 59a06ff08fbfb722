"""Synthetic tool-calling data from Gemini (``needle-hf generate-data --backend gemini``).

Gemini is asked, with structured output (``response_mime_type="application/json"`` + a ``response_schema``), for a
JSON array of rows ``{query, tools, answers}``. Two modes:

* ``tools=None``: Gemini invents a realistic tool set per row, in the spirit of the Needle v1 generator (call types
  single / multiple / parallel / none, 25 languages, a scenario and a style hint per request, string values copied
  verbatim from the query).
* ``tools=[...]`` (any format :func:`needle_hf.tools.parse_tools` accepts): Gemini writes queries + answers for exactly
  that tool set (the data for finetuning / a LoRA adapter for one product); every row carries the full tool set.

Every row goes through the same checks as the offline generator: tools canonicalised by ``parse_tools``, answers
parsed, name-normalised and validated (+ coerced) by ``validate_calls``, string values grounded in the query, and
de-duplicated on normalised query + tool-set fingerprint. Nothing is dropped silently: each skipped row or reply is
counted under its reason in the summary.

Requests run in a thread pool (``workers``), are retried with exponential backoff on 429 / 5xx / transport errors
(our own loop so retries are counted; the client's own retries are switched off), and a malformed reply (not JSON, or
JSON of the wrong shape) is counted and re-asked a bounded number of times. The output JSONL is appended to: rerunning
with the same ``out`` only generates the rows that are missing, and rows already there are loaded into the dedup set.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import time
import unicodedata
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from needle_hf.tools import (
    CallParseError,
    ToolSchemaError,
    answers_to_text,
    parse_calls,
    parse_tools,
    to_snake_case,
    tool_to_dict,
    tools_fingerprint,
    tools_to_text,
    validate_calls,
)

__all__ = [
    "DEFAULT_MODEL",
    "API_KEY_ENV_VARS",
    "BASE_URL_ENV_VAR",
    "GeminiError",
    "MalformedReply",
    "RequestPlan",
    "resolve_api_key",
    "make_client",
    "response_schema",
    "plan_request",
    "build_prompt",
    "parse_reply",
    "check_row",
    "normalize_query",
    "dedup_key",
    "load_existing",
    "generate_rows_gemini",
]

DEFAULT_MODEL = "gemini-2.5-flash"
API_KEY_ENV_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
BASE_URL_ENV_VAR = "NEEDLE_GEMINI_BASE_URL"
API_KEY_HELP = "https://aistudio.google.com/apikey"

# Needle v1 generated in 25 languages; English is over-weighted here (the shipped model is mostly used in English).
LANGUAGES = (
    "English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch", "Russian", "Polish", "Turkish",
    "Arabic", "Hindi", "Bengali", "Chinese (Simplified)", "Japanese", "Korean", "Vietnamese", "Thai", "Indonesian",
    "Swahili", "Ukrainian", "Greek", "Hebrew", "Swedish", "Persian",
)
ENGLISH_WEIGHT = 0.4

CALL_TYPES = {"single": 0.45, "multiple": 0.2, "parallel": 0.2, "none": 0.15}
CALL_TYPE_HELP = {
    "single": "the query needs exactly one call to one tool",
    "multiple": "the query asks for two or three different things, each done by a different tool; one call each",
    "parallel": "the query asks for the same action on several items (e.g. the weather in two cities); the same "
                "tool is called once per item",
    "none": "no offered tool can do what the query asks (or it is small talk / a general question); answers is []",
}

SCENARIOS = (
    "weather and forecasts", "calendar and meetings", "email", "instant messaging and SMS", "phone calls and contacts",
    "smart home devices", "music and podcasts", "video streaming", "maps and navigation", "ride hailing",
    "food delivery", "restaurant reservations", "online shopping", "banking and payments", "stock market and crypto",
    "personal finance and budgeting", "fitness tracking", "health and medication reminders", "travel: flights",
    "travel: hotels", "car rental", "timers, alarms and reminders", "notes and to-do lists", "file storage",
    "translation and dictionaries", "news", "sports scores", "recipes and cooking", "social media",
    "customer support / CRM", "e-commerce store admin", "DevOps and cloud servers", "databases and analytics",
    "project management and issue tracking", "education and flashcards", "job search and HR", "real estate",
    "event tickets", "public transport", "parking and EV charging", "pet care", "gardening and IoT sensors",
    "photography and image editing", "gaming", "library and books", "weather-dependent farming", "insurance claims",
    "utilities and energy usage", "legal documents", "car diagnostics",
)
STYLES = (
    "short imperative commands", "polite full-sentence requests", "spoken voice-assistant style",
    "questions", "requests with some irrelevant context before the ask", "casual chat style with informal wording",
    "precise requests with exact numbers, names and dates", "a mix of lengths and tones",
)

MAX_TOOLS = 10  # Needle v1 rows offer at most 10 tools


class GeminiError(ValueError):
    """A problem the user must fix (rejected key, unknown model, quota exhausted, Gemini unreachable).

    Rows already written stay in the output file; rerunning with the same ``out`` resumes."""


class MalformedReply(ValueError):
    """Gemini's reply is not JSON, or not a JSON array of row objects."""


# --------------------------------------------------------------------------------------------------- client


def resolve_api_key(api_key: str | None = None) -> str:
    """``api_key`` if given, else ``$GEMINI_API_KEY``, else ``$GOOGLE_API_KEY``; a clear ValueError without one."""
    if api_key and api_key.strip():
        return api_key.strip()
    for var in API_KEY_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    raise ValueError(
        "no Gemini API key: set the environment variable GEMINI_API_KEY (or GOOGLE_API_KEY) to your key, "
        f"or pass api_key=...; you can create a key at {API_KEY_HELP}"
    )


def resolve_base_url(base_url: str | None = None) -> str | None:
    """``base_url`` if given, else ``$NEEDLE_GEMINI_BASE_URL``, else None (Google's endpoint)."""
    return base_url or os.environ.get(BASE_URL_ENV_VAR) or None


def _import_genai():
    try:
        from google import genai
        from google.genai import types
    except ImportError as err:  # optional extra
        raise ImportError(
            "the Gemini backend needs the google-genai package: pip install 'needle-hf[gemini]' "
            "(or pip install google-genai)"
        ) from err
    return genai, types


def make_client(api_key: str | None = None, base_url: str | None = None, *, timeout_s: float = 120.0,
                api_version: str = "v1beta"):
    """A ``google.genai.Client`` with the client's own retries off (our loop retries and counts).

    ``base_url`` (or ``$NEEDLE_GEMINI_BASE_URL``) points it at another endpoint, e.g. a proxy or a test stub.
    ``api_version`` defaults to v1beta, where structured output (responseSchema) is documented."""
    genai, types = _import_genai()
    key = resolve_api_key(api_key)
    http_options = types.HttpOptions(
        base_url=resolve_base_url(base_url),
        api_version=api_version,
        timeout=int(timeout_s * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=key, http_options=http_options)


# --------------------------------------------------------------------------------------------------- schema, prompt


def response_schema(tool_names: list[str] | None = None) -> dict:
    """The Gemini (OpenAPI-subset) schema of a reply: an array of rows.

    Without ``tool_names`` each row carries its invented ``tools`` (structured: parameters as a list, converted to
    the flat Needle schema afterwards). With ``tool_names`` rows have no ``tools`` and call names are an enum.
    ``arguments`` is a JSON object encoded as a string: Gemini's schema cannot express an object with free keys."""
    name = {"type": "STRING", "description": "name of one of the row's tools"}
    if tool_names:
        name = {"type": "STRING", "enum": list(tool_names)}
    call = {
        "type": "OBJECT",
        "properties": {
            "name": name,
            "arguments": {"type": "STRING",
                          "description": 'the call\'s arguments as a JSON object encoded in a string, '
                                         'e.g. "{\\"city\\":\\"Paris\\",\\"days\\":3}"; "{}" for none'},
        },
        "required": ["name", "arguments"],
        "propertyOrdering": ["name", "arguments"],
    }
    row: dict[str, Any] = {
        "type": "OBJECT",
        "properties": {
            "query": {"type": "STRING", "description": "what the user says or types"},
            "answers": {"type": "ARRAY", "items": call, "description": "the tool calls that fulfil the query; [] if none"},
        },
        "required": ["query", "answers"],
        "propertyOrdering": ["query", "answers"],
    }
    if not tool_names:
        param = {
            "type": "OBJECT",
            "properties": {
                "name": {"type": "STRING", "description": "snake_case parameter name"},
                "type": {"type": "STRING", "enum": ["string", "integer", "number", "boolean", "array", "object"]},
                "description": {"type": "STRING"},
                "required": {"type": "BOOLEAN"},
                "enum": {"type": "ARRAY", "items": {"type": "STRING"}, "description": "allowed values (strings only)"},
            },
            "required": ["name", "type", "description", "required"],
            "propertyOrdering": ["name", "type", "description", "required", "enum"],
        }
        tool = {
            "type": "OBJECT",
            "properties": {
                "name": {"type": "STRING", "description": "snake_case tool name"},
                "description": {"type": "STRING"},
                "parameters": {"type": "ARRAY", "items": param},
            },
            "required": ["name", "description", "parameters"],
            "propertyOrdering": ["name", "description", "parameters"],
        }
        row["properties"]["tools"] = {"type": "ARRAY", "items": tool, "description": "the tools the assistant has"}
        row["required"] = ["query", "tools", "answers"]
        row["propertyOrdering"] = ["query", "tools", "answers"]
    return {"type": "ARRAY", "items": row}


SYSTEM_INSTRUCTION = (
    "You write training data for a small on-device model that turns a user's request plus a list of tools into JSON "
    "tool calls. Each row is a user query, the tools the assistant has, and exactly the tool calls the assistant "
    "should make. Reply with JSON only, following the response schema."
)

_ANSWER_RULES = """Rules for answers:
- Every call names one of the row's tools and gives all of its required arguments; give an optional argument only \
when the query states it.
- String values are copied verbatim from the query (same words, same language, same spelling). Never translate, \
paraphrase, reformat (e.g. dates) or invent a value the query does not state; if a required value is missing from \
the query, rewrite the query so that it states it. Enum values are used exactly as listed.
- Numbers and booleans are JSON numbers and booleans, not strings.
- "arguments" is a JSON object encoded as a string, e.g. "{\\"city\\":\\"Paris\\",\\"days\\":3}".
Queries sound like real users: vary phrasing, length, tone and detail; never repeat a query."""


@dataclass
class RequestPlan:
    """What one request asks for (drawn from a seeded RNG; also shown in the prompt)."""

    index: int
    n: int
    call_types: list[str]
    language: str
    style: str
    scenario: str | None = None
    tools_range: tuple[int, int] | None = None
    seed: int = 0


def plan_request(rng: random.Random, index: int, n: int, *, given_tools: bool, num_given_tools: int = 0,
                 languages: list[str] | None = None, call_types: dict[str, float] | None = None) -> RequestPlan:
    weights = dict(call_types or CALL_TYPES)
    if given_tools and num_given_tools < 2:  # "multiple" needs two different tools
        weights["parallel"] = weights.get("parallel", 0) + weights.pop("multiple", 0)
    kinds = [k for k, w in weights.items() if w > 0]
    types_ = rng.choices(kinds, weights=[weights[k] for k in kinds], k=n)
    if languages:
        language = rng.choice(list(languages))
    elif given_tools:
        language = "English"
    else:
        rest = (1 - ENGLISH_WEIGHT) / (len(LANGUAGES) - 1)
        language = rng.choices(LANGUAGES, weights=[ENGLISH_WEIGHT] + [rest] * (len(LANGUAGES) - 1))[0]
    style = rng.choice(STYLES)
    scenario = tools_range = None
    if not given_tools:
        scenario = rng.choice(SCENARIOS)
        lo = rng.randint(1, 4)
        tools_range = (lo, min(MAX_TOOLS, lo + rng.randint(1, 5)))
    return RequestPlan(index=index, n=n, call_types=types_, language=language, style=style, scenario=scenario,
                       tools_range=tools_range, seed=rng.randrange(2**31))


def build_prompt(plan: RequestPlan, tools_text: str | None = None) -> str:
    """The user prompt for one request (``tools_text``: the user's tool set as canonical JSON, or None to invent)."""
    kinds = sorted(set(plan.call_types), key=list(CALL_TYPE_HELP).index)
    lines = []
    if tools_text is not None:
        lines += [
            f"The assistant has exactly these tools (JSON):\n{tools_text}",
            "",
            f"Write {plan.n} rows: queries a user of this tool set might send, with the exact calls. Use only these "
            f"tools and their parameter names. Write the queries in {plan.language}; style: {plan.style}.",
        ]
    else:
        lo, hi = plan.tools_range or (2, 6)
        lines += [
            f'Write {plan.n} rows for the scenario "{plan.scenario}". Write the queries in {plan.language} '
            f"(tool names, parameter names and descriptions in English); style: {plan.style}.",
            "",
            f"Tools: for each row invent a realistic set of {lo} to {hi} tools (at most {MAX_TOOLS}) that an app in "
            "this scenario could expose, including tools the query does not need. Tool and parameter names are "
            "snake_case; parameter types are string, integer, number, boolean, array or object; a parameter is "
            "required only if a call cannot be made without it; give enum values for closed sets of options.",
        ]
    lines += ["", "Call types, one per row, in this order: " + ", ".join(plan.call_types) + "."]
    lines += [f"- {k}: {CALL_TYPE_HELP[k]}." for k in kinds]
    lines += ["", _ANSWER_RULES]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- reply -> rows

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def parse_reply(text: str | None) -> list[dict]:
    """Gemini's reply text -> list of raw row dicts; MalformedReply if not JSON or not an array of objects.

    Accepts a ``{"rows": [...]}`` wrapper and a ```json fence (seen from some models despite JSON mode)."""
    if text is None or not text.strip():
        raise MalformedReply("empty reply")
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        data = json.loads(text)
    except ValueError as err:
        raise MalformedReply(f"reply is not JSON ({err})") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise MalformedReply(f"reply is JSON but not an array of row objects (got {type(data).__name__})")
    if data and not any("query" in r for r in data):
        raise MalformedReply("reply rows have no 'query' field")
    return data


def _structured_tool_to_flat(t: Any) -> Any:
    """A tool as the response schema asks for it (parameters as a list) -> the flat Needle schema; others as is."""
    if isinstance(t, dict) and isinstance(t.get("parameters"), list):
        params = {}
        for p in t["parameters"]:
            if not isinstance(p, dict) or "name" not in p:
                raise ToolSchemaError(f"tool {t.get('name')!r}: a parameter has no name")
            d = {"type": p.get("type", "string"), "description": p.get("description", ""),
                 "required": bool(p.get("required", False))}
            if p.get("enum") and d["type"] == "string":
                d["enum"] = list(p["enum"])
            if d["type"] == "array":
                d["items"] = p.get("items") or "string"
            params[str(p["name"])] = d
        return {"name": t.get("name"), "description": t.get("description", ""), "parameters": params}
    return t


def _raw_calls(answers: Any) -> list[dict]:
    """answers (a JSON string, or a list of calls whose arguments may be JSON strings) -> list of call dicts."""
    if isinstance(answers, str):
        return parse_calls(answers)
    if not isinstance(answers, list):
        raise CallParseError(f"answers must be a list of calls, got {type(answers).__name__}")
    calls = []
    for i, c in enumerate(answers):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise CallParseError(f"call {i} is not an object with a string 'name'")
        args = c.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except ValueError:
                raise CallParseError(f"call {i} ({c['name']}): arguments is not a JSON object: {args!r}") from None
        if not isinstance(args, dict):
            raise CallParseError(f"call {i} ({c['name']}): arguments must be an object, got {type(args).__name__}")
        calls.append({"name": c["name"], "arguments": args})
    return parse_calls(json.dumps(calls, ensure_ascii=False))  # the canonical parser has the last word


_WORD = re.compile(r"\w+", re.UNICODE)


def _grounded(value: str, query_cf: str) -> bool:
    """Needle v1's grounding rule: a string value's significant words appear in the query (<=3 words: all of them,
    else >= 75%). Case-insensitive, substring match per word (works for languages written without spaces)."""
    words = _WORD.findall(unicodedata.normalize("NFKC", value).casefold())
    if not words:
        return True
    significant = [w for w in words if len(w) > 2 or not w.isascii()] or words
    hits = sum(w in query_cf for w in significant)
    return hits == len(significant) if len(significant) <= 3 else hits >= 0.75 * len(significant)


def _ungrounded(calls: list[dict], tools: list, query: str) -> str | None:
    query_cf = unicodedata.normalize("NFKC", query).casefold()
    enum_params = {(to_snake_case(t.name), p.name) for t in tools for p in t.parameters if p.enum}
    for i, c in enumerate(calls):
        for k, v in c["arguments"].items():
            values = v if isinstance(v, list) else [v]
            for x in values:
                if isinstance(x, str) and (c["name"], k) not in enum_params and not _grounded(x, query_cf):
                    return f"call {i} ({c['name']}): value {x!r} of '{k}' does not appear in the query"
    return None


_REASONS = (  # validate_calls message fragment -> skip reason
    ("unknown tool", "unknown_tool"),
    ("missing required", "missing_required_argument"),
    ("unknown argument", "unknown_argument"),
    ("must be one of", "invalid_enum_value"),
    ("must be", "wrong_argument_type"),
)


def _validation_reason(errors: list[str]) -> str:
    text = " ".join(errors).lower()
    for frag, reason in _REASONS:
        if frag in text:
            return reason
    return "invalid_call"


def check_row(raw: Any, given_tools: list | None = None, *, check_grounding: bool = True,
              max_tools: int | None = MAX_TOOLS) -> tuple[dict | None, str | None, str | None]:
    """Validate one raw row from Gemini. Returns ``(row, None, None)`` with the row ready to write
    (``{"query", "tools", "answers"}``, tools/answers as compact JSON strings), or ``(None, reason, detail)``.

    ``given_tools``: canonical Tool objects of the user's tool set (rows then use exactly those tools)."""
    if not isinstance(raw, dict):
        return None, "bad_row", f"row is {type(raw).__name__}, not an object"
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        return None, "bad_row", "row has no non-empty string 'query'"
    query = query.strip()
    if given_tools is not None:
        tools = given_tools
    else:
        raw_tools = raw.get("tools")
        try:
            if isinstance(raw_tools, list):
                raw_tools = [_structured_tool_to_flat(t) for t in raw_tools]
            if raw_tools is None or raw_tools == [] or raw_tools == "[]":
                raise ToolSchemaError("row has no tools")
            tools = parse_tools(raw_tools)
        except (ToolSchemaError, ValueError, TypeError) as err:
            return None, "bad_tools", str(err)
        if max_tools and len(tools) > max_tools:
            return None, "too_many_tools", f"{len(tools)} tools (max {max_tools})"
    try:
        calls = _raw_calls(raw.get("answers"))
    except (CallParseError, ValueError, TypeError) as err:
        return None, "bad_answers", str(err)
    calls = [{"name": to_snake_case(c["name"]), "arguments": c["arguments"]} for c in calls]
    calls, errors = validate_calls(calls, tools, coerce=True)
    if errors:
        return None, _validation_reason(errors), "; ".join(errors)
    # an optional argument given as null means "not given": drop it so targets never teach the model to write nulls
    calls = [{"name": c["name"], "arguments": {k: v for k, v in c["arguments"].items() if v is not None}}
             for c in calls]
    if check_grounding:
        problem = _ungrounded(calls, tools, query)
        if problem:
            return None, "ungrounded_value", problem
    row = {"query": query, "tools": tools_to_text(tools), "answers": answers_to_text(calls)}
    return row, None, None


# --------------------------------------------------------------------------------------------------- dedup, resume

_TRAILING = " \t\r\n.!?。！？…"


def normalize_query(query: str) -> str:
    """NFKC, casefold, whitespace collapsed, trailing punctuation stripped."""
    q = unicodedata.normalize("NFKC", query).casefold()
    return " ".join(q.split()).strip(_TRAILING)


def dedup_key(query: str, tools: Any, _cache: dict | None = None) -> tuple[str, str]:
    """(normalised query, order-insensitive fingerprint of the canonical tool set)."""
    key = tools if isinstance(tools, str) else None
    if _cache is not None and key is not None and key in _cache:
        fp = _cache[key]
    else:
        try:
            fp = tools_fingerprint(parse_tools(tools))
        except (ToolSchemaError, ValueError, TypeError):
            fp = str(tools)
        if _cache is not None and key is not None:
            _cache[key] = fp
    return normalize_query(query), fp


def load_existing(path: str | os.PathLike, _cache: dict | None = None) -> tuple[int, set]:
    """Count the rows already in ``path`` and return their dedup keys.

    A last line cut off mid-write (no newline, not JSON) is removed; any other bad line is an error naming it."""
    path = Path(path)
    if not path.exists():
        return 0, set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        last_nl = data.rfind(b"\n")
        tail = data[last_nl + 1:]
        try:
            json.loads(tail)
            with open(path, "ab") as f:  # complete row, just missing its newline
                f.write(b"\n")
            data += b"\n"
        except ValueError:
            with open(path, "r+b") as f:  # partial row from an interrupted run
                f.truncate(last_nl + 1)
            data = data[: last_nl + 1]
            print(f"{path}: removed an incomplete last line left by an interrupted run")
    count, keys = 0, set()
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: not valid JSON ({err}); fix or remove that line, then rerun") from None
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or "tools" not in row:
            raise ValueError(f"{path}:{lineno}: not a row with 'query', 'tools' and 'answers'; fix or remove it")
        count += 1
        keys.add(dedup_key(row["query"], row["tools"], _cache))
    return count, keys


# --------------------------------------------------------------------------------------------------- requests


@dataclass
class _Result:
    plan: RequestPlan
    rows: list = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    malformed: int = 0
    failed: str | None = None  # why the request gave up (retries / malformed replies exhausted)
    malformed_detail: str | None = None
    fatal: Exception | None = None  # a non-retryable API error (bad key, unknown model, bad request)


_RETRY_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


def _server_retry_delay(err: Exception) -> float | None:
    """The RetryInfo delay Gemini attaches to 429 replies (``"retryDelay": "13s"``), if any."""
    details = getattr(err, "details", None)
    try:
        for d in (details or {}).get("error", {}).get("details", []) or []:
            m = _RETRY_DELAY.match(str(d.get("retryDelay", "")))
            if m:
                return float(m.group(1))
    except AttributeError:
        pass
    return None


def _is_retryable(err: Exception) -> bool:
    code = getattr(err, "code", None)
    if isinstance(code, int):
        return code in (408, 429) or 500 <= code < 600
    try:
        import httpx

        return isinstance(err, (httpx.TransportError, httpx.TimeoutException))
    except ImportError:  # pragma: no cover
        return isinstance(err, (ConnectionError, TimeoutError))


def _request(client, model: str, plan: RequestPlan, prompt: str, schema: dict, *, temperature: float,
             max_retries: int, max_malformed: int, backoff_base: float, backoff_max: float,
             sleep: Callable[[float], None]) -> _Result:
    """One logical request: HTTP retries with exponential backoff + jitter, then bounded re-asks on bad replies."""
    from google.genai import errors as genai_errors, types

    res = _Result(plan)
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM_INSTRUCTION,
        response_mime_type="application/json",
        response_schema=schema,
        temperature=temperature,
        seed=plan.seed,
    )
    jitter = random.Random(plan.seed)
    transport_failures = 0
    while True:
        res.requests += 1
        try:
            reply = client.models.generate_content(model=model, contents=prompt, config=config)
            text = reply.text
            if not text:  # blocked prompt, safety stop, token limit: say why in the skip example
                why = getattr(reply, "prompt_feedback", None) or next(
                    (c.finish_reason for c in (reply.candidates or []) if c.finish_reason), None)
                text = MalformedReply(f"no text in the reply ({why or 'empty'})")
        except Exception as err:  # noqa: BLE001 - classified below; never crash the run
            if _is_retryable(err):
                if transport_failures >= max_retries:
                    res.failed = f"gave up after {transport_failures + 1} attempts: {err}"
                    return res
                delay = min(backoff_max, backoff_base * 2**transport_failures) * (0.5 + jitter.random() / 2)
                server = _server_retry_delay(err)
                if server is not None:
                    delay = max(delay, min(server, backoff_max))
                transport_failures += 1
                res.retries += 1
                sleep(delay)
                continue
            if isinstance(err, genai_errors.APIError):  # 400/401/403/404: retrying will not help
                res.fatal = err
                return res
            text = err  # e.g. a reply body that is not JSON at all: treat as a malformed reply
        try:
            if isinstance(text, MalformedReply):
                raise text
            if isinstance(text, Exception):
                raise MalformedReply(f"unreadable response ({type(text).__name__}: {text})")
            res.rows = parse_reply(text)
            return res
        except MalformedReply as err:
            res.malformed += 1
            res.malformed_detail = str(err)
            if res.malformed > max_malformed:
                res.failed = f"{res.malformed} malformed replies in a row, last: {err}"
                return res


# --------------------------------------------------------------------------------------------------- main entry


def generate_rows_gemini(
    tools: Any = None,
    num_samples: int = 1000,
    out: str | os.PathLike = "data/gemini.jsonl",
    seed: int = 0,
    model: str = DEFAULT_MODEL,
    workers: int = 4,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    rows_per_request: int = 10,
    languages: list[str] | None = None,
    call_types: dict[str, float] | None = None,
    temperature: float = 1.0,
    max_retries: int = 6,
    backoff_base: float = 1.0,
    backoff_max: float = 60.0,
    max_malformed: int = 2,
    max_requests: int | None = None,
    max_consecutive_failures: int = 5,
    check_grounding: bool = True,
    timeout_s: float = 120.0,
    client: Any = None,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Generate rows with Gemini until ``out`` holds ``num_samples`` rows (appending; resumable).

    Args:
        tools: None to let Gemini invent a tool set per row, or the user's tools (any format ``parse_tools``
            accepts: Needle/OpenAI/JSON-Schema dicts, a JSON string, callables, Tool objects).
        num_samples: rows wanted in ``out`` in total (rows already there count).
        out: JSONL file, appended to. ``seed``: seeds the request plans (and Gemini's sampling seed).
        model: Gemini model name. ``workers``: requests in flight at once.
        api_key: else ``$GEMINI_API_KEY`` / ``$GOOGLE_API_KEY``. ``base_url``: else ``$NEEDLE_GEMINI_BASE_URL``.
        rows_per_request: rows asked for per request. ``languages``: query languages (default: English for given
            tools, 25 languages otherwise). ``call_types``: weights of single/multiple/parallel/none.
        max_retries / backoff_base / backoff_max: HTTP retries on 429/5xx/transport errors, delay
            ``min(backoff_max, backoff_base * 2**k)`` with jitter (or Gemini's retryDelay if longer).
        max_malformed: re-asks after a malformed reply. ``max_requests``: cap on logical requests (default 4x what
            is needed, at least 20). ``max_consecutive_failures``: abort (GeminiError) after that many requests in a
            row that gave up. ``client``: a ready ``genai.Client`` (skips key/base_url handling).

    Returns:
        ``{"written", "existing", "total", "complete", "requests", "retries", "skipped": {reason: n},
        "skipped_examples": {reason: detail}, "out"}``; ``requests`` counts HTTP calls, retries included.
    """
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    if workers < 1 or rows_per_request < 1:
        raise ValueError("workers and rows_per_request must be >= 1")
    if client is None:
        client = make_client(api_key, base_url, timeout_s=timeout_s)  # raises the no-key error before any work
    given = None
    tools_text = None
    if tools is not None:
        given = parse_tools(tools)
        if not given:
            raise ValueError("tools is empty: pass at least one tool, or tools=None to let Gemini invent tool sets")
        tools_text = tools_to_text(given)
    schema = response_schema([tool_to_dict(t)["name"] for t in given] if given else None)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fp_cache: dict = {}
    existing, seen = load_existing(out, fp_cache)
    need = max(0, num_samples - existing)
    summary: dict[str, Any] = {"out": str(out), "existing": existing, "written": 0, "requests": 0, "retries": 0,
                               "skipped": {}, "skipped_examples": {}}
    skipped: Counter = Counter()
    examples: dict[str, str] = {}

    def skip(reason: str, detail: str | None, n: int = 1) -> None:
        skipped[reason] += n
        examples.setdefault(reason, (detail or "")[:300])

    if need == 0:
        summary.update(total=existing, complete=True)
        return summary
    if max_requests is None:
        max_requests = max(20, 4 * math.ceil(need / rows_per_request))

    from tqdm.auto import tqdm

    rng = random.Random(f"needle-gemini:{seed}:{existing}")
    bar = tqdm(total=num_samples, initial=existing, desc=f"gemini {model}", unit="row", disable=not progress,
               dynamic_ncols=True)
    written = planned = consecutive_failures = 0
    pending: dict[Future, int] = {}  # future -> rows asked for
    fatal: Exception | None = None
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gemini")
    try:
        with open(out, "a", encoding="utf-8") as f:
            while True:
                # keep `workers` requests in flight while the rows asked for could still be short of the target
                while (len(pending) < workers and planned < max_requests
                       and written + sum(pending.values()) < need):
                    n = min(rows_per_request, need - written - sum(pending.values()))
                    plan = plan_request(rng, existing + planned, n, given_tools=given is not None,
                                        num_given_tools=len(given or []), languages=languages, call_types=call_types)
                    prompt = build_prompt(plan, tools_text)
                    fut = pool.submit(_request, client, model, plan, prompt, schema, temperature=temperature,
                                      max_retries=max_retries, max_malformed=max_malformed, backoff_base=backoff_base,
                                      backoff_max=backoff_max, sleep=sleep)
                    pending[fut] = n
                    planned += 1
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    del pending[fut]
                    res: _Result = fut.result()
                    summary["requests"] += res.requests
                    summary["retries"] += res.retries
                    if res.malformed:
                        skip("malformed_reply", res.malformed_detail, res.malformed)
                    if res.fatal is not None:
                        fatal = fatal or res.fatal
                        continue
                    if res.failed:
                        skip("request_failed", res.failed)
                        consecutive_failures += 1
                        if consecutive_failures >= max_consecutive_failures:
                            fatal = fatal or GeminiError(
                                f"{consecutive_failures} Gemini requests in a row failed (last: {res.failed}); "
                                f"{existing + written} rows are in {out}; rerun the same command later to resume")
                        continue
                    consecutive_failures = 0
                    for raw in res.rows:
                        row, reason, detail = check_row(raw, given, check_grounding=check_grounding)
                        if row is None:
                            skip(reason, detail)
                            continue
                        key = dedup_key(row["query"], row["tools"], fp_cache)
                        if key in seen:
                            skip("duplicate", row["query"])
                            continue
                        if written >= need:
                            skip("surplus", "more rows than num_samples")
                            continue
                        seen.add(key)
                        f.write(json.dumps(row, ensure_ascii=False) + "\n")
                        written += 1
                        bar.update(1)
                    f.flush()
                    bar.set_postfix(skipped=sum(skipped.values()), retries=summary["retries"], refresh=False)
                if fatal is not None:
                    for fut in pending:
                        fut.cancel()
                    break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()

    summary.update(written=written, total=existing + written, complete=existing + written >= num_samples,
                   skipped=dict(skipped), skipped_examples=examples)
    if fatal is not None:
        if isinstance(fatal, GeminiError):
            fatal.summary = summary
            raise fatal
        code = getattr(fatal, "code", "?")
        err = GeminiError(
            f"Gemini rejected the request ({code} {getattr(fatal, 'status', '') or ''}: "
            f"{getattr(fatal, 'message', None) or fatal}); check the API key, the model name ({model!r}) "
            f"and the base URL. {existing + written} rows are in {out}; rerun to resume"
        )
        err.summary = summary  # what was done before the error
        raise err from fatal
    if not summary["complete"]:
        print(f"gemini: stopped after {planned} requests (max_requests) with {existing + written}/{num_samples} rows "
              f"in {out}; skipped: {dict(skipped)}. Rerun to continue.")
    return summary
