"""Weighted average of the weights of Needle model folders of one architecture (a "model soup").

    python training_scripts/average_weights.py --out runs/soup \
        needle_hf/models/needle-micro:1 runs/default/model6:1

The output folder is a copy of the first folder (config, tokenizer, remote code, card) with model.safetensors
replaced by the average, weighted by the numbers after the colons (default 1). Averaging only makes sense for models
trained from one another (a continued run and its start, or checkpoints of one run); benchmarks/default_model.md
records what it gave the shipped model.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

WEIGHTS = "model.safetensors"


def parse_source(text: str) -> tuple[Path, float]:
    path, _, weight = text.rpartition(":") if ":" in text else (text, "", "1")
    try:
        w = float(weight)
    except ValueError:
        raise SystemExit(f"{text}: expected FOLDER or FOLDER:WEIGHT with a number after the colon") from None
    if w <= 0:
        raise SystemExit(f"{text}: the weight must be positive")
    folder = Path(path)
    if not (folder / WEIGHTS).is_file():
        raise SystemExit(f"{folder}: no {WEIGHTS} in this folder")
    return folder, w


def average(sources: list[tuple[Path, float]]) -> dict:
    total, acc, first = sum(w for _, w in sources), None, sources[0][0]
    for folder, w in sources:
        state = load_file(str(folder / WEIGHTS))
        if acc is None:
            acc = {k: v.float() * w for k, v in state.items()}
            dtypes = {k: v.dtype for k, v in state.items()}
            continue
        if state.keys() != acc.keys():
            raise SystemExit(f"{folder}: its tensors differ from {first}'s (names: "
                             f"{sorted(state.keys() ^ acc.keys())[:5]}); average models of one architecture")
        for k, v in state.items():
            if v.shape != acc[k].shape:
                raise SystemExit(f"{folder}: {k} has shape {tuple(v.shape)}, {first} has {tuple(acc[k].shape)}")
            acc[k] += v.float() * w
    return {k: (v / total).to(dtypes[k]) for k, v in acc.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", nargs="+", help="FOLDER[:WEIGHT] (at least two)")
    ap.add_argument("--out", required=True, help="output model folder (must not exist)")
    args = ap.parse_args(argv)
    if len(args.sources) < 2:
        ap.error("give at least two model folders")
    sources = [parse_source(s) for s in args.sources]
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out}: already exists; pick a new folder")
    state = average(sources)
    shutil.copytree(sources[0][0], out, ignore=shutil.ignore_patterns("checkpoint-*", "prepared", "*.pt", "*.pth"))
    save_file(state, str(out / WEIGHTS), metadata={"format": "pt"})
    print(f"wrote {out / WEIGHTS}: " + " + ".join(f"{w:g} x {f}" for f, w in sources))
    return 0


if __name__ == "__main__":
    sys.exit(main())
