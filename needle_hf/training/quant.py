"""Quantisation-aware training: fake-quantised attention projections with a straight-through estimator.

Spec §9.1 / §4.4: symmetric, group-wise over the *input* dimension (groups of 32 consecutive input features per output
row of a ``nn.Linear`` weight ``(out, in)``; zero-padded when ``in % 32 != 0``):

* INT4: ``scale = max|w| / 7`` (at least 1e-8), ``q = clamp(round(w / scale), -8, 7) * scale``;
* INT8: ``scale = max|w| / 127``, ``q = clamp(round(w / scale), -128, 127) * scale``.

The forward pass uses ``w + (q(w) - w).detach()``: the value is the quantised weight, the gradient w.r.t. ``w`` is
the gradient w.r.t. the quantised weight (straight-through), so the fp32 master weights keep training.

Mechanism: :func:`attach_fake_quant` turns the targeted ``nn.Linear`` modules into :class:`FakeQuantLinear` (a
subclass with the same parameters and state-dict keys, swapped in place like ``torch.nn.utils.parametrize`` does) whose
forward applies the fake quantisation while ``module.fake_quant_bits`` is set. Parameter objects, names and
checkpoints are untouched (unlike ``parametrize``, which renames weights to ``parametrizations.weight.original``), so
it is safe under DDP and while the Trainer saves. :class:`FakeQuantCallback` switches it on for one step in
``every`` (default 100, as the reference) or always (``every=1``); :func:`fake_quant` is a context manager for
evaluation (see ``NeedleTrainer.evaluate``: ``eval_loss_int4`` next to ``eval_loss``).
"""
from __future__ import annotations

import contextlib
import re
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from transformers import TrainerCallback

QUANT_TARGET_PATTERN = r"(^|\.)(q_proj|k_proj|v_proj|o_proj)$"

__all__ = ["QUANT_TARGET_PATTERN", "fake_quantize", "quantize_ste", "FakeQuantLinear", "attach_fake_quant",
           "detach_fake_quant", "set_fake_quant", "fake_quant", "FakeQuantCallback"]


def fake_quantize(w: torch.Tensor, bits: int = 4, group_size: int = 32) -> torch.Tensor:
    """Symmetric group-wise fake quantisation of a 2-D weight ``(out, in)``; groups run along ``in``. No gradient."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D weight (out, in), got shape {tuple(w.shape)}")
    qmax = 7 if bits == 4 else 127
    out_f, in_f = w.shape
    pad = (-in_f) % group_size
    x = w.detach().float()
    if pad:
        x = F.pad(x, (0, pad))
    g = x.view(out_f, -1, group_size)
    scale = (g.abs().amax(dim=-1, keepdim=True) / qmax).clamp(min=1e-8)
    q = torch.clamp(torch.round(g / scale), -qmax - 1, qmax) * scale
    q = q.view(out_f, -1)[:, :in_f]
    return q.to(w.dtype)


def quantize_ste(w: torch.Tensor, bits: int = 4, group_size: int = 32) -> torch.Tensor:
    """``w + (q(w) - w).detach()``: quantised values forward, identity gradient backward."""
    return w + (fake_quantize(w, bits, group_size) - w).detach()


class FakeQuantLinear(nn.Linear):
    """``nn.Linear`` whose forward fake-quantises the weight while ``fake_quant_bits`` is 4 or 8 (None = off)."""

    fake_quant_bits: int | None = None
    fake_quant_group_size: int = 32

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if self.fake_quant_bits:
            w = quantize_ste(w, self.fake_quant_bits, self.fake_quant_group_size)
        return F.linear(input, w, self.bias)


def _targets(model: nn.Module, pattern: str) -> Iterator[tuple[str, nn.Module]]:
    regex = re.compile(pattern)
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear) and regex.search(name):
            yield name, m


def attach_fake_quant(model: nn.Module, pattern: str = QUANT_TARGET_PATTERN, group_size: int = 32) -> list[str]:
    """Make the targeted Linear modules fake-quant capable (initially off). Returns their names. Idempotent."""
    names = []
    for name, m in _targets(model, pattern):
        if type(m) is nn.Linear:
            m.__class__ = FakeQuantLinear
        if isinstance(m, FakeQuantLinear):
            m.fake_quant_bits = None
            m.fake_quant_group_size = group_size
            names.append(name)
    return names


def detach_fake_quant(model: nn.Module) -> None:
    """Turn every FakeQuantLinear back into a plain nn.Linear."""
    for m in model.modules():
        if type(m) is FakeQuantLinear:
            m.__dict__.pop("fake_quant_bits", None)
            m.__dict__.pop("fake_quant_group_size", None)
            m.__class__ = nn.Linear


def set_fake_quant(model: nn.Module, bits: int | None) -> int:
    """Switch fake quantisation on (4 / 8) or off (None) on every attached module; returns how many were set."""
    n = 0
    for m in model.modules():
        if isinstance(m, FakeQuantLinear):
            m.fake_quant_bits = bits
            n += 1
    return n


@contextlib.contextmanager
def fake_quant(model: nn.Module, bits: int = 4, group_size: int = 32, pattern: str = QUANT_TARGET_PATTERN):
    """Context manager: the model runs with fake-quantised attention projections inside the block (attaching the
    modules if needed); the previous state is restored on exit."""
    attach = not any(isinstance(m, FakeQuantLinear) for m in model.modules())
    if attach:
        attach_fake_quant(model, pattern, group_size)
    previous = {id(m): m.fake_quant_bits for m in model.modules() if isinstance(m, FakeQuantLinear)}
    set_fake_quant(model, bits)
    try:
        yield model
    finally:
        for m in model.modules():
            if isinstance(m, FakeQuantLinear):
                m.fake_quant_bits = previous.get(id(m))
        if attach:
            detach_fake_quant(model)


class FakeQuantCallback(TrainerCallback):
    """QAT schedule: fake quantisation on during optimizer steps where ``global_step > 0 and global_step % every
    == 0`` (spec §4.4: every 100), or on every step when ``every == 1``. Off at the end of each step, so evaluation
    and checkpoints see the full-precision model."""

    def __init__(self, every: int = 100, bits: int = 4, group_size: int = 32, pattern: str = QUANT_TARGET_PATTERN):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.bits, self.group_size, self.pattern = every, bits, group_size, pattern
        self.active_steps = 0

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is not None:
            attach_fake_quant(model, self.pattern, self.group_size)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            return
        step = state.global_step
        on = self.every == 1 or (step > 0 and step % self.every == 0)
        set_fake_quant(model, self.bits if on else None)
        self.active_steps += int(on)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if model is not None:
            set_fake_quant(model, None)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is not None:
            detach_fake_quant(model)
