"""Evaluate a Needle model on rows {query, tools, answers}: generate with the pipeline, score, explain failures.

Predictions are the model's raw answer text (snake_case names, as generated), so the metric sees exactly what the
model wrote; references are the rows' answers with names snake-cased the same way.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterable, Sequence

from tqdm.auto import tqdm

from ..modeling.pipeline_tool_calling import ToolCallingPipeline
from ..tools import answers_to_text, parse_calls, parse_tools, to_snake_case, tool_to_dict
from .metrics import explain_failure, is_defined, score_tool_calls

HEADLINE = ("exact_match", "json_parse_rate", "name_f1", "call_f1", "argument_accuracy", "value_accuracy",
            "hallucinated_param_rate", "missing_param_rate", "no_call_precision", "no_call_recall")


def _reference(row: dict) -> str:
    calls = parse_calls(row["answers"]) if isinstance(row["answers"], str) else row["answers"]
    return answers_to_text([{"name": to_snake_case(c["name"]), "arguments": c.get("arguments", {})} for c in calls])


def evaluate_rows(model, tokenizer, rows: Sequence[dict], constrained: bool = True, batch_size: int = 16,
                  max_new_tokens: int = 256, num_failures: int = 20, seed: int = 0, progress: bool = True,
                  copy_strings: bool | None = None, num_beams: int = 1, keep_predictions: bool = False,
                  top_k_tools: int | None = None) -> dict:
    """Generate answers for `rows` and score them. Returns {"metrics", "n", "constrained", "copy_strings",
    "num_beams", "top_k_tools", "failures"} (+ "predictions", every row's answer text, with `keep_predictions`).
    `copy_strings` (copy mode of constrained decoding): None takes the model's `config.copy_strings`; True with
    `constrained=False` is an error (copy mode is part of the grammar). `num_beams` > 1: beam search instead of
    greedy decoding. `top_k_tools`: each row keeps only the k tools the retrieval head ranks best before decoding
    (the pipeline's option; scores still count a dropped tool that the reference calls as missed)."""
    if num_beams < 1:
        raise ValueError(f"num_beams must be at least 1 (1 = greedy decoding), got {num_beams}")
    if copy_strings and not constrained:
        raise ValueError("copy mode (--copy-strings / copy_strings=True) is part of constrained decoding; drop it or "
                         "drop unconstrained decoding (--no-constrained / constrained=False)")
    if copy_strings is None:
        copy_strings = bool(getattr(model.config, "copy_strings", False))
    copy_strings = bool(copy_strings and constrained)  # copy mode is part of the grammar
    pipe = ToolCallingPipeline(model=model, tokenizer=tokenizer)
    was_training = model.training
    model.eval()
    predictions, references, tools_texts = [], [], []
    bar = tqdm(total=len(rows), desc="evaluating", unit=" rows", disable=not progress)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        outputs = pipe([r["query"] for r in chunk], tools=[parse_tools(r["tools"]) for r in chunk],
                       constrained=constrained, copy_strings=copy_strings, max_new_tokens=max_new_tokens,
                       num_beams=num_beams, top_k_tools=top_k_tools, return_text=True, batch_size=batch_size)
        for row, out in zip(chunk, outputs):
            predictions.append(out["text"])
            references.append(_reference(row))
            tools_texts.append(json.dumps([tool_to_dict(t) for t in parse_tools(row["tools"])], ensure_ascii=False))
        bar.update(len(chunk))
    bar.close()
    model.train(was_training)
    metrics = score_tool_calls(predictions, references, tools=tools_texts)
    wrong = [i for i, (p, r) in enumerate(zip(predictions, references)) if explain_failure(p, r)]
    sample = sorted(random.Random(seed).sample(wrong, min(num_failures, len(wrong))))
    failures = [{"query": rows[i]["query"], "expected": references[i], "predicted": predictions[i],
                 "reason": explain_failure(predictions[i], references[i])} for i in sample]
    report = {"metrics": metrics, "n": len(rows), "constrained": constrained, "copy_strings": copy_strings,
              "num_beams": num_beams, "top_k_tools": top_k_tools, "num_failures": len(wrong), "failures": failures}
    if keep_predictions:
        report["predictions"] = predictions
    return report


def metrics_table(report: dict, keys: Iterable[str] = HEADLINE) -> str:
    """Markdown table: overall + one row per call type and per number of tools offered."""
    keys = list(keys)
    m = report["metrics"]
    lines = ["| group | n | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]

    def row(name: str, values: dict) -> str:
        cells = [f"{values.get(k, 0):.3f}" if is_defined(values, k) else "-" for k in keys]  # "-": no denominator
        return f"| {name} | {values.get('n', '')} | " + " | ".join(cells) + " |"

    lines.append(row("all", m))
    for group, values in m.get("by_call_type", {}).items():
        lines.append(row(f"call type: {group}", values))
    for group, values in m.get("by_num_tools", {}).items():
        lines.append(row(f"tools offered: {group}", values))
    return "\n".join(lines)


def decoding_name(report: dict) -> str:
    """How a report's answers were decoded, e.g. "constrained (copy mode) decoding with 4 beams"."""
    mode = "constrained" if report["constrained"] else "unconstrained"
    if report.get("copy_strings"):
        mode += " (copy mode)"
    mode += " decoding"
    if report.get("num_beams", 1) > 1:
        mode += f" with {report['num_beams']} beams"
    if report.get("top_k_tools"):
        mode += f", the {report['top_k_tools']} best-ranked tools per request"
    return mode


def report_markdown(report: dict, title: str = "Tool-call evaluation") -> str:
    parts = [f"# {title}", f"{report['n']} rows, {decoding_name(report)}; {report['num_failures']} not exactly "
             "right.", ""]
    if report.get("model"):  # written by `needle-hf eval`
        backend = report.get("backend", "torch") + (f", {report['quantization']}" if report.get("quantization") else "")
        rows = ([f"split {report['split']}"] if report.get("split") else []) + \
            ([f"first {report['limit']} rows"] if report.get("limit") else [])
        parts += [f"Model `{report['model']}` ({backend}); data `{report['data']}` ({', '.join(rows) or 'every row'}).",
                  ""]
    parts += [metrics_table(report), "", "## Sample of failures", ""]
    for f in report["failures"]:
        parts.append(f"- **{f['reason']}** — query: `{f['query']}`  \n  expected `{f['expected']}`  \n"
                     f"  predicted `{f['predicted']}`")
    return "\n".join(parts) + "\n"


def write_reports(report: dict, out: str | Path) -> tuple[Path, Path]:
    """Write `out` (JSON) and the same name with .md (markdown). Returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = out.with_suffix(".md")
    md.write_text(report_markdown(report), encoding="utf-8")
    return out, md


def load_eval_rows(data: str, split: str | None = None, limit: int | None = None,
                   default_split: str = "test") -> list[dict[str, Any]]:
    """Rows from a JSONL file, a dataset folder (parquet + card, as saved by save_dataset) or a Hub dataset id;
    `split` (None: `default_split`) picks the split of a dataset and is an error for a JSONL file (it has none)."""
    from ..data.io import load_rows

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 (or None for every row), got {limit}")
    path = Path(data)
    if path.suffix == ".jsonl" or path.is_file():
        if split is not None:
            raise ValueError(f"{data} is a JSONL file, which has no splits; drop --split {split} (or pass a dataset "
                             "folder / Hub dataset)")
        rows = list(load_rows(path))
    else:
        split = split or default_split
        import datasets

        from ..inference import require_local_or_hub_id

        require_local_or_hub_id(data, "dataset folder or JSONL file")
        try:
            dsd = datasets.load_dataset(str(path) if path.exists() else data)
        except Exception as err:  # datasets raises many types; the user needs the name and the reason
            local = "" if path.exists() else f" (and there is no local folder {data!r})"
            raise ValueError(f"cannot load dataset {data!r}{local}: {str(err).splitlines()[0]}") from None
        if split not in dsd:
            raise ValueError(f"dataset {data!r} has no split {split!r}; it has {', '.join(dsd)}")
        table = dsd[split]
        if limit is not None:  # convert only the rows evaluated (test_unseen_tools has 16,000)
            table = table.select(range(min(limit, len(table))))
        rows = [dict(r) for r in table]
    return rows[:limit] if limit is not None else rows
