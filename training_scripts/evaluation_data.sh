#!/usr/bin/env bash
# Rebuilds the phase-1 dataset of the shipped default model (train 57,600 / validation 3,200 / test 3,200 /
# test_unseen_tools 16,000) row for row: its evaluation splits are those of benchmarks/default_model.md.
#   training_scripts/evaluation_data.sh [OUT]      (default runs/default; writes OUT/data.jsonl and OUT/dataset)
# ~1.5 min on 2 cores. The rows come from the generator of commit 6d33e27 (generate_at_commit.sh); the checksum
# below is that of the file the shipped model was trained and evaluated on (its tokenizer, trained on the first
# 30,000 train rows, comes out merge for merge the same, and so do the rows in default_model_eval.json).
set -euo pipefail
OUT=${1:-${OUT:-runs/default}}
here=$(dirname "$0")
mkdir -p "$OUT"
"$here/generate_at_commit.sh" 6d33e27 --out "$OUT/data.jsonl" --num-samples 80000 --seed 0 --no-progress
expected=2c1853e28aa6fb507f7bfca90eb15ada9879fd3b2dfa4128e425eea9146c272c
actual=$(python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$OUT/data.jsonl")
if [ "$actual" != "$expected" ]; then
    echo "evaluation_data.sh: $OUT/data.jsonl has sha256 $actual, not the recorded $expected;" \
         "the rows differ from the shipped model's data (see benchmarks/default_model.md)" >&2
    exit 1
fi
needle-hf split-data "$OUT/data.jsonl" --out "$OUT/dataset" --seed 0
