"""Everyday requests against the README's three example tools (examples/tools.json): does the model call the right
tool, and does it leave unrelated requests alone?

    python benchmarks/everyday_requests.py --model needle_hf/models/needle-micro [--model OTHER ...]

Each model runs twice: constrained decoding without and with copy mode (`copy_strings`).

The requests below were written by hand for this probe and must never be fed to training. The offline generator has
questions and small talk of similar forms ("who wrote ...?", "why do ...?") but none of these items; "Tell me a joke"
is one of its general-knowledge templates. Writes benchmarks/everyday_requests.md (one table row per model, then every answer of the first model).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

from needle_hf.evaluation.metrics import score_tool_calls
from needle_hf.inference import load_pipeline

TOOLS = json.loads((Path(__file__).resolve().parents[1] / "examples" / "tools.json").read_text())


def call(name: str, **arguments) -> list[dict]:
    return [{"name": name, "arguments": arguments}]


CALLS = [
    ("What's the weather like in Paris today?", call("get_weather", location="Paris")),
    ("weather in Tokyo", call("get_weather", location="Tokyo")),
    ("Is it going to rain in Berlin?", call("get_weather", location="Berlin")),
    ("How hot is it in Cairo right now in fahrenheit?", call("get_weather", location="Cairo", unit="fahrenheit")),
    ("Check the weather for Lisbon please", call("get_weather", location="Lisbon")),
    ("Set a timer for 10 minutes", call("set_timer", minutes=10)),
    ("start a 25 minute timer", call("set_timer", minutes=25)),
    ("Timer for 3 minutes for the eggs", call("set_timer", minutes=3, label="eggs")),
    ("Can you set a 45 minute timer?", call("set_timer", minutes=45)),
    ("Text Anna that I'm running late", call("send_message", recipient="Anna", message="I'm running late")),
    ("Send a message to Tom saying dinner is at 8", call("send_message", recipient="Tom", message="dinner is at 8")),
    ("tell Priya the keys are under the mat", call("send_message", recipient="Priya",
                                                   message="the keys are under the mat")),
    ("Message Kwame: happy birthday!", call("send_message", recipient="Kwame", message="happy birthday!")),
    ("Let Jo know I'll call her tomorrow", call("send_message", recipient="Jo", message="I'll call her tomorrow")),
]
UNRELATED = [
    "Who painted the Mona Lisa?", "Tell me a joke", "cheers, that is all I needed", "What is the square root of 144?",
    "How do I make pancakes?", "What's your name?", "Recommend a good book", "Translate hello into Spanish",
    "Who won the 1998 World Cup?", "How many legs does a spider have?", "Play some jazz", "Book a flight to Rome",
    "What time is it in Sydney?", "Order a pizza", "Turn off the lights", "Explain quantum computing",
    "morning! I slept badly", "Why do cats purr?", "What is the speed of light?", "Add milk to my shopping list",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="model folder or Hub id (repeatable)")
    ap.add_argument("--out", default="benchmarks/everyday_requests.md")
    args = ap.parse_args()

    queries = [q for q, _ in CALLS] + UNRELATED
    refs = [json.dumps(a) for _, a in CALLS] + ["[]"] * len(UNRELATED)
    rows, answers = [], {}
    for name in args.model:
        pipe = load_pipeline(name)
        default_copy = bool(getattr(pipe.model.config, "copy_strings", False))
        for copy in (False, True):
            preds = [json.dumps(pipe(q, tools=TOOLS, copy_strings=copy)) for q in queries]
            if copy == default_copy:
                answers.setdefault("first", (name, copy, preds))
            calls = score_tool_calls(preds[:len(CALLS)], refs[:len(CALLS)], breakdown=False)
            unrelated = sum(p == "[]" for p in preds[len(CALLS):])
            mode = "copy mode" if copy else "no copy mode"
            rows.append(f"| {name} | {mode}{' (its default)' if copy == default_copy else ''} | "
                        f"{calls['exact_match']:.3f} ({round(calls['exact_match'] * len(CALLS))}/{len(CALLS)}) "
                        f"| {unrelated / len(UNRELATED):.3f} ({unrelated}/{len(UNRELATED)}) |")
            print(rows[-1], flush=True)
    cpu = subprocess.run("lscpu | grep 'Model name' | cut -d: -f2", shell=True, capture_output=True,
                         text=True).stdout.strip()
    name, copy, preds = answers["first"]
    lines = [
        "# Everyday requests, the README's three example tools", "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cpu or platform.processor()}, torch "
        f"{torch.__version__}. Command: `python benchmarks/everyday_requests.py "
        + " ".join(f"--model {m}" for m in args.model) + "`", "",
        f"{len(CALLS)} requests that need one of `get_weather` / `set_timer` / `send_message`, and {len(UNRELATED)} "
        "that none of them serves (the right answer is `[]`). Hand-written for this probe, never used in training; "
        "constrained decoding (the pipeline default), without and with copy mode (free-text string arguments "
        "copied from the request).", "",
        "| model | decoding | exact match, requests for a tool | `[]` for unrelated requests |", "|---|---|---|---|",
        *rows, "",
        f"## Answers of {name} ({'copy mode' if copy else 'no copy mode'}, its default)", "",
        "| request | expected | answer |", "|---|---|---|",
        *(f"| {q} | `{r}` | `{p}` {'✓' if json.loads(p) == json.loads(r) else '✗'} |"
          for q, r, p in zip(queries, refs, preds)), ""]
    Path(args.out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
