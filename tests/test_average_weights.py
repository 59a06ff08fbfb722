"""training_scripts/average_weights.py: the weighted average of two model folders, and its errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSeq2SeqLM

from .helpers_models import save_tiny_model_folder

SCRIPT = Path(__file__).resolve().parents[1] / "training_scripts" / "average_weights.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_weighted_average_of_two_folders(tmp_path):
    a = save_tiny_model_folder(tmp_path / "a")
    b = save_tiny_model_folder(tmp_path / "b")
    sb = {k: v + 1.0 for k, v in load_file(str(b / "model.safetensors")).items()}  # b = a + 1 everywhere
    save_file(sb, str(b / "model.safetensors"), metadata={"format": "pt"})
    done = run("--out", tmp_path / "soup", f"{a}:1", f"{b}:3")
    assert done.returncode == 0, done.stderr
    sa, soup = load_file(str(a / "model.safetensors")), load_file(str(tmp_path / "soup" / "model.safetensors"))
    assert soup.keys() == sa.keys()
    for k in sa:  # (a + 3 (a + 1)) / 4 = a + 0.75
        torch.testing.assert_close(soup[k], sa[k] + 0.75)
    assert (tmp_path / "soup" / "tokenizer.json").is_file()
    card = (tmp_path / "soup" / "README.md").read_text()
    assert f"`{a}` (weight 1)" in card and f"`{b}` (weight 3)" in card and "Not evaluated" in card
    AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "soup")


def test_clear_errors(tmp_path):
    a = save_tiny_model_folder(tmp_path / "a")
    other = tmp_path / "other"
    other.mkdir()
    save_file({"x": torch.zeros(2)}, str(other / "model.safetensors"))
    done = run("--out", tmp_path / "s1", a, other)
    assert done.returncode != 0 and "tensors differ" in done.stderr and not (tmp_path / "s1").exists()
    done = run("--out", tmp_path / "s2", a, f"{a}:x")
    assert done.returncode != 0 and "number after the colon" in done.stderr
    done = run("--out", tmp_path / "s3", a, tmp_path / "missing")
    assert done.returncode != 0 and "missing: no such folder" in done.stderr
    done = run("--out", tmp_path / "s3", a, tmp_path)
    assert done.returncode != 0 and "no model.safetensors" in done.stderr
    done = run("--out", a, a, a)
    assert done.returncode != 0 and "already exists" in done.stderr
