"""Evaluate a trained Needle model on the offline generator's held-out splits; writes benchmarks/default_model_tables.md
and benchmarks/default_model_eval.json (every report, with a sample of failures).

    python benchmarks/default_model.py --model needle_hf/models/needle-micro --data runs/default/dataset --limit 300

Rows: `test` (tools seen in training) and `test_unseen_tools` (tool names never in train); modes: constrained
decoding without copy mode, `copy` (constrained, free-text string arguments copied from the request), unconstrained,
constrained with INT4 fake-quantised attention projections, without (`int4`) and with copy mode (`int4_copy`), and
copy mode with 4-beam search (`copy_beams4`, 4x the decoding cost).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from needle_hf.evaluation.runner import evaluate_rows, load_eval_rows, metrics_table
from needle_hf.inference import load_pipeline
from needle_hf.training.quant import fake_quant

KEYS = ("exact_match", "json_parse_rate", "name_f1", "call_f1", "argument_accuracy", "value_accuracy",
        "no_call_precision", "no_call_recall")


MODES = ("constrained", "copy", "unconstrained", "int4", "int4_copy", "copy_beams4")


def run(model, tokenizer, rows, mode: str, batch_size: int) -> dict:
    quantised = fake_quant(model, bits=4) if mode.startswith("int4") else contextlib.nullcontext()
    with quantised:
        return evaluate_rows(model, tokenizer, rows, constrained=(mode != "unconstrained"),
                             copy_strings=mode in ("copy", "int4_copy", "copy_beams4"),
                             num_beams=4 if mode == "copy_beams4" else 1, batch_size=batch_size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="dataset folder with test and test_unseen_tools splits")
    ap.add_argument("--limit", type=int, default=300, help="rows per split")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--out", default="benchmarks/default_model_eval.json")
    args = ap.parse_args()

    pipe = load_pipeline(args.model)
    model, tok = pipe.model, pipe.tokenizer
    results, details = {}, {}
    for split in ("test", "test_unseen_tools"):
        rows = load_eval_rows(args.data, split=split, limit=args.limit)
        for mode in args.modes:
            start = time.perf_counter()
            report = run(model, tok, rows, mode, args.batch_size)
            report["seconds"] = round(time.perf_counter() - start, 1)
            results[(split, mode)] = report
            details[f"{split}/{mode}"] = report
            print(split, mode, {k: report["metrics"][k] for k in KEYS}, f"{report['seconds']} s", flush=True)
    Path(args.out).write_text(json.dumps(details, indent=2, ensure_ascii=False) + "\n")

    lines = ["| split | decoding | n | " + " | ".join(KEYS) + " |", "|" + "---|" * (len(KEYS) + 3)]
    for (split, mode), rep in results.items():
        m = rep["metrics"]
        lines.append(f"| {split} | {mode} | {rep['n']} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")
    cpu = subprocess.run("lscpu | grep 'Model name' | cut -d: -f2", shell=True, capture_output=True,
                         text=True).stdout.strip()
    header = (f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cpu or platform.processor()} "
              f"({torch.get_num_threads()} threads), torch {torch.__version__}.\n"
              f"Command: `python benchmarks/default_model.py --model {args.model} --data {args.data} "
              f"--limit {args.limit}`\n")
    per_category = "\n\n".join(f"### {split}, {mode}\n\n{metrics_table(results[(split, mode)])}"
                               for split in ("test", "test_unseen_tools") for mode in ("constrained", "copy")
                               if (split, mode) in results)
    Path("benchmarks/default_model_tables.md").write_text(header + "\n" + "\n".join(lines) + "\n\n"
                                                          + per_category + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
