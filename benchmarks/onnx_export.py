"""ONNX export of Needle: accuracy and speed against torch on CPU (results in benchmarks/onnx_export.md).

    python benchmarks/onnx_export.py --data runs/default/dataset --limit 600

(a) Accuracy: the shipped model (`needle_hf.DEFAULT_MODEL`) exported with `needle_hf.onnx_export.export_onnx`, fp32
    and INT8 (`int8=True`), evaluated with the eval runner exactly like torch (constrained decoding in copy mode, the
    model's default, greedy, batch `--batch-size`) on the first `--limit` rows of `test` and `test_unseen_tools`.
    "same answers" counts rows whose answer text is character-for-character torch's.
(b) Speed, batch 1, fp32 torch vs ONNX Runtime fp32 / INT8, median of `--repeats` after a warm-up:
    - shipped model: a full pipeline call (tokenise, grammar, decode, parse) on `--speed-rows` test rows, one at a
      time; the table gives the median per request and generated tokens per second over all rows;
    - the released 26M architecture (`NeedleConfig()`, random weights): the encoder on `--enc-len` tokens (prefill
      tokens/s) and `--steps` decoder steps with the KV cache (decode tokens/s), torch's manual loop
      (model(..., cache=cache) + argmax) against ONNX Runtime's decoder graph with the cache fed back.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import needle_hf
from needle_hf.evaluation.runner import evaluate_rows, load_eval_rows
from needle_hf.inference import load_pipeline
from needle_hf.onnx_export import export_onnx
from needle_hf.onnx_runner import OnnxNeedleModel

from inference import median_time  # benchmarks/inference.py (this script's folder is on sys.path)

KEYS = ("exact_match", "json_parse_rate", "call_f1", "value_accuracy", "no_call_recall")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.onnx*")) / 1e6


def accuracy(backends: dict, data: str, limit: int, batch_size: int) -> list[dict]:
    results = []
    for split in ("test", "test_unseen_tools"):
        rows = load_eval_rows(data, split=split, limit=limit)
        reference = None
        for name, pipe in backends.items():
            start = time.perf_counter()
            report = evaluate_rows(pipe.model, pipe.tokenizer, rows, batch_size=batch_size, keep_predictions=True)
            seconds = time.perf_counter() - start
            reference = reference or report["predictions"]  # torch comes first
            same = sum(a == b for a, b in zip(report["predictions"], reference))
            results.append({"split": split, "backend": name, "n": report["n"], "seconds": round(seconds, 1),
                            "same": same, **{k: report["metrics"][k] for k in KEYS}})
            print(split, name, {k: round(report["metrics"][k], 4) for k in KEYS}, f"same {same}", f"{seconds:.0f} s",
                  flush=True)
    return results


def pipeline_speed(backends: dict, data: str, n_rows: int, repeats: int) -> dict:
    rows = load_eval_rows(data, split="test", limit=n_rows)
    out = {}
    for name, pipe in backends.items():
        per_request, tokens, seconds = [], 0, 0.0
        for row in rows:
            call = lambda: pipe(row["query"], tools=row["tools"], return_text=True)  # noqa: E731
            per_request.append(median_time(call, repeats))
            tokens += len(pipe.tokenizer(call()["text"], add_special_tokens=False)["input_ids"]) + 2  # + <tool_call>, EOS
            seconds += per_request[-1]
        out[name] = {"median_ms": 1000 * statistics.median(per_request), "tokens_per_s": tokens / seconds}
        print("pipeline", name, out[name], flush=True)
    return out


def graph_speed(enc_len: int, steps: int, repeats: int, work: Path) -> dict:
    from needle_hf import NeedleConfig, NeedleForConditionalGeneration
    from needle_hf.tokenization import load_tokenizer

    torch.manual_seed(0)
    model = NeedleForConditionalGeneration(NeedleConfig()).eval()
    n_params = sum(p.numel() for p in model.parameters())
    tokenizer = load_tokenizer(needle_hf.DEFAULT_MODEL)  # any Needle tokenizer: only the folder needs one
    results = {"params": n_params}
    ids = torch.randint(6, model.config.vocab_size, (1, enc_len))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        enc = model.get_encoder()(input_ids=ids, attention_mask=mask)
        t_prefill = median_time(lambda: model.get_encoder()(input_ids=ids, attention_mask=mask), repeats)

        def torch_decode():
            from transformers.cache_utils import DynamicCache, EncoderDecoderCache

            cache, token = EncoderDecoderCache(DynamicCache(), DynamicCache()), torch.tensor([[1]])
            for _ in range(steps):
                out = model(encoder_outputs=enc, attention_mask=mask, decoder_input_ids=token, cache=cache,
                            use_cache=True)
                token = out.logits[:, -1:].argmax(-1)

        t_decode = median_time(torch_decode, repeats)
    results["torch"] = {"prefill_tok_s": enc_len / t_prefill, "decode_tok_s": steps / t_decode}
    for int8 in (False, True):
        name = "onnx_int8" if int8 else "onnx_fp32"
        folder = work / f"needle26m_{name}"
        start = time.perf_counter()
        export_onnx(model, folder, tokenizer=tokenizer, int8=int8)
        export_s = time.perf_counter() - start
        runner = OnnxNeedleModel(folder)
        ids_np, mask_np = ids.numpy(), mask.numpy()
        t_prefill = median_time(lambda: runner.encode(ids_np, mask_np), repeats)
        cross = runner.encode(ids_np, mask_np)

        def onnx_decode():
            past, token = runner.empty_past(1), np.array([[1]])
            for _ in range(steps):
                logits, past = runner.decode(token, mask_np, cross, past)
                token = logits[:, -1:].argmax(-1)

        t_decode = median_time(onnx_decode, repeats)
        results[name] = {"prefill_tok_s": enc_len / t_prefill, "decode_tok_s": steps / t_decode,
                         "export_s": export_s, "mb": folder_mb(folder)}
        print("26m", name, results[name], flush=True)
    return results


def machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")),
               platform.processor())
    import onnxruntime

    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads; torch {torch.__version__}, "
            f"onnxruntime {onnxruntime.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="dataset folder with test and test_unseen_tools splits")
    ap.add_argument("--limit", type=int, default=600, help="rows per split for accuracy")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--speed-rows", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--enc-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--out", default="benchmarks/onnx_export.md")
    args = ap.parse_args()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exports = {}
        for int8 in (False, True):
            start = time.perf_counter()
            result = export_onnx(needle_hf.DEFAULT_MODEL, work / ("int8" if int8 else "fp32"), int8=int8)
            exports["onnx_int8" if int8 else "onnx_fp32"] = {"export_s": time.perf_counter() - start,
                                                             "mb": folder_mb(result.out_dir),
                                                             "check": result.manifest["check"]}
        backends = {"torch": load_pipeline(), "onnx_fp32": load_pipeline(str(work / "fp32")),
                    "onnx_int8": load_pipeline(str(work / "int8"))}
        acc = accuracy(backends, args.data, args.limit, args.batch_size)
        speed = pipeline_speed(backends, args.data, args.speed_rows, args.repeats)
        big = graph_speed(args.enc_len, args.steps, args.repeats, work)

    torch_mb = Path(needle_hf.DEFAULT_MODEL, "model.safetensors").stat().st_size / 1e6
    lines = [
        "# ONNX export: accuracy and speed against torch",
        "",
        f"Measured {date} on {machine()}.",
        f"Command: `python benchmarks/onnx_export.py --data {args.data} --limit {args.limit}` (what each figure means: "
        "the script's docstring).",
        "",
        f"## Shipped model ({Path(needle_hf.DEFAULT_MODEL).name}), constrained decoding in copy mode, greedy",
        "",
        "| split | backend | n | same answers as torch | " + " | ".join(KEYS) + " | eval time (s) |",
        "|" + "---|" * (len(KEYS) + 5),
    ]
    for r in acc:
        agree = "-" if r["backend"] == "torch" else f"{r['same']} / {r['n']}"
        lines.append(f"| {r['split']} | {r['backend']} | {r['n']} | {agree} | "
                     + " | ".join(f"{r[k]:.3f}" for k in KEYS) + f" | {r['seconds']} |")
    lines += ["", "| backend | weights (MB) | export (s) | parity check at export | pipeline, median per request "
              f"(ms, {args.speed_rows} test rows, batch 1) | generated tokens/s |", "|---|---|---|---|---|---|",
              f"| torch | {torch_mb:.1f} (safetensors) | - | - | {speed['torch']['median_ms']:.1f} | "
              f"{speed['torch']['tokens_per_s']:.0f} |"]
    for name, e in exports.items():
        check = e["check"]
        lines.append(f"| {name} | {e['mb']:.1f} | {e['export_s']:.0f} | max diff {check['max_abs_diff']:.1e}, same "
                     f"greedy tokens: {check['greedy_tokens_match']} | {speed[name]['median_ms']:.1f} | "
                     f"{speed[name]['tokens_per_s']:.0f} |")
    lines += ["", f"## The released 26M architecture (random weights, {big['params']:,} parameters), batch 1",
              "", f"| backend | weights (MB) | export (s) | prefill tokens/s ({args.enc_len} tokens) | decode tokens/s "
              f"({args.steps} steps, KV cache) |", "|---|---|---|---|---|",
              f"| torch fp32 | {big['params'] * 4 / 1e6:.0f} | - | {big['torch']['prefill_tok_s']:.0f} | "
              f"{big['torch']['decode_tok_s']:.0f} |"]
    for name in ("onnx_fp32", "onnx_int8"):
        b = big[name]
        lines.append(f"| {name} | {b['mb']:.0f} | {b['export_s']:.0f} | {b['prefill_tok_s']:.0f} | "
                     f"{b['decode_tok_s']:.0f} |")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
