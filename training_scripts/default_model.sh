#!/usr/bin/env bash
# Reproduces the default model shipped in needle_hf/models/needle-micro (recipe and results: benchmarks/default_model.md).
# CPU only: about 1 hour on 2 cores (needle-micro, 3150 steps of batch 16 = 50k examples, ~0.9 epoch).
set -euo pipefail
OUT=${OUT:-runs/default}
mkdir -p "$OUT"
needle-hf generate-data --out "$OUT/data.jsonl" --num-samples 80000 --seed 0 --no-progress
needle-hf split-data "$OUT/data.jsonl" --out "$OUT/dataset" --seed 0
python - "$OUT" <<'PY'
import json, sys, datasets
out = sys.argv[1]
train = datasets.load_dataset(f"{out}/dataset", split="train")
with open(f"{out}/train_sample.jsonl", "w") as f:
    for row in train.select(range(30000)):
        f.write(json.dumps(dict(row), ensure_ascii=False) + "\n")
PY
needle-hf tokenize --data "$OUT/train_sample.jsonl" --out "$OUT/tokenizer" --vocab-size 8192
COMMON=(--preset needle-micro --tokenizer "$OUT/tokenizer" --output-dir "$OUT/model" --batch-size 16 --bf16 --use-cpu
        --threads 2 --save-steps 250 --logging-steps 25 --eval-steps 500 --max-eval-samples 200 --group-by-length --seed 0)
# phase 1: a 4000-step schedule, stopped once checkpoint-3000 is written (the session's time budget ran out)
needle-hf train "$OUT/dataset" "${COMMON[@]}" --max-steps 4000 & pid=$!
until [ -f "$OUT/model/checkpoint-3000/trainer_state.json" ]; do sleep 10; kill -0 $pid; done
kill $pid; wait $pid || true
# phase 2: resume with a 3150-step schedule, so the WSD decay (the last ~5%) runs at the end
needle-hf train "$OUT/dataset" "${COMMON[@]}" --max-steps 3150 --resume
needle-hf eval --model "$OUT/model" --data "$OUT/dataset" --split test --limit 400 --out "$OUT/eval_test.json"
needle-hf eval --model "$OUT/model" --data "$OUT/dataset" --split test_unseen_tools --limit 400 --out "$OUT/eval_unseen.json"
