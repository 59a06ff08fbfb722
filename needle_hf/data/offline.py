"""Offline procedural generator of tool-calling rows `{"query", "tools", "answers"}` (no network, no Faker).

Deterministic for a seed: all randomness comes from one `random.Random(seed)`. Each row picks a call type
(single call among several tools, single tool offered, parallel calls, no call) from `mix`, one or more target tools,
renders a query from the target's templates (values from realistic samplers; strings copied verbatim), wraps it in a
surface form (polite, indirect, terse, fillers, casing and typo noise outside values), offers 1-8 tools including
near-duplicate distractors, shuffles tool / parameter / key order, validates the answer with `validate_calls` and
drops duplicates (normalised query + tool set).

Tools come from three sources (see `needle_hf.data.catalog`): the hand-authored catalog (`catalog`), catalog tools
renamed with synonyms / other parameter names / other descriptions (`mutated`), and tools invented from
actions x objects (`invented`). Most tools in the data are procedural, and their names and parameter names usually
do not occur in the query, so a model has to copy names from the tool list. With `tools=`, rows use exactly the
given tools (generic templates driven by their parameter names, types, descriptions and enums).

    rows = generate_rows(1000, seed=0)                      # iterator of dicts
    summary = generate_to_file("data.jsonl", 100_000, seed=0)
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from typing import Iterable, Iterator

from ..tools import Param, Tool, answers_to_text, parse_tools, tool_to_dict, validate_calls
from . import catalog as C
from .catalog import concepts as K
from .catalog import grammar as G
from .catalog import heuristics as H
from .catalog import procedural as P
from .catalog.spec import ParamSpec, ToolSpec

__all__ = ["CALL_TYPES", "DEFAULT_MIX", "generate_rows", "generate_to_file", "write_jsonl", "parse_mix",
           "format_summary", "load_tools_file", "row_key", "OfflineGenerator", "GenerationSummary"]

CALL_TYPES = ("single", "single_tool", "parallel", "none")
DEFAULT_MIX = {"single": 0.50, "single_tool": 0.10, "parallel": 0.20, "none": 0.20}

# knobs (probabilities) -- kept here so they are easy to find and tune
P_CATALOG = 0.55          # a picked tool comes from the hand-authored catalog (else invented)
P_MUTATE = 0.55           # ... and a catalog tool is renamed / re-described (a procedural tool)
P_NEAR = 0.4              # a distractor is a near duplicate (same domain / same object)
P_OPTIONAL = 0.5          # an optional argument in a template's [...] is present
P_CHITCHAT = 0.35         # share of no-call rows that are small talk or a general-knowledge question (half each)
P_FILLER, P_TYPO = 0.08, 0.10
KNOWLEDGE_DOMAINS = frozenset({"search", "reference", "learning", "news", "sports", "translation", "math_units",
                               "education", "docs", "content", "cooking"})
N_TOOLS_SINGLE = (2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8)
N_TOOLS_NONE = (1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8)
MAX_TOOLS = 8
_SEP = (",", ":")
_PUNCT_RUN = re.compile(r",\s*([;.,])")


class GenerationSummary:
    """Counts of what was generated and skipped (and why); `as_dict()` is JSON-serialisable."""

    def __init__(self, seed=0, mix=None):
        self.seed, self.mix = seed, dict(mix or DEFAULT_MIX)
        self.rows = 0
        self.call_types, self.domains, self.num_tools, self.num_calls = Counter(), Counter(), Counter(), Counter()
        self.tool_sources, self.skipped = Counter(), Counter()
        self.tool_names: Counter = Counter()
        self.start = time.perf_counter()
        self.elapsed = 0.0
        self.resumed_rows = 0
        self.exhausted = False
        self.out = None

    def add(self, meta: dict) -> None:
        self.rows += 1
        self.call_types[meta["call_type"]] += 1
        self.domains[meta["domain"]] += 1
        self.num_tools[meta["num_tools"]] += 1
        self.num_calls[meta["num_calls"]] += 1
        for s in meta["sources"]:
            self.tool_sources[s] += 1
        for n in meta["names"]:
            self.tool_names[n] += 1

    def as_dict(self) -> dict:
        elapsed = self.elapsed or (time.perf_counter() - self.start)
        # share of procedural (invented / mutated) tools among the generator's own; user tools (--tools) are neither
        generated = sum(v for k, v in self.tool_sources.items() if k != "user") or 1
        proc = sum(v for k, v in self.tool_sources.items() if k not in ("catalog", "user"))
        return {
            "rows": self.rows, "seed": self.seed, "mix": self.mix, "out": self.out, "resumed_rows": self.resumed_rows,
            "call_types": dict(sorted(self.call_types.items())), "num_tools": dict(sorted(self.num_tools.items())),
            "num_calls": dict(sorted(self.num_calls.items())),
            "domains": dict(sorted(self.domains.items(), key=lambda kv: (-kv[1], kv[0]))),
            "tool_sources": dict(sorted(self.tool_sources.items())),
            "procedural_tool_fraction": round(proc / generated, 4),
            "distinct_tool_names": len(self.tool_names),
            "skipped": dict(sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
            "exhausted": self.exhausted,
            "elapsed_s": round(elapsed, 3), "rows_per_s": round(self.rows / elapsed, 1) if elapsed > 0 else None,
        }

    def format(self) -> str:
        return format_summary(self.as_dict())


def format_summary(d: dict) -> str:
    """Human-readable multi-line summary (printed by `needle-hf generate-data`)."""
    lines = [f"generated {d['rows']} rows (seed {d['seed']}) in {d['elapsed_s']} s ({d['rows_per_s']} rows/s)"
             + (f" -> {d['out']}" if d["out"] else "")]
    if d["resumed_rows"]:
        lines.append(f"  resumed: {d['resumed_rows']} rows were already in the file")
    lines.append("  call types: " + ", ".join(f"{k}={v}" for k, v in d["call_types"].items()))
    lines.append("  tools per row: " + ", ".join(f"{k}={v}" for k, v in d["num_tools"].items()))
    lines.append("  calls per row: " + ", ".join(f"{k}={v}" for k, v in d["num_calls"].items()))
    own = any(k != "user" for k in d["tool_sources"])
    lines.append(f"  tool sources: " + ", ".join(f"{k}={v}" for k, v in d["tool_sources"].items())
                 + (f" (procedural {d['procedural_tool_fraction']:.0%} of the generator's tools)" if own else "")
                 + f"; distinct tool names: {d['distinct_tool_names']}")
    lines.append(f"  domains ({len(d['domains'])}): " + ", ".join(f"{k}={v}" for k, v in d["domains"].items()))
    skipped = d["skipped"]
    lines.append("  skipped: " + (", ".join(f"{k}={v}" for k, v in skipped.items()) if skipped else "none"))
    if d["exhausted"]:
        lines.append("  WARNING: stopped early; too many duplicates or invalid rows (the tool set allows few "
                     "distinct queries)")
    return "\n".join(lines)


def parse_mix(mix) -> dict:
    """Normalise a call-type mix: dict or "single=0.5,none=0.2" string -> weights summing to 1."""
    if mix is None:
        return dict(DEFAULT_MIX)
    if isinstance(mix, str):
        out = {}
        for part in filter(None, (p.strip() for p in mix.split(","))):
            key, sep, val = part.partition("=")
            if not sep:
                raise ValueError(f"mix: expected name=weight pairs such as 'single=0.5,none=0.2', got {part!r}")
            try:
                out[key.strip()] = float(val)
            except ValueError:
                raise ValueError(f"mix: weight for {key.strip()!r} must be a number, got {val!r}") from None
        mix = out
    if not isinstance(mix, dict):
        raise ValueError(f"mix: expected a dict of call type -> weight, got {type(mix).__name__}")
    unknown = [k for k in mix if k not in CALL_TYPES]
    if unknown:
        raise ValueError(f"mix: unknown call type {unknown[0]!r}; use {', '.join(CALL_TYPES)}")
    if any((not isinstance(v, (int, float))) or v < 0 for v in mix.values()):
        raise ValueError("mix: weights must be non-negative numbers")
    total = float(sum(mix.values()))
    if total <= 0:
        raise ValueError("mix: at least one weight must be positive")
    return {k: float(mix.get(k, 0.0)) / total for k in CALL_TYPES}


def _norm_query(q: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", q.lower()).split())


def row_key(query: str, tool_dicts: Iterable[dict]) -> bytes:
    """Dedup key of a row: normalised query + the set of tools (tool, parameter and key order do not matter)."""
    return _row_key_canon(query, [_canon(t) for t in tool_dicts])


def _row_key_canon(query: str, canon_tools: list) -> bytes:
    tools = sorted(canon_tools)
    h = hashlib.blake2b(digest_size=16)
    h.update(_norm_query(query).encode("utf-8"))
    for t in tools:
        h.update(b"\x00")
        h.update(t.encode("utf-8"))
    return h.digest()


_snake = P.snake


class _Tool(Tool):
    """A Tool whose snake name is computed once (validate_calls / tool_to_dict ask for it several times)."""

    @property
    def snake_name(self) -> str:
        return self._snake


def _make_tool(name: str, description: str, params: list[Param]) -> _Tool:
    t = _Tool(name, description, params)
    t._snake = _snake(name)
    return t


def _canon(d: dict) -> str:
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=_SEP)


def _intents(spec: ToolSpec) -> frozenset:
    s = spec.extra
    if s is None:
        s = spec.extra = frozenset(spec.intent.split("|"))
    return s


def _conflicts(spec: ToolSpec, others) -> bool:
    mine = _intents(spec)
    return any(mine & _intents(o) for o in others)


class _Rendered:
    __slots__ = ("segs", "call", "verbatim")

    def __init__(self, segs, call, verbatim):
        self.segs, self.call, self.verbatim = segs, call, verbatim


class OfflineGenerator:
    """Infinite stream of `(row, meta)`; use `generate_rows` / `generate_to_file` unless you need the metadata."""

    def __init__(self, seed: int = 0, mix=None, tools=None, summary: GenerationSummary | None = None,
                 exclude_tools=None):
        self.rng = random.Random(seed)
        self.mix = parse_mix(mix)
        self.summary = summary or GenerationSummary(seed, self.mix)
        self._mix_keys = [k for k in CALL_TYPES if self.mix[k] > 0]
        self._mix_cum = []
        acc = 0.0
        for k in self._mix_keys:
            acc += self.mix[k]
            self._mix_cum.append(acc)
        # exclude_tools: hand-authored tools never used, not even renamed (hold them out for an unseen-tools test)
        exclude = set(exclude_tools or ())
        unknown = sorted(exclude - set(C.TOOLS_BY_NAME))
        if unknown:
            raise ValueError(f"exclude_tools: unknown catalog tool {unknown[0]!r}")
        self._domain_tools = {d: [t for t in ts if t.name not in exclude] for d, ts in C.DOMAINS.items()}
        self._domain_tools = {d: ts for d, ts in self._domain_tools.items() if ts}
        self._domains = list(self._domain_tools)
        self._seen: set = set()
        self.user_specs: list[ToolSpec] | None = None
        self._user_words: set = set()
        if tools is not None:
            self._init_user_tools(tools)

    # ------------------------------------------------------------------------------------------ tool specs
    def _finish(self, spec: ToolSpec) -> ToolSpec | None:
        """Canonical Tool + dict (`tool_to_dict`) + canonical text, cached on the spec; None for a nameless tool."""
        if spec._dict is None:
            if not _snake(spec.name):
                return None
            params = [Param(p.name, p.type, p.description, p.required, list(p.enum) if p.enum else None,
                            p.items if p.type == "array" else None) for p in spec.params]
            t = _make_tool(spec.name, spec.description, params)
            spec._tool, spec._dict = t, tool_to_dict(t)
            spec.name = spec._dict["name"]
            spec._key = _canon(spec._dict)
        return spec

    def _catalog_tool(self, domain: str | None = None) -> ToolSpec:
        rng = self.rng
        domain = domain or self._domains[rng.randrange(len(self._domains))]
        tools = self._domain_tools[domain]
        return tools[rng.randrange(len(tools))]

    def _pick(self, allow_catchall: bool = True) -> ToolSpec:
        """A random tool: catalog, mutated catalog or invented."""
        rng = self.rng
        for _ in range(10):
            if rng.random() < P_CATALOG:
                base = self._catalog_tool()
                if base.catchall and not allow_catchall:
                    continue
                spec = self._mutate(base) if rng.random() < P_MUTATE else base
            else:
                spec = self._invent()
            spec = self._finish(spec)
            if spec is not None:
                return spec
        return self._finish(C.TOOLS_BY_NAME["set_timer"])

    def _mutate(self, base: ToolSpec) -> ToolSpec:
        return P.mutate_tool(self.rng, base)

    def _invent(self, action: K.Action | None = None, obj: K.Obj | None = None) -> ToolSpec:
        return P.invent_tool(self.rng, action, obj)

    def _sibling(self, target: ToolSpec, avoid) -> ToolSpec | None:
        """A near-duplicate tool: same domain (catalog) or same object / same action (invented)."""
        rng = self.rng
        if target.source == "invented" or target.source == "user":
            if target.source == "user":
                return None
            first = target.intent.split("|")[0]          # never iterate a frozenset: hash order varies by process
            akey, _, okey = first.partition(".")
            obj = next((o for o in K.OBJECTS if o.key == okey), None)
            if obj is None:
                return None
            for _ in range(6):
                if rng.random() < 0.7:
                    spec = self._invent(obj=obj)
                else:
                    spec = self._invent(action=K.ACTIONS_BY_KEY[akey])
                if not _conflicts(spec, avoid):
                    return self._finish(spec)
            return None
        tools = self._domain_tools.get(target.domain, ())
        for _ in range(6):
            if not tools:
                return None
            base = tools[rng.randrange(len(tools))]
            if base.catchall or _conflicts(base, avoid):
                continue
            spec = self._mutate(base) if rng.random() < P_MUTATE else base
            return self._finish(spec)
        return None

    def _distractors(self, n: int, avoid: list, near_to: list, offered: list) -> None:
        """Append up to n tools to `offered`, none conflicting with `avoid`/each other and with unique names."""
        rng = self.rng
        names = {t.name for t in offered}
        tries = 0
        while n > 0 and tries < 4 * n + 8:
            tries += 1
            if near_to and rng.random() < P_NEAR:
                spec = self._sibling(near_to[rng.randrange(len(near_to))], avoid + offered)
            else:
                spec = self._pick(allow_catchall=False)
            if spec is None or spec.catchall or spec.name in names or _conflicts(spec, avoid + offered):
                continue
            offered.append(spec)
            names.add(spec.name)
            n -= 1

    # ------------------------------------------------------------------------------------------ rendering
    def _render(self, spec: ToolSpec, lower_values: bool) -> _Rendered:
        rng = self.rng
        if spec.templates is None:
            spec.templates = spec.lazy()
        tpl = spec.templates[rng.randrange(len(spec.templates))]
        pmap = {p.key: p for p in spec.params}
        values: dict = {}
        opt_on: dict = {}
        segs: list = []
        verbatim: list = []

        def emit(tokens):
            for t in tokens:
                if type(t) is str:
                    segs.append([t, False])
                elif t[0] == "s":
                    key = t[1]
                    v = values.get(key)
                    if v is None:
                        p = pmap[key]
                        s, val = p.sample(rng)
                        if lower_values and p.text and rng.random() < 0.5:
                            s = s.lower()
                            val = [x.lower() for x in val] if isinstance(val, list) else val.lower()
                        v = values[key] = (s, val)
                        if isinstance(val, str):
                            if val in s:
                                verbatim.append(val)
                        elif isinstance(val, list):
                            verbatim.extend(x for x in val if isinstance(x, str) and x in s)
                    segs.append([v[0], True])
                elif t[0] == "o":
                    keys = t[2]
                    if keys:
                        ok = True
                        for k in keys:
                            on = opt_on.get(k)
                            if on is None:
                                on = opt_on[k] = rng.random() < P_OPTIONAL
                            ok = ok and on
                    else:
                        ok = rng.random() < 0.5
                    if ok:
                        emit(t[1])
                else:
                    alts = t[1]
                    segs.append([alts[rng.randrange(len(alts))], False])

        emit(tpl)
        args = {p.name: values[p.key][1] for p in spec.params if p.key in values}
        return _Rendered(segs, {"name": spec.name, "arguments": args}, verbatim)

    def _assemble(self, parts: list[list], casing: str) -> str:
        rng = self.rng
        segs = list(parts[0])
        for p in parts[1:]:
            segs.append([G.CONJUNCTIONS[rng.randrange(len(G.CONJUNCTIONS))], False])
            segs.extend(p)
        head = "".join(s[0] for s in parts[0][:3])
        wrappers = G.wrappers_for(head)
        pre, suf = wrappers[rng.randrange(len(wrappers))]
        segs = [[pre, False]] + segs + [[suf, False]]
        if rng.random() < P_FILLER:
            f = G.FILLERS[rng.randrange(len(G.FILLERS))]
            i = rng.randrange(1, len(segs))
            segs.insert(i, [f" {f}, " if rng.random() < 0.5 else f" {f} ", False])
        if rng.random() < P_TYPO:
            lits = [s for s in segs if not s[1] and len(s[0]) >= 4]
            for _ in range(rng.randrange(1, 3)):
                if not lits:
                    break
                s = lits[rng.randrange(len(lits))]
                words = s[0].split(" ")
                j = rng.randrange(len(words))
                words[j] = G.typo(rng, words[j])
                s[0] = " ".join(words)
        if casing == "lower":
            for s in segs:
                if not s[1]:
                    s[0] = s[0].lower()
        elif casing == "upper":
            for s in segs:
                if not s[1]:
                    s[0] = s[0].upper()
        text = "".join(s[0] for s in segs)
        text = " ".join(text.split())
        text = text.replace(" ,", ",").replace(" .", ".").replace(" ?", "?")
        text = _PUNCT_RUN.sub(r"\1", text)
        if casing == "cap":
            first = next((s for s in segs if s[0].strip()), None)
            if first is not None and not first[1] and text[:1].islower():
                text = text[0].upper() + text[1:]
        return text

    def _casing(self) -> str:
        r = self.rng.random()
        return "cap" if r < 0.5 else "as_is" if r < 0.83 else "lower" if r < 0.97 else "upper"

    # ------------------------------------------------------------------------------------------ rows
    def _choose_call_type(self) -> str:
        r = self.rng.random()
        for k, c in zip(self._mix_keys, self._mix_cum):
            if r < c:
                return k
        return self._mix_keys[-1]

    def _row_catalog(self, call_type: str):
        rng = self.rng
        lower = self._casing_now == "lower"
        if call_type in ("single", "single_tool"):
            target = self._pick()
            r = self._render(target, lower)
            offered = [target]
            if call_type == "single":
                n = N_TOOLS_SINGLE[rng.randrange(len(N_TOOLS_SINGLE))]
                self._distractors(n - 1, [target], [target], offered)
            return [r], offered, target.domain
        if call_type == "parallel":
            k = 3 if rng.random() < 0.15 else 2
            targets = []
            if rng.random() < 0.5:
                t = self._pick()
                targets = [t] * k
            else:
                while len(targets) < k:
                    t = self._pick()
                    if not _conflicts(t, targets) and t.name not in {x.name for x in targets}:
                        targets.append(t)
            rendered = [self._render(t, lower) for t in targets]
            offered = []
            for t in targets:
                if t not in offered:
                    offered.append(t)
            extra = max(0, min(MAX_TOOLS, len(offered) + rng.randrange(0, 5)) - len(offered))
            self._distractors(extra, list(offered), list(offered), offered)
            return rendered, offered, targets[0].domain
        # none
        if rng.random() < P_CHITCHAT:
            n = N_TOOLS_NONE[rng.randrange(len(N_TOOLS_NONE))]
            offered: list = []
            self._distractors(n, [], [], offered)
            if rng.random() < 0.5:
                return G.CHITCHAT[rng.randrange(len(G.CHITCHAT))], offered, "chitchat"
            # a question a search / reference tool could answer: keep such tools out, or the right answer is a call
            offered = [t for t in offered if t.domain.split("/")[-1] not in KNOWLEDGE_DOMAINS]
            if not offered:
                offered = [self._finish(C.TOOLS_BY_NAME["set_timer"])]
            return G.general_question(rng), offered, "general_question"
        target = self._pick()
        r = self._render(target, lower)
        n = N_TOOLS_NONE[rng.randrange(len(N_TOOLS_NONE))]
        offered = []
        self._distractors(n, [target], [target], offered)
        return [r], offered, target.domain

    def _user_offer(self, must: list) -> list:
        """All user tools (mostly) or a random subset that contains `must`."""
        rng = self.rng
        specs = self.user_specs
        if len(specs) <= 1 or rng.random() < 0.6:
            return list(specs)
        rest = [s for s in specs if s not in must]
        k = rng.randrange(0, len(rest) + 1)
        return list(must) + rng.sample(rest, k)

    def _row_user(self, call_type: str):
        rng = self.rng
        specs = self.user_specs
        lower = self._casing_now == "lower"
        if call_type in ("single", "single_tool"):
            t = specs[rng.randrange(len(specs))]
            offered = [t] if call_type == "single_tool" else self._user_offer([t])
            return [self._render(t, lower)], offered, t.domain
        if call_type == "parallel":
            k = 3 if rng.random() < 0.15 else 2
            if len(specs) == 1 or rng.random() < 0.5:
                targets = [specs[rng.randrange(len(specs))]] * k
            else:
                targets = [specs[i] for i in rng.sample(range(len(specs)), min(k, len(specs)))]
            uniq = []
            for t in targets:
                if t not in uniq:
                    uniq.append(t)
            return [self._render(t, lower) for t in targets], self._user_offer(uniq), targets[0].domain
        r = rng.random()
        if r < 0.45 and len(specs) > 1:                     # near miss: the right tool is not offered
            t = specs[rng.randrange(len(specs))]
            rest = [s for s in specs if s is not t]
            offered = rng.sample(rest, rng.randrange(1, len(rest) + 1))
            return [self._render(t, lower)], offered, t.domain
        offered = self._user_offer([])
        if not offered:
            offered = [specs[rng.randrange(len(specs))]]
        if r < 0.6:
            return G.CHITCHAT[rng.randrange(len(G.CHITCHAT))], offered, "chitchat"
        for _ in range(20):                                  # a request for something none of the tools does
            t = self._pick()
            if not (self._spec_words(t) & self._user_words):
                return [self._render(t, lower)], offered, t.domain
        return G.CHITCHAT[rng.randrange(len(G.CHITCHAT))], offered, "chitchat"

    def _spec_words(self, spec: ToolSpec) -> set:
        words = set(H.words_of(spec.name)) | set(H.words_of(spec.domain))
        if spec.templates is None:
            spec.templates = spec.lazy()
        for tpl in spec.templates[:3]:
            for t in tpl:
                if type(t) is str:
                    words.update(H.words_of(t))
        return {w for w in words if len(w) > 3 and w not in _STOP}

    def _init_user_tools(self, tools) -> None:
        parsed = parse_tools(tools)
        if not parsed:
            raise ValueError("tools: no tools given; pass a JSON array of tool schemas")
        specs, problems = [], []
        for t in parsed:
            spec, why = self._user_spec(t)
            if spec is None:
                problems.append(f"{t.name}: {why}")
            else:
                specs.append(spec)
        if not specs:
            raise ValueError("tools: cannot generate queries for any tool (" + "; ".join(problems) + ")")
        for p in problems:
            self.summary.skipped[f"tool skipped ({p})"] += 1
        self.user_specs = specs
        for s in specs:
            self._user_words |= self._spec_words(s)
            self._user_words |= {w for w in H.words_of(s.description) if len(w) > 3 and w not in _STOP}

    def _user_spec(self, t):
        rng = random.Random(t.name)          # templates per tool do not depend on the row stream
        params = []
        for p in t.parameters:
            kind = H.kind_for_param(p.name, p.type, p.description, p.enum, p.items)
            if kind is None:
                if p.required:
                    return None, f"required parameter {p.name!r} of type {p.type} has no value sampler"
                kind = None
            ps = ParamSpec.__new__(ParamSpec)
            ps.key, ps.name, ps.description, ps.required = p.name, p.name, p.description, p.required
            ps.type, ps.enum, ps.items = p.type, p.enum, p.items
            ps.kind = kind
            ps.text = bool(getattr(kind, "text", False))
            ps.phrases = H.phrases_for_param(p.name, kind) if kind is not None else None
            params.append(ps)
        usable = [p for p in params if p.kind is not None]
        heads = H.heads_for_tool(t.name, t.description)
        templates = []
        for i in range(6):
            head = heads[i % len(heads)]
            toks: list = [head]
            order = list(usable)
            rng.shuffle(order)
            for j, p in enumerate(order):
                pat = p.phrases[rng.randrange(len(p.phrases))]
                pre, _, post = pat.partition("{v}")
                sep = " " if j == 0 or rng.random() < 0.6 else ", "
                part = (sep + pre, ("s", p.key)) + ((post,) if post else ())
                toks.extend(part) if p.required else toks.append(("o", part, (p.key,)))
            templates.append(tuple(toks))
        snake = _snake(t.name)
        spec = ToolSpec(t.name, t.description, params, tuple(templates), "user/" + snake, "user." + snake, "user")
        ft = _make_tool(t.name, t.description, t.parameters)
        spec._tool, spec._dict = ft, tool_to_dict(ft)
        spec.name = spec._dict["name"]
        spec._key = _canon(spec._dict)
        return spec, None

    # ------------------------------------------------------------------------------------------ main loop
    def _make(self):
        """One candidate row -> (row, meta) or (None, skip reason)."""
        rng = self.rng
        call_type = self._choose_call_type()
        self._casing_now = casing = self._casing()
        built = self._row_user(call_type) if self.user_specs is not None else self._row_catalog(call_type)
        parts, offered, domain = built
        if isinstance(parts, str):                             # chit-chat
            query, calls, verbatim = parts, [], []
            if rng.random() < 0.5:
                query = query[:1].upper() + query[1:]
        else:
            query = self._assemble([r.segs for r in parts], casing)
            verbatim = [v for r in parts for v in r.verbatim]
            calls = [] if call_type == "none" else [r.call for r in parts]
        if not offered:
            return None, "no tools offered"
        for v in verbatim:
            if v not in query:
                return None, "value not verbatim in query"
        if call_type == "parallel" and len({json.dumps(c, sort_keys=True) for c in calls}) < len(calls):
            return None, "parallel calls identical"
        # shuffle tool order, parameter order and key order
        offered = list(offered)
        rng.shuffle(offered)
        tool_dicts, param_orders = [], {}
        for spec in offered:
            d = spec._dict
            pitems = list(d["parameters"].items())
            if len(pitems) > 1:
                rng.shuffle(pitems)
            keys = ["name", "description", "parameters"]
            rng.shuffle(keys)
            nd = {}
            for k in keys:
                nd[k] = dict(pitems) if k == "parameters" else d[k]
            tool_dicts.append(nd)
            param_orders[spec.name] = [k for k, _ in pitems]
        ordered_calls = []
        for c in calls:
            order = param_orders.get(c["name"], [])
            args = c["arguments"]
            ordered_calls.append({"name": c["name"], "arguments": {k: args[k] for k in order if k in args}})
        # validating against the called tools only gives the same result as against all offered tools (a call is
        # checked against its own tool; all names in a row are distinct) and saves time
        called = {c["name"] for c in ordered_calls}
        coerced, errors = validate_calls(ordered_calls, [s._tool for s in offered if s.name in called])
        if len(called - {s.name for s in offered}):
            errors = errors or ["call to a tool that is not offered"]
        if errors:
            return None, "invalid answer: " + re.sub(r"'[^']*'|\d+", "_", errors[0])[:80]
        key = _row_key_canon(query, [s._key for s in offered])
        if key in self._seen:
            return None, "duplicate"
        self._seen.add(key)
        row = {"query": query,
               "tools": json.dumps(tool_dicts, ensure_ascii=False, separators=_SEP),
               "answers": answers_to_text(coerced)}
        meta = {"call_type": call_type, "domain": domain, "num_tools": len(offered), "num_calls": len(calls),
                "sources": [s.source for s in offered], "names": [s.name for s in offered], "key": key}
        return row, meta

    def stream(self, max_attempts: int | None = None) -> Iterator[tuple[dict, dict]]:
        attempts = 0
        while max_attempts is None or attempts < max_attempts:
            attempts += 1
            row, meta = self._make()
            if row is None:
                self.summary.skipped[meta] += 1
                continue
            yield row, meta
        self.summary.exhausted = True


_STOP = {"with", "from", "that", "this", "your", "their", "into", "about", "what", "when", "where", "which", "have",
         "will", "would", "could", "should", "please", "there", "them", "they", "some", "more", "most", "than", "then",
         "also", "just", "only", "over", "under", "after", "before", "given", "using", "used", "uses", "user",
         "returns", "return", "tool", "function", "name", "value", "values", "list", "each", "make", "like", "need",
         "want", "does", "done", "been", "being", "were", "here", "other", "such", "must", "optional", "required",
         "string", "number", "integer", "boolean", "array", "object", "default", "format", "true", "false"}


def load_tools_file(path) -> list:
    """Read a tools file: a JSON array / object in any format `parse_tools` accepts, or JSONL with one tool a line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        json.loads(text)
    except ValueError:
        items = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as err:
                raise ValueError(f"{path}:{i}: not valid JSON ({err}); pass a JSON array of tool schemas or "
                                 f"JSONL with one tool schema per line") from None
        text = items
    try:
        tools = parse_tools(text)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    if not tools:
        raise ValueError(f"{path}: no tools found; pass a JSON array of tool schemas")
    return tools


def _max_attempts(n: int) -> int:
    return 30 * n + 2000


def generate_rows(num_samples: int, seed: int = 0, mix=None, tools=None, *, exclude_tools=None) -> Iterator[dict]:
    """Yield `num_samples` rows `{"query", "tools", "answers"}` (fewer only if the tool set is exhausted).

    `exclude_tools`: names of hand-authored catalog tools never to use, not even renamed (for held-out tests).
    """
    gen = OfflineGenerator(seed, mix, tools, exclude_tools=exclude_tools)
    if num_samples <= 0:
        return
    n = 0
    for row, _ in gen.stream(_max_attempts(num_samples)):
        yield row
        n += 1
        if n >= num_samples:
            return


def write_jsonl(path, rows: Iterable[dict], append: bool = False) -> int:
    """Write rows as JSON lines (UTF-8, `ensure_ascii=False`); returns the number written."""
    n = 0
    with open(path, "a" if append else "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _existing_keys(path) -> tuple[set, int]:
    """Dedup keys of the rows already in `path`; truncates a partial last line (an interrupted write)."""
    keys, n = set(), 0
    with open(path, "rb") as f:
        data = f.read()
    good = data.rfind(b"\n") + 1
    if good < len(data):
        with open(path, "r+b") as f:
            f.truncate(good)
    for i, line in enumerate(data[:good].splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            keys.add(row_key(row["query"], json.loads(row["tools"])))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{i}: cannot resume, line is not a generated row ({err}); "
                             f"fix or remove the file, or run without --resume") from None
        n += 1
    return keys, n


def generate_to_file(out, num_samples: int, seed: int = 0, mix=None, tools=None, resume: bool = False,
                     progress: bool = True, exclude_tools=None) -> dict:
    """Generate `num_samples` rows into the JSONL file `out`; returns the summary dict.

    With `resume=True` an existing file is continued: its rows are kept, the same deterministic stream is
    regenerated and rows already in the file are skipped, so an interrupted run resumed with the same seed ends with
    the same file as an uninterrupted one (a different seed appends new, non-duplicate rows).
    """
    from tqdm.auto import tqdm

    summary = GenerationSummary(seed, parse_mix(mix))
    summary.out = str(out)
    gen = OfflineGenerator(seed, mix, tools, summary=summary, exclude_tools=exclude_tools)
    existing, have = set(), 0
    if resume and os.path.exists(out):
        existing, have = _existing_keys(out)
    summary.resumed_rows = have
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    todo = max(0, num_samples - have)
    written = 0
    bar = tqdm(total=num_samples, initial=min(have, num_samples), desc="generate-data", unit="rows",
               disable=not progress)
    try:
        with open(out, "a" if resume else "w", encoding="utf-8") as f:
            if todo:
                for row, meta in gen.stream(_max_attempts(num_samples)):
                    if meta["key"] in existing:
                        continue
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    summary.add(meta)
                    written += 1
                    bar.update(1)
                    if written >= todo:
                        break
    finally:
        bar.close()
    summary.elapsed = time.perf_counter() - summary.start
    return summary.as_dict()
