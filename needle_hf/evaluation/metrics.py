"""Tool-call metrics for Needle: one implementation, three entry points.

* :func:`score_tool_calls` -- plain Python, stdlib only.
* the ``evaluate`` module in ``tool_call_accuracy/`` (``evaluate.load(metric_path())``), a thin wrapper around it.
* :func:`make_compute_metrics` -- a ``compute_metrics`` for ``Seq2SeqTrainer(predict_with_generate=True)``.

The metrics follow spec §6 of the original Needle evaluation, with its known bugs fixed:

* calls are compared as **multisets**, so two identical parallel calls are two calls (v1 used sets, so a model that
  made the call once scored recall 1.0 against a reference that made it twice);
* every predicted call is matched to **its own** reference call (v1 compared arguments against the *first* reference
  call with the same name). Matching is greedy: identical calls first, then, per tool name, the pairs with the most
  equal argument values (ties: fewest disagreeing keys, then the earlier call).

Definitions (``calls`` are ``{"name": str, "arguments": {...}}``):

* ``exact_match``: the predicted calls equal the reference calls as a multiset (order-insensitive). An unparseable
  prediction is never an exact match, even when the reference is ``[]``.
* ``json_parse_rate``: share of predictions that parse as a list of calls (see :func:`parse_prediction`).
* ``name_*``: micro precision/recall/F1 over the multisets of tool names of each example.
* ``call_*``: micro precision/recall/F1 over the multisets of whole calls (name + arguments) of each example.
* ``argument_accuracy``: over predicted calls matched to a reference call with the same name, the share whose
  arguments are all equal (same keys, equal values).
* ``value_accuracy``: over the keys present in both a predicted call and its matched reference call, the share with
  equal values.
* ``hallucinated_param_rate``: predicted argument keys that are not parameters of the tool / all predicted keys. When
  ``tools`` are given, keys are checked against the offered tool's schema (calls to tools that were not offered are
  left out: they already count as wrong names); without ``tools``, against the matched reference call's keys (only
  name-matched calls count).
* ``missing_param_rate``: reference argument keys absent from the matched predicted call / all reference keys of
  name-matched calls.
* ``no_call_precision`` / ``no_call_recall`` / ``no_call_f1``: how well "no call" (``[]``) is predicted: precision
  over predictions that parsed to ``[]``, recall over references that are ``[]``.

Value equality: exact JSON equality, except that numbers compare by value (``5 == 5.0``), strings are compared after
``str.strip()`` (case-sensitive), booleans never equal numbers (``true != 1``) and a string never equals a number
(``"5" != 5`` is a value error -- the model must produce the type the schema asks for). Tool names compare exactly.

A ratio whose denominator is 0 is reported as 0.0; the counts (``n``, ``n_pred_calls``, ...) next to it tell when
that happened (:data:`DENOMINATORS` maps each rate to its counts, :func:`is_defined` checks one; the eval tables
print such a rate as ``-``). All rates are plain Python floats rounded to 4 decimals; counts are ints.

Breakdowns (only groups with at least one example are reported):

* ``by_call_type``: the reference decides -- ``no_call`` (``[]``), ``parallel`` (2+ calls), ``multiple`` (1 call, 2+
  tools offered), ``single`` (1 call, at most 1 tool offered, or ``tools`` not given).
* ``by_num_tools`` (only when ``tools`` is given): number of tools offered, ``"0"`` .. ``"9"`` and ``"10+"``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "CALL_TYPES",
    "NUM_TOOLS_BUCKETS",
    "score_tool_calls",
    "explain_failure",
    "parse_prediction",
    "values_equal",
    "call_type",
    "flatten_metrics",
    "is_defined",
    "DENOMINATORS",
    "make_compute_metrics",
    "metric_path",
    "load_metric",
]

CALL_TYPES = ("no_call", "single", "multiple", "parallel")
NUM_TOOLS_BUCKETS = tuple(str(i) for i in range(10)) + ("10+",)
DEFAULT_BREAKDOWN_KEYS = ("n", "exact_match", "json_parse_rate", "name_f1", "call_f1")

_JSON_SCHEMA_KEYS = {"type", "properties", "required", "additionalProperties", "description", "title", "$schema",
                     "$defs", "definitions", "optional"}


# --------------------------------------------------------------------------------------------------- parsing
def _check_calls(obj: Any) -> tuple[list[dict] | None, str]:
    """(calls, "") when ``obj`` is a call or a list of calls, else (None, reason)."""
    if isinstance(obj, dict):
        obj = [obj]  # one bare call object -> a one-call list
    if not isinstance(obj, list):
        return None, f"expected a JSON array of calls, got {type(obj).__name__}"
    calls = []
    for i, call in enumerate(obj):
        if not isinstance(call, dict):
            return None, f"call {i} is not an object"
        if set(call) != {"name", "arguments"}:
            return None, f"call {i} must have exactly the keys 'name' and 'arguments', got {sorted(call)}"
        if not isinstance(call["name"], str) or not call["name"]:
            return None, f"call {i}: 'name' must be a non-empty string"
        if not isinstance(call["arguments"], dict):
            return None, f"call {i}: 'arguments' must be an object"
        calls.append({"name": call["name"], "arguments": call["arguments"]})
    return calls, ""


def _parse(text: Any) -> tuple[list[dict] | None, str]:
    if not isinstance(text, str):
        if isinstance(text, (list, dict)):  # already-parsed calls are accepted too
            return _check_calls(text)
        return None, f"expected a string, got {type(text).__name__}"
    s = text.strip()
    if not s:
        return None, "empty output"
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e.msg} at char {e.pos})"
    return _check_calls(obj)


def parse_prediction(text: str) -> list[dict] | None:
    """Parse a model output into a list of calls, or ``None`` when it is unparseable.

    The text is stripped first. An empty string is unparseable (a model that means "no call" must say ``[]``). A
    single call object is wrapped in a list. Anything that is not a list of objects with exactly the keys ``name``
    (non-empty string) and ``arguments`` (object) is unparseable, and is scored as zero predicted calls.
    """
    return _parse(text)[0]


def _parse_reference(ref: Any, i: int) -> list[dict]:
    calls, err = _parse(ref)
    if calls is None:
        raise ValueError(f"references[{i}] is not a valid answer ({err}): {str(ref)[:200]!r}. A reference must be a "
                         'JSON array of {"name": ..., "arguments": {...}} calls, or "[]" for no call.')
    return calls


def _parse_tools(tools: Any, i: int) -> list | None:
    if tools is None:
        return None
    obj = tools
    if isinstance(tools, str):
        try:
            obj = json.loads(tools) if tools.strip() else []
        except json.JSONDecodeError as e:
            raise ValueError(f"tools[{i}] is not valid JSON ({e.msg} at char {e.pos}); pass each example's tools as "
                             "a JSON array of tool schemas, or None") from None
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise ValueError(f"tools[{i}] must be a JSON array of tool schemas, got {type(obj).__name__}")
    return obj


def _loose(name: str) -> str:
    """Name key that survives snake_case / camelCase / dots: 'getWeather' == 'get_weather' == 'get.weather'."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _schema_params(tool: Any) -> tuple[str | None, set[str] | None]:
    """(tool name, parameter names) from a tool schema in any accepted format (Needle flat, JSON Schema / OpenAI
    function, BFCL "dict", list-of-params). Parameter names are None when they cannot be read."""
    if not isinstance(tool, dict):
        return None, None
    if isinstance(tool.get("function"), dict):  # OpenAI {"type": "function", "function": {...}}
        tool = tool["function"]
    name = tool.get("name") if isinstance(tool.get("name"), str) else None
    params = tool.get("parameters", tool.get("input_schema"))
    if params is None:
        return name, set()
    if isinstance(params, dict):
        props = params.get("properties")
        if isinstance(props, dict) and (isinstance(params.get("type"), str) or set(params) <= _JSON_SCHEMA_KEYS):
            return name, set(props)  # JSON Schema / BFCL
        return name, set(params)  # Needle flat {param: {...}}
    if isinstance(params, list):
        names = {p["name"] for p in params if isinstance(p, dict) and isinstance(p.get("name"), str)}
        return name, names
    return name, None


class _Schema:
    def __init__(self, tools: list):
        self.exact: dict[str, set[str] | None] = {}
        self.loose: dict[str, set[str] | None] = {}
        for t in tools:
            name, params = _schema_params(t)
            if name:
                self.exact[name] = params
                self.loose.setdefault(_loose(name), params)

    def params(self, name: str) -> set[str] | None:
        """Parameter names of the offered tool ``name`` (None when the tool was not offered / has no readable schema)."""
        if name in self.exact:
            return self.exact[name]
        return self.loose.get(_loose(name))


# ----------------------------------------------------------------------------------------------- comparison
def _norm(v: Any) -> Any:
    """Hashable canonical form; two values are equal iff their forms are equal (see module docstring)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("num", v)  # 5 == 5.0 and hash(5) == hash(5.0)
    if isinstance(v, str):
        return ("str", v.strip())
    if v is None:
        return ("null",)
    if isinstance(v, (list, tuple)):
        return ("list", tuple(_norm(x) for x in v))
    if isinstance(v, dict):
        return ("obj", tuple(sorted((str(k), _norm(x)) for k, x in v.items())))
    return ("other", repr(v))


def values_equal(a: Any, b: Any) -> bool:
    """Argument value equality used by every metric: JSON equality, but ``5 == 5.0``, strings compared after strip
    (case-sensitive), ``"5" != 5``, ``True != 1``; lists compare in order, objects by key."""
    return _norm(a) == _norm(b)


def _call_key(call: dict) -> tuple:
    return call["name"], _norm(call["arguments"])


def _agreement(p: dict, r: dict) -> tuple[int, int]:
    pa, ra = p["arguments"], r["arguments"]
    equal = sum(1 for k in pa.keys() & ra.keys() if values_equal(pa[k], ra[k]))
    return equal, len(pa.keys() | ra.keys()) - equal


def _match(pred: list[dict], ref: list[dict]) -> list[tuple[int, int]]:
    """Pairs (pred index, ref index) of calls with the same tool name, each call used at most once.

    Identical calls are paired first; the rest, per name, greedily by most equal argument values (ties: fewest
    disagreeing keys, then order). The number of pairs per name is min(#pred, #ref) with that name."""
    pairs: list[tuple[int, int]] = []
    free_ref: dict[tuple, list[int]] = defaultdict(list)
    for j, r in enumerate(ref):
        free_ref[_call_key(r)].append(j)
    used_p, used_r = set(), set()
    for i, p in enumerate(pred):
        js = free_ref.get(_call_key(p))
        if js:
            j = js.pop(0)
            pairs.append((i, j))
            used_p.add(i)
            used_r.add(j)
    cands = []
    for i, p in enumerate(pred):
        if i in used_p:
            continue
        for j, r in enumerate(ref):
            if j not in used_r and r["name"] == p["name"]:
                equal, differ = _agreement(p, r)
                cands.append((-equal, differ, i, j))
    for _, _, i, j in sorted(cands):
        if i not in used_p and j not in used_r:
            pairs.append((i, j))
            used_p.add(i)
            used_r.add(j)
    return sorted(pairs)


def call_type(reference: Any, tools: Any = None) -> str:
    """Category of an example, decided by its reference: ``no_call``, ``single``, ``multiple`` or ``parallel``
    (see module docstring). ``tools`` is the example's tool list (JSON string or list) or None."""
    calls = reference if isinstance(reference, list) else _parse_reference(reference, 0)
    if not calls:
        return "no_call"
    if len(calls) >= 2:
        return "parallel"
    offered = _parse_tools(tools, 0)
    return "multiple" if offered is not None and len(offered) >= 2 else "single"


def _num_tools_bucket(k: int) -> str:
    return "10+" if k >= 10 else str(k)


# ----------------------------------------------------------------------------------------------- scoring
_COUNT_FIELDS = ("n", "n_unparseable", "n_pred_calls", "n_ref_calls", "n_pred_no_call", "n_ref_no_call",
                 "n_name_matched", "n_matched_keys", "n_checked_pred_keys", "n_matched_ref_keys")
# each rate's denominator, as counts: a rate is undefined (reported 0.0) where they sum to 0
DENOMINATORS = {
    "exact_match": ("n",), "json_parse_rate": ("n",),
    "name_precision": ("n_pred_calls",), "name_recall": ("n_ref_calls",), "name_f1": ("n_pred_calls", "n_ref_calls"),
    "call_precision": ("n_pred_calls",), "call_recall": ("n_ref_calls",), "call_f1": ("n_pred_calls", "n_ref_calls"),
    "argument_accuracy": ("n_name_matched",), "value_accuracy": ("n_matched_keys",),
    "hallucinated_param_rate": ("n_checked_pred_keys",), "missing_param_rate": ("n_matched_ref_keys",),
    "no_call_precision": ("n_pred_no_call",), "no_call_recall": ("n_ref_no_call",),
    "no_call_f1": ("n_pred_no_call", "n_ref_no_call"),
}


def _score_example(prediction: Any, ref: list[dict], schema: _Schema | None) -> dict:
    pred, _ = _parse(prediction)
    parsed = pred is not None
    pred = pred or []
    pairs = _match(pred, ref)
    rec = {
        "n": 1,
        "n_unparseable": 0 if parsed else 1,
        "exact": int(parsed and Counter(map(_call_key, pred)) == Counter(map(_call_key, ref))),
        "n_pred_calls": len(pred),
        "n_ref_calls": len(ref),
        "n_pred_no_call": int(parsed and not pred),
        "n_ref_no_call": int(not ref),
        "no_call_tp": int(parsed and not pred and not ref),
        "name_tp": len(pairs),
        "call_tp": 0,
        "n_name_matched": len(pairs),
        "args_equal": 0,
        "n_matched_keys": 0,
        "values_equal": 0,
        "halluc_keys": 0,
        "n_checked_pred_keys": 0,
        "missing_keys": 0,
        "n_matched_ref_keys": 0,
    }
    ref_of = dict(pairs)
    for i, j in pairs:
        pa, ra = pred[i]["arguments"], ref[j]["arguments"]
        same = values_equal(pa, ra)
        rec["call_tp"] += int(same)
        rec["args_equal"] += int(same)
        common = pa.keys() & ra.keys()
        rec["n_matched_keys"] += len(common)
        rec["values_equal"] += sum(1 for k in common if values_equal(pa[k], ra[k]))
        rec["missing_keys"] += len(ra.keys() - pa.keys())
        rec["n_matched_ref_keys"] += len(ra)
    for i, p in enumerate(pred):
        if schema is not None:
            allowed = schema.params(p["name"])
        else:
            allowed = set(ref[ref_of[i]]["arguments"]) if i in ref_of else None
        if allowed is None:
            continue
        rec["n_checked_pred_keys"] += len(p["arguments"])
        rec["halluc_keys"] += len(p["arguments"].keys() - allowed)
    return rec


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _aggregate(records: list[dict]) -> dict:
    s: Counter = Counter()
    for r in records:
        s.update(r)
    n = s["n"]
    name_fp, name_fn = s["n_pred_calls"] - s["name_tp"], s["n_ref_calls"] - s["name_tp"]
    call_fp, call_fn = s["n_pred_calls"] - s["call_tp"], s["n_ref_calls"] - s["call_tp"]
    out: dict[str, Any] = {
        "exact_match": _ratio(s["exact"], n),
        "json_parse_rate": _ratio(n - s["n_unparseable"], n),
        "name_precision": _ratio(s["name_tp"], s["n_pred_calls"]),
        "name_recall": _ratio(s["name_tp"], s["n_ref_calls"]),
        "name_f1": _ratio(2 * s["name_tp"], 2 * s["name_tp"] + name_fp + name_fn),
        "call_precision": _ratio(s["call_tp"], s["n_pred_calls"]),
        "call_recall": _ratio(s["call_tp"], s["n_ref_calls"]),
        "call_f1": _ratio(2 * s["call_tp"], 2 * s["call_tp"] + call_fp + call_fn),
        "argument_accuracy": _ratio(s["args_equal"], s["n_name_matched"]),
        "value_accuracy": _ratio(s["values_equal"], s["n_matched_keys"]),
        "hallucinated_param_rate": _ratio(s["halluc_keys"], s["n_checked_pred_keys"]),
        "missing_param_rate": _ratio(s["missing_keys"], s["n_matched_ref_keys"]),
        "no_call_precision": _ratio(s["no_call_tp"], s["n_pred_no_call"]),
        "no_call_recall": _ratio(s["no_call_tp"], s["n_ref_no_call"]),
        "no_call_f1": _ratio(2 * s["no_call_tp"], s["n_pred_no_call"] + s["n_ref_no_call"]),
    }
    for k in _COUNT_FIELDS:
        out[k] = int(s[k])
    return out


def score_tool_calls(predictions: Sequence[str], references: Sequence[str], tools: Sequence[str] | None = None,
                     *, breakdown: bool = True) -> dict:
    """Score model outputs against reference answers.

    Args:
        predictions: model outputs, one string per example (JSON array of calls; see :func:`parse_prediction`).
        references: reference answers, JSON arrays of calls (``"[]"`` = no call). An invalid reference raises
            ``ValueError`` naming its index.
        tools: optional, each example's offered tools (JSON array of tool schemas in any accepted format, or None).
            Enables the ``multiple`` call type, the ``by_num_tools`` breakdown and schema-based hallucination checks.
        breakdown: add ``by_call_type`` (and ``by_num_tools``) sub-dicts with the same metrics per group.

    Returns:
        a dict of rates (floats rounded to 4 dp) and counts (ints); see the module docstring for definitions.
    """
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references; they must align")
    if tools is not None:
        tools = list(tools)
        if len(tools) != len(references):
            raise ValueError(f"got {len(tools)} tools entries for {len(references)} references; pass one tool list "
                             "per example (or None for the whole run)")
    records, types, buckets = [], [], []
    for i, (pred, ref) in enumerate(zip(predictions, references)):
        ref_calls = _parse_reference(ref, i)
        offered = _parse_tools(tools[i], i) if tools is not None else None
        schema = _Schema(offered) if offered is not None else None
        records.append(_score_example(pred, ref_calls, schema))
        types.append(call_type(ref_calls, offered))
        buckets.append(_num_tools_bucket(len(offered)) if offered is not None else None)
    result = _aggregate(records)
    if breakdown:
        result["by_call_type"] = {
            t: _aggregate([r for r, tt in zip(records, types) if tt == t]) for t in CALL_TYPES if t in types
        }
        if tools is not None:
            result["by_num_tools"] = {
                b: _aggregate([r for r, bb in zip(records, buckets) if bb == b]) for b in NUM_TOOLS_BUCKETS
                if b in buckets
            }
    return result


# ----------------------------------------------------------------------------------------------- explanations
def _dump(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def explain_failure(prediction: Any, reference: Any) -> str:
    """Why a prediction is wrong, as one line of ``"; "``-joined reasons; ``""`` when it is an exact match.

    Reasons: ``unparseable output: <why>``, ``predicted a call but none expected: <names>``,
    ``no call predicted: expected <names>``, ``wrong tool: expected X, got Y``, ``missing call: X``,
    ``extra call: Y``, ``wrong value for key 'k': expected 5, got 10``, ``missing argument 'k'``,
    ``unexpected argument 'k'``. Argument reasons are prefixed with ``<tool>: `` when the reference has several
    calls. ``reference`` must be valid (``ValueError`` otherwise).
    """
    ref = _parse_reference(reference, 0)
    pred, err = _parse(prediction)
    if pred is None:
        return f"unparseable output: {err}"
    if Counter(map(_call_key, pred)) == Counter(map(_call_key, ref)):
        return ""
    if not ref:
        return "predicted a call but none expected: " + ", ".join(c["name"] for c in pred)
    if not pred:
        return "no call predicted: expected " + ", ".join(c["name"] for c in ref)
    pairs = _match(pred, ref)
    mp = {i for i, _ in pairs}
    mr = {j for _, j in pairs}
    extra = [c["name"] for i, c in enumerate(pred) if i not in mp]
    missing = [c["name"] for j, c in enumerate(ref) if j not in mr]
    reasons = [f"wrong tool: expected {m}, got {e}" for m, e in zip(missing, extra)]
    reasons += [f"missing call: {m}" for m in missing[len(extra):]]
    reasons += [f"extra call: {e}" for e in extra[len(missing):]]
    for i, j in pairs:
        pa, ra = pred[i]["arguments"], ref[j]["arguments"]
        if values_equal(pa, ra):
            continue
        prefix = f"{ref[j]['name']}: " if len(ref) > 1 else ""
        for k in ra:
            if k not in pa:
                reasons.append(f"{prefix}missing argument '{k}'")
            elif not values_equal(pa[k], ra[k]):
                reasons.append(f"{prefix}wrong value for key '{k}': expected {_dump(ra[k])}, got {_dump(pa[k])}")
        reasons += [f"{prefix}unexpected argument '{k}'" for k in pa if k not in ra]
    return "; ".join(reasons)


# ----------------------------------------------------------------------------------------------- Trainer glue
def is_defined(metrics: dict, key: str) -> bool:
    """Whether rate `key` of a :func:`score_tool_calls` result (or one of its groups) has a non-zero denominator;
    True for keys without a known denominator (and for results made before the counts existed)."""
    counts = DENOMINATORS.get(key, ())
    if not counts or any(c not in metrics for c in counts):
        return True
    return sum(metrics[c] for c in counts) > 0


def flatten_metrics(metrics: dict, sep: str = "/", keys: Iterable[str] | None = None) -> dict[str, float | int]:
    """Flatten the nested result of :func:`score_tool_calls` into scalar entries.

    Top-level scalars keep their names; breakdowns become ``call_type/<type>/<metric>`` and
    ``num_tools/<bucket>/<metric>``, restricted to ``keys`` when given."""
    flat: dict[str, float | int] = {}
    keys = None if keys is None else set(keys)
    for k, v in metrics.items():
        if isinstance(v, dict):
            group = k[3:] if k.startswith("by_") else k
            for sub, vals in v.items():
                for mk, mv in vals.items():
                    if keys is None or mk in keys:
                        flat[f"{group}{sep}{sub}{sep}{mk}"] = mv
        else:
            flat[k] = v
    return flat


def _to_rows(x: Any) -> list[list[int]]:
    if hasattr(x, "tolist"):
        x = x.tolist()
    rows = [list(r.tolist() if hasattr(r, "tolist") else r) for r in x]
    for r in rows:
        if r and isinstance(r[0], (list, tuple, float)):
            raise ValueError("compute_metrics got logits, not generated token ids: set "
                             "Seq2SeqTrainingArguments(predict_with_generate=True)")
    return [[int(t) for t in r if t >= 0] for r in rows]  # drop -100 / negative padding


def make_compute_metrics(tokenizer: Any, *, tools: Sequence[str] | None = None,
                         references: Sequence[str] | None = None,
                         breakdown_keys: Iterable[str] | None = DEFAULT_BREAKDOWN_KEYS,
                         strip_prefix: str = "<tool_call>") -> Callable[[Any], dict]:
    """A ``compute_metrics(EvalPrediction) -> dict`` for ``Seq2SeqTrainer`` with ``predict_with_generate=True``.

    Generated ids (and label ids) are cleaned of values < 0 (the Trainer's -100 padding), decoded with
    ``skip_special_tokens=True`` and no whitespace clean-up, stripped of a leading ``strip_prefix`` (in case
    ``<tool_call>`` is not registered as special), and scored with :func:`score_tool_calls`.

    Args:
        tokenizer: anything with ``batch_decode`` (a fast tokenizer).
        tools: optional per-example tool lists, aligned with the eval dataset's order (the Trainer keeps it).
        references: optional reference answer strings aligned with the eval dataset; used instead of decoding
            ``label_ids`` (decoding is lossless for the byte-level tokenizer, so this is only needed for others).
        breakdown_keys: which metrics to report per call type / #tools (flattened as ``call_type/<type>/<metric>``);
            ``None`` reports all of them, ``()`` none.
    """
    breakdown_keys = None if breakdown_keys is None else tuple(breakdown_keys)

    def _decode(ids: list[list[int]]) -> list[str]:
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        out = []
        for t in texts:
            t = t.strip()
            if strip_prefix and t.startswith(strip_prefix):
                t = t[len(strip_prefix):].strip()
            out.append(t)
        return out

    def compute_metrics(eval_pred: Any) -> dict:
        preds = eval_pred.predictions
        if isinstance(preds, tuple):
            preds = preds[0]
        pred_texts = _decode(_to_rows(preds))
        if references is not None:
            refs = list(references)
        else:
            if eval_pred.label_ids is None:
                raise ValueError("no label_ids in the EvalPrediction: pass references=... to make_compute_metrics")
            refs = _decode(_to_rows(eval_pred.label_ids))
        if len(refs) != len(pred_texts):
            raise ValueError(f"{len(pred_texts)} predictions but {len(refs)} references: pass references/tools "
                             "aligned with the whole eval dataset")
        result = score_tool_calls(pred_texts, refs, tools=tools, breakdown=breakdown_keys != ())
        return flatten_metrics(result, keys=breakdown_keys)

    return compute_metrics


# ----------------------------------------------------------------------------------------------- evaluate glue
def metric_path() -> str:
    """Absolute path of the ``evaluate`` module folder: ``evaluate.load(metric_path())`` works offline."""
    return str(Path(__file__).resolve().parent / "tool_call_accuracy")


def load_metric(**kwargs: Any):
    """``evaluate.load(metric_path(), **kwargs)`` (``config_name="with_tools"`` makes ``tools`` a batched input)."""
    import evaluate  # optional dependency (extra "train")

    return evaluate.load(metric_path(), **kwargs)
