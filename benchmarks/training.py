"""Training benchmarks for Needle (results in benchmarks/training.md).

1. Throughput (default): full training steps (forward, class-weighted CE + z-loss, backward, grad clipping,
   Muon+AdamW step) on random token batches of fixed shape, per preset and dtype (fp32, bf16 autocast)::

       python benchmarks/training.py --presets needle-tiny needle-mini needle-26m --batch-size 8 \
           --enc-len 200 --dec-len 40 --steps 3

   Reports examples/s and tokens/s (encoder + decoder tokens per second). Vocab 8192 (the real tokenizer's size).

2. Learning-rate sweep (``--lr-sweep``): needle-tiny trained from scratch with ``needle_hf.training.train`` on
   offline-generated rows for ``--sweep-steps`` steps per (AdamW lr, Muon lr) pair; reports the last logged training
   loss (weighted text loss) and the validation loss.

The machine, thread count and date are printed with the results; use ``--json`` to write them to a file.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time


def _machine() -> dict:
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "cuda": torch.cuda.is_available(), "load_avg_1m_at_start": round(load[0], 2) if load else None}


def throughput(preset: str, dtype: str, batch: int, enc_len: int, dec_len: int, steps: int, warmup: int,
               vocab: int = 8192) -> dict:
    import torch

    from needle_hf import NeedleConfig, NeedleForConditionalGeneration
    from needle_hf.modeling.modeling_needle import shift_tokens_right
    from needle_hf.training.optim import build_muon_adamw
    from needle_hf.training.trainer import weighted_token_loss

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = NeedleForConditionalGeneration(NeedleConfig.from_preset(preset, vocab_size=vocab, dropout=0.1)).to(device)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    opt = build_muon_adamw(model, muon_lr=0.02, adam_lr=3e-4)
    weights = torch.tensor([1.0, 2.0, 4.0, 1.5], device=device)

    def batch_():
        ids = torch.randint(6, vocab, (batch, enc_len), device=device)
        labels = torch.randint(6, vocab, (batch, dec_len), device=device)
        classes = torch.randint(0, 4, (batch, dec_len), device=device)
        return ids, labels, classes

    def step(ids, labels, classes):
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=dtype == "bf16"):
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                        decoder_input_ids=shift_tokens_right(labels, 0, 1))
        wce, lse2, wsum, ntok = weighted_token_loss(out.logits, labels, weights[classes])
        loss = wce / wsum + 1e-4 * lse2 / ntok
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(warmup):
        step(*batch_())
    times = []
    for _ in range(steps):
        b = batch_()
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        step(*b)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    sec = statistics.median(times)
    return {"preset": preset, "dtype": dtype, "params": n_params, "batch": batch, "enc_len": enc_len,
            "dec_len": dec_len, "steps": steps, "sec_per_step": round(sec, 3),
            "examples_per_s": round(batch / sec, 2), "tokens_per_s": round(batch * (enc_len + dec_len) / sec, 1),
            "device": device}


def lr_sweep(pairs: list[tuple[float, float]], steps: int, rows: int, vocab: int, seed: int = 0) -> list[dict]:
    import logging
    import tempfile

    from needle_hf.data.offline import generate_rows
    from needle_hf.tokenization import corpus_from_rows, train_tokenizer
    from needle_hf.training import train

    logging.getLogger("needle_hf").setLevel(logging.ERROR)
    data = list(generate_rows(rows, seed=seed))
    validation = list(generate_rows(128, seed=seed + 1000))
    tok = train_tokenizer(corpus_from_rows(data), vocab_size=vocab)
    out = []
    for adam_lr, muon_lr in pairs:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            r = train(data, tmp, preset="needle-tiny", tokenizer=tok, eval_data=validation, learning_rate=adam_lr,
                      muon_lr=muon_lr, max_steps=steps, batch_size=16, logging_steps=max(1, steps // 10),
                      save_strategy="no", save_final=False, disable_tqdm=True, eval_quant_bits=0, seed=seed,
                      group_by_length=True)
            curve = [h["text"] for h in r.trainer.state.log_history if "text" in h]
            out.append({"adam_lr": adam_lr, "muon_lr": muon_lr, "steps": steps, "first_text_loss": curve[0],
                        "last_text_loss": curve[-1], "eval_loss": round(r.eval_metrics["eval_loss"], 4),
                        "sec": round(time.perf_counter() - t, 1)})
            print(json.dumps(out[-1]), flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["needle-tiny", "needle-mini", "needle-26m"])
    p.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--enc-len", type=int, default=200)
    p.add_argument("--dec-len", type=int, default=40)
    p.add_argument("--steps", type=int, default=3, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--lr-sweep", action="store_true", help="run the learning-rate sweep instead")
    p.add_argument("--sweep-steps", type=int, default=200)
    p.add_argument("--sweep-rows", type=int, default=2000)
    p.add_argument("--sweep-vocab", type=int, default=2048)
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    result = {"machine": _machine(), "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])}
    print(json.dumps(result["machine"]), flush=True)
    if args.lr_sweep:
        pairs = [(3e-4, 0.02), (1e-3, 0.02), (3e-3, 0.02), (1e-2, 0.02), (3e-3, 0.005), (3e-3, 0.05)]
        result["lr_sweep"] = lr_sweep(pairs, args.sweep_steps, args.sweep_rows, args.sweep_vocab)
    else:
        rows = []
        for preset in args.presets:
            for dtype in args.dtypes:
                rows.append(throughput(preset, dtype, args.batch_size, args.enc_len, args.dec_len, args.steps,
                                       args.warmup))
                print(json.dumps(rows[-1]), flush=True)
        result["throughput"] = rows
        print("\n| preset | params | dtype | batch | enc/dec | s/step | examples/s | tokens/s |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['preset']} | {r['params'] / 1e6:.1f}M | {r['dtype']} | {r['batch']} | "
                  f"{r['enc_len']}/{r['dec_len']} | {r['sec_per_step']} | {r['examples_per_s']} | "
                  f"{r['tokens_per_s']} |")
    result["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
