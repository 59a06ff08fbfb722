"""Small valid rows {query, tools, answers} for data tests (deterministic, no generator needed)."""
from __future__ import annotations

import json
import random


def tool_schema(name: str, required: str = "value", extra: str | None = None, ptype: str = "string") -> dict:
    params = {required: {"type": ptype, "description": f"the {required}", "required": True}}
    if extra:
        params[extra] = {"type": "integer", "description": f"the {extra}", "required": False}
    return {"name": name, "description": f"Does {name}.", "parameters": params}


def make_rows(n_tools: int = 12, per_tool: int = 6, distractors: int = 2, no_call_every: int = 5,
              seed: int = 0) -> list[dict]:
    """Rows calling tool_0..tool_{n-1} (``per_tool`` each) with ``distractors`` other tools offered per row, plus a
    no-call row every ``no_call_every`` rows."""
    rng = random.Random(seed)
    names = [f"tool_{i}" for i in range(n_tools)]
    rows = []
    k = 0
    for i, name in enumerate(names):
        for j in range(per_tool):
            others = rng.sample([x for x in names if x != name], min(distractors, n_tools - 1))
            offered = [name] + others
            rng.shuffle(offered)
            tools = [tool_schema(x, extra="count") for x in offered]
            calls = [{"name": name, "arguments": {"value": f"v{i}-{j}"}}]
            if j % 3 == 2:
                calls[0]["arguments"]["count"] = j
            rows.append({"query": f"please do {name} with v{i}-{j}", "tools": json.dumps(tools),
                         "answers": json.dumps(calls)})
            k += 1
            if no_call_every and k % no_call_every == 0:
                rows.append({"query": f"just chatting {k}", "tools": json.dumps(tools), "answers": "[]"})
    return rows


def primary_rows(counts: dict[str, int]) -> list[dict]:
    """Rows whose primary tool is the key (``None`` key = no call), ``count`` of each."""
    rows = []
    named = [tool_schema(name) for name in counts if name is not None]
    for name, n in counts.items():
        tools = [tool_schema(name)] if name is not None else named  # no-call rows offer the other tools
        for j in range(n):
            answers = [] if name is None else [{"name": name, "arguments": {"value": f"x{j}"}}]
            rows.append({"query": f"{name} #{j}", "tools": json.dumps(tools), "answers": json.dumps(answers)})
    return rows
