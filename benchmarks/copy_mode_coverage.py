"""Does copy mode allow every answer the training data teaches? Results in benchmarks/copy_mode_coverage.md.

    python benchmarks/copy_mode_coverage.py --rows 5000 --seed 11            # fresh rows of the offline generator
    python benchmarks/copy_mode_coverage.py --data runs/default/dataset --split train --rows 3000

Each row's gold answer (`<tool_call>` + answer JSON + EOS, the shipped model's tokenizer) is fed through the copy-mode
grammar of its own request and tools (llguidance, `needle_hf.constrained.answer_grammar(copy_from=query)`); a row
is rejected when any token of it is refused. Free-text string values (type string, no enum, and string array items)
are also counted by how copy mode admits them: copied from the request (holding a letter, digit or non-ASCII
character), an ISO date / time / date-time (for parameters that take dates, `takes_dates`), a code (for parameters
that take codes, `takes_codes`), or none of these (which would be a rejected row).
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import llguidance

from needle_hf import DEFAULT_MODEL
from needle_hf.constrained import (COPY_FORMATS, answer_grammar, copy_source, get_ll_tokenizer, takes_codes,
                                   takes_dates)
from needle_hf.modeling.constrained import CODE_FORMAT, _copy_chunks
from needle_hf.tokenization import load_tokenizer
from needle_hf.tools import answers_to_text, parse_calls, parse_tools

DATED = [re.compile(v) for k, v in COPY_FORMATS.items() if k != CODE_FORMAT]
CODE = re.compile(COPY_FORMATS[CODE_FORMAT])


def is_span(value: str, source: str) -> bool:
    """`value` is a non-empty run of whole chunks (words / single other characters) of `source`."""
    if not value:
        return False
    bounds, pos = {0}, 0
    for chunk in _copy_chunks(source):
        pos += len(chunk)
        bounds.add(pos)
    i = source.find(value)
    while i != -1:
        if i in bounds and i + len(value) in bounds:
            return True
        i = source.find(value, i + 1)
    return False


def kind(value: str, source: str | None, codes: bool, dates: bool) -> str:
    if source is None:
        return "free (blank request or lone surrogate: no copy mode)"
    if is_span(value, source) and re.search(r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]", value):
        return "copied from the request"
    if dates and any(p.fullmatch(value) for p in DATED):
        return "ISO date / time / date-time (parameter takes dates)"
    if codes and CODE.fullmatch(value):
        return "code (parameter takes codes)"
    return "none of these"


def load(args) -> list[dict]:
    if args.data:
        import datasets

        ds = datasets.load_dataset(args.data, split=args.split)
        return [dict(r) for r in ds.select(range(min(args.rows, len(ds))))]
    from needle_hf.data.offline import generate_rows

    return list(generate_rows(args.rows, seed=args.seed))


def git_commit(out: Path) -> str:
    """Short HEAD commit, marked when tracked files other than `out` (this report) have uncommitted changes."""
    def git(*cmd):
        return subprocess.run(["git", *cmd], capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){out.resolve()}")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changed else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=11, help="generator seed (without --data)")
    ap.add_argument("--data", default=None, help="a dataset folder instead of fresh generated rows")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", default=str(Path(__file__).with_name("copy_mode_coverage.md")), help="'' = print only")
    args = ap.parse_args(argv)

    tokenizer = load_tokenizer(DEFAULT_MODEL)
    ll_tokenizer = get_ll_tokenizer(tokenizer)
    rows = load(args)
    kinds: Counter = Counter()
    rejected = []
    for row in rows:
        query = row["query"]
        source = copy_source(query)
        tools = {t.snake_name: t for t in parse_tools(row["tools"])}
        calls = parse_calls(row["answers"])
        for call in calls:
            tool = tools[call["name"]]
            params = {p.name: p for p in tool.parameters}
            for key, value in call["arguments"].items():
                p = params[key]
                if p.enum or not (p.type == "string" or (p.type == "array" and p.items == "string")):
                    continue
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, str):
                        kinds[kind(v, source, takes_codes(tool, p), takes_dates(tool, p))] += 1
        matcher = llguidance.LLMatcher(ll_tokenizer, answer_grammar(row["tools"], None, copy_from=query), log_level=0)
        ids = tokenizer(answers_to_text(calls), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        if matcher.validate_tokens(ids) != len(ids):
            rejected.append({"query": query, "answers": row["answers"]})
    total = sum(kinds.values())
    source = f"`{args.data}` split `{args.split}`" if args.data else f"`generate_rows({args.rows}, seed={args.seed})`"
    lines = [f"- rows: {len(rows)} ({source}); gold answers rejected by copy mode: **{len(rejected)}**",
             f"- free-text string values: {total}", "", "| admitted as | values | share |", "|---|---|---|"]
    lines += [f"| {k} | {n} | {100 * n / max(total, 1):.1f}% |" for k, n in kinds.most_common()]
    lines += [f"- rejected: {json.dumps(r, ensure_ascii=False)}" for r in rejected[:10]]
    table = "\n".join(lines)
    print(table)
    if args.out:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        commit = git_commit(Path(args.out))
        section = (f"## {source}\n\nCommand: `python benchmarks/copy_mode_coverage.py {' '.join(argv or sys.argv[1:])}`"
                   f" ({stamp}, commit {commit}, {platform.python_version()})\n\n{table}\n")
        out = Path(args.out)
        head = (out.read_text(encoding="utf-8") if out.exists() else
                "# Copy mode coverage: gold answers the copy-mode grammar admits\n\nScript: "
                "`benchmarks/copy_mode_coverage.py` (one section per run, newest last).\n")
        out.write_text(head.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        print(f"appended to {out}")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
