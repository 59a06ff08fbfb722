"""training_scripts/grow_layers.py: a deeper model that computes what its source computes, and its errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM

from .helpers_models import save_tiny_model_folder

SCRIPT = Path(__file__).resolve().parents[1] / "training_scripts" / "grow_layers.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_grown_model_gives_the_same_logits_and_trains(tmp_path):
    src = save_tiny_model_folder(tmp_path / "src")
    done = run(src, "--out", tmp_path / "grown", "--encoder-layers", 4, "--decoder-layers", 3)
    assert done.returncode == 0, done.stderr
    a = AutoModelForSeq2SeqLM.from_pretrained(src).eval()
    b = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "grown").eval()
    assert (a.config.encoder_layers, a.config.decoder_layers) == (2, 2)
    assert (b.config.encoder_layers, b.config.decoder_layers) == (4, 3)
    torch.manual_seed(1)
    ids, dec = torch.randint(4, a.config.vocab_size, (2, 9)), torch.randint(4, a.config.vocab_size, (2, 5))
    with torch.no_grad():
        assert torch.equal(b(input_ids=ids, decoder_input_ids=dec).logits,
                           a(input_ids=ids, decoder_input_ids=dec).logits)  # x + gate * 0 is x, bit for bit
    # the new layers are not dead: o_proj gets a gradient at once (q/k/v follow once it has moved)
    b.train()
    b(input_ids=ids, labels=dec).loss.backward()
    assert b.model.encoder.layers[3].self_attn.o_proj.weight.grad.abs().sum() > 0
    assert b.model.decoder.layers[2].cross_attn.o_proj.weight.grad.abs().sum() > 0
    card = (tmp_path / "grown" / "README.md").read_text()
    assert (tmp_path / "grown" / "tokenizer.json").is_file() and "grown to 4 encoder" in card
    assert "library_name: transformers" in card and "4 encoder + 3 decoder layers" in card  # the project's card


def test_clear_errors(tmp_path):
    src = save_tiny_model_folder(tmp_path / "src")
    done = run(src, "--out", tmp_path / "g1", "--encoder-layers", 0, "--decoder-layers", 2)
    assert done.returncode != 0 and "only adds layers" in done.stderr and not (tmp_path / "g1").exists()
    done = run(tmp_path / "missing", "--out", tmp_path / "g2", "--encoder-layers", 2, "--decoder-layers", 2)
    assert done.returncode != 0 and "not a model folder" in done.stderr
    done = run(src, "--out", src, "--encoder-layers", 2, "--decoder-layers", 2)
    assert done.returncode != 0 and "already exists" in done.stderr
