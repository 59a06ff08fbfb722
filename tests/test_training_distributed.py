"""A real 2-process data-parallel run on CPU through `accelerate launch` (gloo), hf-conventions §3."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForSeq2SeqLM

from needle_hf.training.recipes import weights_checksum

from .helpers_training import TINY_TRAIN, make_rows, tiny_tokenizer

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path: Path, out: Path) -> subprocess.CompletedProcess:
    data = tmp_path / "rows.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps(r) + "\n" for r in make_rows(64, seed=12)), encoding="utf-8")
        tiny_tokenizer().save_pretrained(tmp_path / "tok")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()),
           str(ROOT / "training_scripts" / "train.py"), "train", str(data), "--preset", "needle-tiny",
           "--config", json.dumps(TINY_TRAIN), "--tokenizer", str(tmp_path / "tok"), "--output-dir", str(out),
           "--max-steps", "4", "--batch-size", "4", "--use-cpu", "--save-steps", "4", "--logging-steps", "2",
           "--contrastive-every", "2", "--qat-every", "3", "--lr", "3e-3", "--rank-checksums"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
           "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, cwd=str(tmp_path))


@pytest.mark.slow
def test_two_process_cpu_run_agrees_on_weights_and_saves_a_loadable_model(tmp_path):
    out = tmp_path / "ddp"
    result = _launch(tmp_path, out)
    if result.returncode != 0:  # rare gloo/torchrun start-up aborts (hf-conventions §3): one retry
        out = tmp_path / "ddp_retry"
        result = _launch(tmp_path, out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sums = [(out / f"weights_rank{r}.sha256").read_text().split() for r in (0, 1)]
    assert sums[0][1:] == ["world_size=2", "step=4"] and sums[1][1:] == ["world_size=2", "step=4"]
    assert sums[0][0] == sums[1][0]  # gradients were all-reduced: both processes hold the same weights
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert weights_checksum(model) == sums[0][0]
    assert (out / "checkpoint-4").is_dir()
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["train"]["global_step"] == 4
