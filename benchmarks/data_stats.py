"""Statistics of the offline synthetic data (results in benchmarks/data_stats.md).

    python benchmarks/data_stats.py --num-samples 100000

1. Generation speed: `needle_hf.data.offline.generate_rows(N, seed)` into a list (no file writing), rows/s.
2. Diversity: distinct tools (snake_case names; and distinct full schemas), distinct parameter names, distinct query
   templates, distinct query shapes, histograms of call type, tools offered per row and calls per row.
   Templates: the generator does not return which template it rendered, so the stream is replayed with a subclass of
   `OfflineGenerator` that records the template `_render` is about to pick (it peeks at the random generator and
   restores its state, so the rows are identical; this is checked). A template is a tuple of literal text, slots,
   optional groups and choices; mutated (renamed) catalog tools reuse their base tool's templates, invented tools get
   two templates each, generated with the tool. Query shapes: the query with every argument value that occurs in it
   replaced by `{arg}`, digits by `#`, lower-cased; this also counts surface variation (wrappers, fillers, typos,
   literal choices, optional groups), so it is an upper bound on "templates".
3. Unseen tools: `needle_hf.data.splits.split_rows(rows, seed=0)`; for the `test_unseen_tools` rows, how much of the
   offered tool names / parameter names never occurs in `train` (per row, per occurrence, and per snake_case word).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter

from needle_hf.data.offline import OfflineGenerator, _max_attempts, generate_rows


# ----------------------------------------------------------------------------------------------------- generation
class _TemplateRecorder(OfflineGenerator):
    """OfflineGenerator that records, per accepted row, the templates rendered for it (same rows as the original)."""

    def _render(self, spec, lower_values):
        if spec.templates is None:
            spec.templates = spec.lazy()  # exactly what the base class does first (it consumes self.rng)
        state = self.rng.getstate()
        tpl = spec.templates[self.rng.randrange(len(spec.templates))]  # the base class's next draw
        self.rng.setstate(state)
        self._row_templates.append(("invented" if spec.source == "invented" else "authored", tpl))
        return super()._render(spec, lower_values)

    def _make(self):
        self._row_templates = []
        return super()._make()

    def rows_with_templates(self, n: int):
        for row, meta in self.stream(_max_attempts(n)):
            yield row, meta, self._row_templates
            n -= 1
            if n <= 0:
                return


def timed_generation(n: int, seed: int) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    rows = list(generate_rows(n, seed=seed))
    return rows, time.perf_counter() - t0


# ----------------------------------------------------------------------------------------------------- stats
def _values(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _values(v)
    elif isinstance(x, list):
        for v in x:
            yield from _values(v)
    elif not isinstance(x, bool) and x is not None:
        yield str(x)


def query_shape(query: str, calls: list[dict]) -> str:
    """The query with argument values replaced by {arg} (longest first, case-insensitive), digits by #, lower-cased."""
    shape = query
    for v in sorted({v for c in calls for v in _values(c["arguments"]) if v.strip()}, key=len, reverse=True):
        shape = re.sub(re.escape(v), "{arg}", shape, flags=re.IGNORECASE)
    shape = re.sub(r"\d+", "#", shape)
    return " ".join(shape.lower().split())


def diversity(rows, metas, templates) -> dict:
    from needle_hf.data import catalog as C
    from needle_hf.data.catalog import catalog_stats

    names, schemas, params, called, shapes = set(), set(), set(), set(), set()
    by_source: dict[str, set] = {}
    for row, meta in zip(rows, metas):
        tools = json.loads(row["tools"])
        calls = json.loads(row["answers"])
        for name, src in zip(meta["names"], meta["sources"]):
            by_source.setdefault(src, set()).add(name)
        for t in tools:
            names.add(t["name"])
            schemas.add(json.dumps(t, sort_keys=True, ensure_ascii=False))
            params.update(t["parameters"])
        called.update(c["name"] for c in calls)
        shapes.add(query_shape(row["query"], calls))
    tpl_used = {"authored": set(), "invented": set()}
    for tpls in templates:
        for kind, tpl in tpls:
            tpl_used[kind].add(tpl)
    cat = catalog_stats()
    authored = {tpl for t in C.ALL_TOOLS for tpl in (t.templates if t.templates is not None else t.lazy())}
    return {"tool_names": len(names), "called_tool_names": len(called), "tool_schemas": len(schemas),
            "param_names": len(params), "names_by_source": {k: len(v) for k, v in sorted(by_source.items())},
            "catalog_tools": cat["tools"], "catalog_templates": cat["templates"], "catalog_templates_distinct": len(authored),
            "templates_authored": len(tpl_used["authored"]), "templates_invented": len(tpl_used["invented"]),
            "query_shapes": len(shapes), "queries": len({r["query"] for r in rows}),
            "call_types": Counter(m["call_type"] for m in metas),
            "chitchat": sum(m["domain"] == "chitchat" for m in metas),
            "num_tools": Counter(m["num_tools"] for m in metas), "num_calls": Counter(m["num_calls"] for m in metas)}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def unseen_stats(splits: dict) -> dict:
    """Share of test_unseen_tools rows / occurrences / words whose tool and parameter names never occur in train."""
    train_names, train_params = set(), set()
    for row in splits["train"]:
        for t in json.loads(row["tools"]):
            train_names.add(t["name"])
            train_params.update(t["parameters"])
    train_name_words = {w.lower() for n in train_names for w in _words(n)}
    train_param_words = {w.lower() for p in train_params for w in _words(p)}

    c = Counter()
    for row in splits["test_unseen_tools"]:
        tools = json.loads(row["tools"])
        names = [t["name"] for t in tools]
        params = [p for t in tools for p in t["parameters"]]
        called = [x["name"] for x in json.loads(row["answers"])]
        c["rows"] += 1
        c["rows_all_names_unseen"] += all(n not in train_names for n in names)
        c["rows_any_name_unseen"] += any(n not in train_names for n in names)
        if called:
            c["rows_with_calls"] += 1
            c["rows_all_called_unseen"] += all(n not in train_names for n in called)
        if params:
            c["rows_with_params"] += 1
            c["rows_all_params_unseen"] += all(p not in train_params for p in params)
            c["rows_any_param_unseen"] += any(p not in train_params for p in params)
        c["name_occ"] += len(names)
        c["name_occ_unseen"] += sum(n not in train_names for n in names)
        c["param_occ"] += len(params)
        c["param_occ_unseen"] += sum(p not in train_params for p in params)
        nw = [w.lower() for n in names for w in _words(n)]
        pw = [w.lower() for p in params for w in _words(p)]
        c["name_words"] += len(nw)
        c["name_words_unseen"] += sum(w not in train_name_words for w in nw)
        c["param_words"] += len(pw)
        c["param_words_unseen"] += sum(w not in train_param_words for w in pw)
    c["train_names"], c["train_params"] = len(train_names), len(train_params)
    return dict(c)


# ----------------------------------------------------------------------------------------------------- report
def _hist(counter: Counter, total: int) -> str:
    head = "| " + " | ".join(str(k) for k in sorted(counter)) + " |"
    sep = "|" + "---|" * len(counter)
    body = "| " + " | ".join(f"{counter[k]:,} ({counter[k] / total:.1%})" for k in sorted(counter)) + " |"
    return "\n".join([head, sep, body])


def _pct(a: int, b: int) -> str:
    return f"{a:,} / {b:,} ({a / b:.1%})" if b else "n/a"


def report(args, facts, n_rows, gen_s, d, split, split_s, u) -> str:
    n_unseen, cap_rows = len(split.splits["test_unseen_tools"]), int(split.max_unseen_fraction * n_rows)
    cap = (f" `test_unseen_tools` is at its cap (max_unseen_fraction x rows = {cap_rows:,}): most tool names occur in "
           f"very few rows, so holding out {len(split.held_out_tools) / split.n_tools:.0%} of the names takes "
           f"{n_unseen / n_rows:.0%} of the rows." if n_unseen >= cap_rows else "")
    la0 = ", ".join(f"{x:.2f}" for x in facts["load_avg_start"])
    la1 = ", ".join(f"{x:.2f}" for x in facts["load_avg_end"])
    return f"""# Offline data statistics

Script: `benchmarks/data_stats.py`. Command: `{facts['command']}`

- Machine: {facts['cpu']}, {facts['cores']} cores, Python {facts['python']}. Date: {facts['date']}.
- Load average (1, 5, 15 min) at start: {la0}; at end: {la1} (it includes this script itself).
  `needle-hf train` processes seen at start: {facts['training_runs_seen']}; this process ran at nice {os.nice(0)}
  (the generator is single-threaded; other load slows it down).

## Generation speed

`list(generate_rows({args.num_samples}, seed={args.seed}))` (in memory, no file writing): **{n_rows:,} rows in
{gen_s:.1f} s = {n_rows / gen_s:,.0f} rows/s** (one process).

## Diversity

| what | count |
|---|---|
| rows | {n_rows:,} |
| distinct queries | {d['queries']:,} |
| distinct tool names (snake_case), offered | {d['tool_names']:,} |
| ... of which ever called | {d['called_tool_names']:,} |
| distinct tool schemas (name + description + parameters) | {d['tool_schemas']:,} |
| distinct parameter names | {d['param_names']:,} |
| distinct tool names by source | {', '.join(f'{k} {v:,}' for k, v in d['names_by_source'].items())} |
| hand-authored catalog | {d['catalog_tools']} tools, {d['catalog_templates']:,} templates |
| distinct templates rendered: hand-authored (catalog and renamed catalog tools) | {d['templates_authored']:,} of {d['catalog_templates_distinct']:,} distinct ({d['catalog_templates']:,} authored) |
| distinct templates rendered: invented tools (generated with each tool) | {d['templates_invented']:,} |
| distinct query shapes (values -> {{arg}}, digits -> #, lower case) | {d['query_shapes']:,} |

Templates are counted by content (a tuple of literal text, slot keys, optional groups and literal choices), recorded
from the generator itself (see the script's docstring); the "none" call type renders a template too (a request no
offered tool serves), chit-chat rows ({d['chitchat']:,}) do not. Tool names by source count a name once per source it
came from (a name can come from two sources).

Call type (`single`: one call among several tools; `single_tool`: one tool offered; `parallel`: 2-3 calls; `none`:
no call, of which {d['chitchat']:,} chit-chat):

{_hist(d['call_types'], n_rows)}

Tools offered per row:

{_hist(d['num_tools'], n_rows)}

Calls per row:

{_hist(d['num_calls'], n_rows)}

## Unseen tools split

`split_rows(rows, seed=0)` (defaults: validation 5 %, test 5 %, unseen_tool_fraction 0.1, max_unseen_fraction 0.2),
{split_s:.1f} s. {split.summary()[0].upper() + split.summary()[1:]}.{cap}

For the `test_unseen_tools` rows, compared with the `train` split ({u['train_names']:,} tool names,
{u['train_params']:,} parameter names):

| measure | share |
|---|---|
| rows whose offered tool names are **all** unseen in train | {_pct(u['rows_all_names_unseen'], u['rows'])} |
| rows with at least one unseen tool name (the split's guarantee) | {_pct(u['rows_any_name_unseen'], u['rows'])} |
| rows with calls whose called tool names are all unseen | {_pct(u['rows_all_called_unseen'], u['rows_with_calls'])} |
| rows whose parameter names are **all** unseen in train | {_pct(u['rows_all_params_unseen'], u['rows_with_params'])} |
| rows with at least one unseen parameter name | {_pct(u['rows_any_param_unseen'], u['rows_with_params'])} |
| offered tool-name occurrences unseen in train | {_pct(u['name_occ_unseen'], u['name_occ'])} |
| parameter-name occurrences unseen in train | {_pct(u['param_occ_unseen'], u['param_occ'])} |
| words of tool names (snake_case pieces) unseen among train tool-name words | {_pct(u['name_words_unseen'], u['name_words'])} |
| words of parameter names (snake/camel pieces) unseen among train parameter-name words | {_pct(u['param_words_unseen'], u['param_words'])} |

Row level: every tool (or parameter) the row offers; occurrence level: each offered tool / each parameter of an
offered tool counts once per row; word level: names split at `_`, non-word characters and camelCase boundaries,
lower-cased, compared with the words of all train names (whether a model has at least seen the pieces).
"""


def machine_facts() -> dict:
    import platform

    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    except OSError:
        cpu = platform.processor() or "?"
    busy = subprocess.run(["pgrep", "-f", "needle-hf train"], capture_output=True, text=True).stdout.split()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_avg_start": os.getloadavg(), "training_runs_seen": len(busy),
            "command": "python " + " ".join(sys.argv)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-samples", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data_stats.md"),
                    help="markdown file to write ('' = print only)")
    args = ap.parse_args(argv)
    facts = machine_facts()

    rows, gen_s = timed_generation(args.num_samples, args.seed)
    print(f"generated {len(rows):,} rows in {gen_s:.1f} s ({len(rows) / gen_s:,.0f} rows/s)", flush=True)
    metas, templates = [], []
    replay = _TemplateRecorder(args.seed).rows_with_templates(args.num_samples)
    for i, (row, meta, tpls) in enumerate(replay):
        if row != rows[i]:
            raise RuntimeError(f"template recorder diverged from generate_rows at row {i}")
        metas.append(meta)
        templates.append(tpls)
    if len(metas) != len(rows):
        raise RuntimeError(f"template recorder produced {len(metas)} rows, generate_rows {len(rows)}")
    d = diversity(rows, metas, templates)
    print(json.dumps({k: v for k, v in d.items()}, default=dict), flush=True)

    from needle_hf.data.splits import split_rows

    t0 = time.perf_counter()
    split = split_rows(rows, seed=0)
    split_s = time.perf_counter() - t0
    u = unseen_stats(split.splits)
    print(split.summary())
    print(json.dumps(u), flush=True)

    facts["load_avg_end"] = os.getloadavg()
    text = report(args, facts, len(rows), gen_s, d, split, split_s, u)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
