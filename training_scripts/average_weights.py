"""Weighted average of the weights of Needle model folders of one architecture (a "model soup").

    python training_scripts/average_weights.py --out runs/soup \
        needle_hf/models/needle-micro:1 runs/default/model6:1

The output folder is a copy of the first folder (config, tokenizer, remote code) with model.safetensors replaced by
the average, weighted by the numbers after the colons (default 1), and a new card naming the sources (the first
folder's card and its metrics do not describe the average: evaluate it with `needle-hf eval`). Averaging only makes sense for models
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
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no such folder")
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


def card(name: str, sources: list[tuple[Path, float]]) -> str:
    parts = "\n".join(f"- `{folder}` (weight {w:g})" for folder, w in sources)
    return (f"---\nlibrary_name: transformers\npipeline_tag: text2text-generation\ntags:\n- needle\n- tool-calling\n"
            f"---\n\n# {name}\n\nWeighted average of the weights of these Needle models "
            f"(`training_scripts/average_weights.py`):\n\n{parts}\n\nNot evaluated yet: measure it with "
            f"`needle-hf eval --model <this folder> --data <rows>` before using it.\n")


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
    # the first folder's card and training records describe that model, not the average
    skip = ("checkpoint-*", "prepared", "*.pt", "*.pth", "README.md", "training_summary.json", "needle_training.json")
    shutil.copytree(sources[0][0], out, ignore=shutil.ignore_patterns(*skip))
    save_file(state, str(out / WEIGHTS), metadata={"format": "pt"})
    (out / "README.md").write_text(card(out.name, sources), encoding="utf-8")
    print(f"wrote {out / WEIGHTS}: " + " + ".join(f"{w:g} x {f}" for f, w in sources))
    return 0


if __name__ == "__main__":
    sys.exit(main())
