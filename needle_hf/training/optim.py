"""Muon + AdamW behind one ``torch.optim.Optimizer``, and the WSD learning-rate schedule (spec §4.1-4.2).

Parameter split (spec §4.1): every 2-D attention projection weight (``q_proj``/``k_proj``/``v_proj``/``o_proj`` of
self- and cross-attention) and both contrastive kernels (``contrastive_hidden.weight``, ``contrastive_proj.weight``)
go to ``torch.optim.Muon``; everything else (the tied embedding, norms, residual gates, the contrastive bias,
``log_temp``) goes to ``torch.optim.AdamW`` with betas (0.9, 0.95), eps 1e-8 and **no** weight decay.

Defaults: Muon lr 0.02, weight decay 0.01, momentum 0.95, Nesterov, 5 Newton-Schulz steps; AdamW lr is the caller's
(post-training 3e-5, pretraining 3e-4, from scratch on CPU 3e-3: see ``recipes.py``).

How this Muon differs from the reference (spec §4.1 and §10.2), and why:

* **Order.** The reference orthogonalises the *raw* gradient and then runs Nesterov momentum over the orthogonalised
  matrices, so an update is a sum of orthogonal matrices, up to ~20x a standard Muon step when gradients stay aligned.
  ``torch.optim.Muon`` is the standard algorithm (Keller Jordan's): momentum first (``buf = lerp(buf, g, 1-0.95)``,
  Nesterov ``u = lerp(g, buf, 0.95)``), then Newton-Schulz orthogonalisation of ``u``, so every step has the same
  spectral size. It is the published, better-understood variant; we do not reproduce the 20x scale-up (use a larger
  ``muon_lr`` to approximate it). Newton-Schulz runs in bf16 in torch (fp32 in the reference): same coefficients.
* **LR adjustment.** ``adjust_lr_fn="original"``: ``lr * sqrt(max(1, rows/cols))``. For every Needle projection
  ``rows <= cols`` (q/o are square, k/v and ``contrastive_hidden`` are wide), so the step equals the reference's
  unscaled one and the reference's Muon lr 0.02 carries over unchanged. (``"match_rms_adamw"`` is meant for *sharing*
  the AdamW lr, 0.2*sqrt(max dim) ~ 4.5x at d=512; with a separate Muon lr it would only rescale 0.02.) Only a tall
  ``contrastive_proj`` (contrastive_dim > d_model/4, e.g. needle-tiny) gets the sqrt(rows/cols) boost.
* **Weight decay** ``p *= 1 - lr * wd`` (decoupled, scaled by the scheduled lr) as in the reference.
* **Device scaling.** The reference multiplies Adam lr by the device count and Muon lr by its square root; we don't:
  set the lrs for your global batch.

The facade exposes ``param_groups = muon.param_groups + adam.param_groups`` (the same dict objects), so any
``LRScheduler`` scales both optimisers; each group keeps its own base lr (``initial_lr``), so one schedule lambda
works for both. ``state_dict()``/``load_state_dict()`` nest both states, which is what the Trainer checkpoints.
"""
from __future__ import annotations

import logging
import math
import re
from typing import Callable, Iterable

import torch
from torch import nn

logger = logging.getLogger(__name__)

MUON_PARAM_PATTERN = r"(^|\.)(q_proj|k_proj|v_proj|o_proj|contrastive_hidden|contrastive_proj)\.weight$"

__all__ = ["MUON_PARAM_PATTERN", "split_muon_params", "MuonAdamW", "build_muon_adamw", "wsd_lambda", "wsd_schedule"]


def split_muon_params(model: nn.Module, pattern: str = MUON_PARAM_PATTERN) -> tuple[list, list, list[str], list[str]]:
    """(muon params, adam params, muon names, adam names) over trainable parameters (tied weights counted once).

    A parameter goes to Muon iff its name matches ``pattern`` and it is 2-D (an FSDP-flattened parameter is 1-D and
    falls back to AdamW)."""
    regex = re.compile(pattern)
    muon, adam, muon_names, adam_names = [], [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if regex.search(name) and p.ndim == 2:
            muon.append(p)
            muon_names.append(name)
        else:
            adam.append(p)
            adam_names.append(name)
    return muon, adam, muon_names, adam_names


class MuonAdamW(torch.optim.Optimizer):
    """One optimizer over a Muon part and an AdamW part (see the module docstring).

    ``step``/``zero_grad``/``state_dict``/``load_state_dict`` delegate to both; ``param_groups`` lists Muon groups first,
    then AdamW groups (each group dict has ``"optimizer": "muon"|"adamw"`` so loggers can tell them apart).
    """

    def __init__(self, muon_params: Iterable[torch.Tensor], adam_params: Iterable[torch.Tensor], *,
                 muon_lr: float = 0.02, muon_weight_decay: float = 0.01, muon_momentum: float = 0.95,
                 nesterov: bool = True, ns_steps: int = 5, adjust_lr_fn: str | None = "original",
                 adam_lr: float = 3e-5, betas: tuple[float, float] = (0.9, 0.95), eps: float = 1e-8,
                 adam_weight_decay: float = 0.0):
        muon_params, adam_params = list(muon_params), list(adam_params)
        if not muon_params and not adam_params:
            raise ValueError("MuonAdamW got no parameters to optimise")
        self.muon = (torch.optim.Muon(muon_params, lr=muon_lr, weight_decay=muon_weight_decay, momentum=muon_momentum,
                                      nesterov=nesterov, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
                     if muon_params else None)
        self.adam = (torch.optim.AdamW(adam_params, lr=adam_lr, betas=betas, eps=eps, weight_decay=adam_weight_decay)
                     if adam_params else None)
        # Optimizer.__init__ registers hooks/profiling; the real groups/state live in the two inner optimizers.
        self._built = False
        super().__init__(muon_params + adam_params, {"lr": adam_lr})
        self._built = True
        self._link_groups()

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [o for o in (self.muon, self.adam) if o is not None]

    def _link_groups(self) -> None:
        for g in self.muon.param_groups if self.muon else []:
            g.setdefault("optimizer", "muon")
        for g in self.adam.param_groups if self.adam else []:
            g.setdefault("optimizer", "adamw")
        self.param_groups = [g for o in self.optimizers for g in o.param_groups]

    # Optimizer.__init__ assigns self.state; the merged view below is read-only and always current.
    @property
    def state(self):  # type: ignore[override]
        merged = {}
        for o in self.optimizers:
            merged.update(o.state)
        return merged

    @state.setter
    def state(self, value) -> None:
        pass

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self.optimizers:
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict() if self.muon else None,
                "adamw": self.adam.state_dict() if self.adam else None}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"muon", "adamw"}:
            raise ValueError("not a MuonAdamW state dict (expected keys 'muon' and 'adamw'); was the checkpoint "
                             "written with another optimizer? Resume with the same optimizer settings.")
        for name, o in (("muon", self.muon), ("adamw", self.adam)):
            if (o is None) != (state_dict[name] is None):
                raise ValueError(f"checkpoint and current run disagree on whether the {name} part has parameters")
            if o is not None:
                o.load_state_dict(state_dict[name])
        self._link_groups()  # load_state_dict builds new group dicts: re-expose them to the scheduler

    def add_param_group(self, param_group: dict) -> None:
        if not getattr(self, "_built", True):  # called by Optimizer.__init__ while we are being built
            return super().add_param_group(param_group)
        raise NotImplementedError("add groups to .muon or .adam, then call _link_groups()")

    def __repr__(self) -> str:
        n_m = sum(p.numel() for g in (self.muon.param_groups if self.muon else []) for p in g["params"])
        n_a = sum(p.numel() for g in (self.adam.param_groups if self.adam else []) for p in g["params"])
        return f"MuonAdamW(muon: {n_m:,} params, adamw: {n_a:,} params)"


def build_muon_adamw(model: nn.Module, muon_lr: float = 0.02, adam_lr: float = 3e-5, muon_weight_decay: float = 0.01,
                     betas: tuple[float, float] = (0.9, 0.95), eps: float = 1e-8, adam_weight_decay: float = 0.0,
                     adjust_lr_fn: str | None = "original", pattern: str = MUON_PARAM_PATTERN) -> MuonAdamW:
    """The reference optimiser split for ``model`` (see the module docstring)."""
    muon, adam, muon_names, _ = split_muon_params(model, pattern)
    if not muon:
        logger.warning("no 2-D attention projection weights found for Muon (FSDP-flattened or frozen?): "
                       "all parameters use AdamW")
    return MuonAdamW(muon, adam, muon_lr=muon_lr, muon_weight_decay=muon_weight_decay, adam_lr=adam_lr, betas=betas,
                     eps=eps, adam_weight_decay=adam_weight_decay, adjust_lr_fn=adjust_lr_fn)


def _steps(value: float, total: int) -> int:
    """A ratio (< 1) of ``total`` or an absolute count (>= 1); a positive ratio gives at least one step."""
    if value <= 0:
        return 0
    if value >= 1:
        return int(value)
    return max(1, int(math.ceil(total * value)))


def wsd_lambda(total_steps: int, warmup: float = 0.05, decay: float = 0.05, min_ratio: float = 0.05) -> Callable:
    """Warmup-stable-decay multiplier ``f(step)`` for ``LambdaLR`` (spec §4.2): linear warmup, constant, cosine decay
    to ``min_ratio`` (alpha 0.05). ``warmup``/``decay`` are ratios of ``total_steps`` (< 1) or step counts (>= 1).

    Differences from the reference, on purpose: warmup is ``(step + 1) / warmup`` so the very first optimizer step
    already has a non-zero lr (the reference's step 0 has lr 0, so a 1-step run never updated); the decay ends *on*
    the last step (its lr is ``min_ratio * peak``); if warmup + decay exceed a short run they are shrunk
    proportionally instead of making the stable phase negative.
    """
    total = max(1, int(total_steps))
    w, d = _steps(warmup, total), _steps(decay, total)
    if w + d > total:
        scale = total / (w + d)
        w, d = int(w * scale), int(d * scale)
    stable = total - w - d

    def f(step: int) -> float:
        if step < w:
            return (step + 1) / w
        if step < w + stable or d == 0:
            return 1.0
        t = min(1.0, (step - w - stable + 1) / d)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

    f.phases = (w, stable, d)  # type: ignore[attr-defined]
    return f


def wsd_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup: float = 0.05, decay: float = 0.05,
                 min_ratio: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR(optimizer, wsd_lambda(...))``: one multiplier applied to every group's own base lr."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, wsd_lambda(total_steps, warmup, decay, min_ratio))
