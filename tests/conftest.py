"""Shared fixtures: tiny Needle models, offline environment, seeded torch."""
from __future__ import annotations

import os

# Never reach the network from tests; tests that need a Hub start the loopback fake Hub (tests/fakehub.py).
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest
import torch

import needle_hf
from needle_hf import NeedleConfig, NeedleForConditionalGeneration

TINY = dict(vocab_size=320, d_model=32, num_attention_heads=4, num_key_value_heads=2, encoder_layers=2,
            decoder_layers=2, contrastive_dim=16, dropout=0.0)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


def tiny_model(**overrides) -> NeedleForConditionalGeneration:
    """A random tiny Needle in eval mode whose norms/gates are perturbed so every parameter matters."""
    model = NeedleForConditionalGeneration(NeedleConfig(**{**TINY, **overrides})).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() <= 1:  # norms and gates start at zero: perturb them so a wrong formula shows
                p.add_(torch.randn_like(p) * 0.3)
    return model


@pytest.fixture
def tiny():
    return tiny_model()
