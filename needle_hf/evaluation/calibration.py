"""Fit ``config.no_call_bias``: the threshold of the call / no-call decision, on validation rows.

The decision is one token: after ``<tool_call>`` the model writes either ``[]`` (no call) or the start of a call. Its
*margin* on a row is ``logit([]) - max(other logits)`` at that step; greedy decoding with bias ``b`` answers ``[]``
exactly when ``margin + b > 0`` (the grammar only masks tokens, it does not reorder them). A model trained with few
no-call rows, or hard ones (a tool that almost fits), is often right about the ordering of rows but wrong about where
to cut; :func:`fit_no_call_bias` picks the cut that makes the most decisions right on held-out rows.
:func:`calibrate_model` writes it to the model folder's ``config.json``
(:class:`~needle_hf.modeling.pipeline_tool_calling.NoCallBias` applies it in the pipeline and evaluation).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ..modeling.pipeline_tool_calling import NoCallBias, ToolCallingPipeline
from ..tools import parse_calls, parse_tools

MAX_ABS_BIAS = 10.0


@dataclass
class Calibration:
    bias: float
    rows: int
    no_call_rows: int
    accuracy_before: float  # decision accuracy (call vs no call) with bias 0
    accuracy_after: float
    no_call_recall_before: float
    no_call_recall_after: float
    call_recall_before: float  # share of call rows that start a call
    call_recall_after: float

    def summary(self) -> str:
        return (f"no_call_bias {self.bias:+.3f} on {self.rows} rows ({self.no_call_rows} without a call): decision "
                f"accuracy {self.accuracy_before:.3f} -> {self.accuracy_after:.3f}, no-call recall "
                f"{self.no_call_recall_before:.3f} -> {self.no_call_recall_after:.3f}, call rows starting a call "
                f"{self.call_recall_before:.3f} -> {self.call_recall_after:.3f}")


@torch.no_grad()
def decision_margins(model, tokenizer, rows: Sequence[dict], batch_size: int = 32) -> list[float]:
    """``logit([]) - max(other logits)`` at the step after ``<tool_call>``, per row (no bias applied)."""
    cfg = model.config
    no_call = NoCallBias.no_call_token_id(tokenizer)
    if no_call is None:
        raise ValueError("this tokenizer writes '[]' as several tokens: the no-call decision has no single step to "
                         "calibrate")
    pipe = ToolCallingPipeline(model=model, tokenizer=tokenizer)  # its preprocess builds the encoder batch
    prefix = [cfg.decoder_start_token_id, getattr(cfg, "tool_call_token_id", 4)]
    was_training = model.training
    model.eval()
    margins: list[float] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        if any(not parse_tools(r["tools"]) for r in chunk):
            raise ValueError("decision_margins: a row offers no tools (the pipeline answers [] without the model); "
                             "leave such rows out")
        batch = pipe.preprocess([{"query": r["query"], "tools": r["tools"]} for r in chunk])
        decoder = torch.tensor([prefix] * len(chunk))
        logits = model(input_ids=batch["input_ids"].to(model.device),
                       attention_mask=batch["attention_mask"].to(model.device),
                       decoder_input_ids=decoder.to(model.device), use_cache=False).logits[:, -1].float()
        target = logits[:, no_call].clone()
        logits[:, no_call] = float("-inf")
        margins.extend((target - logits.max(dim=-1).values).tolist())
    model.train(was_training)
    return margins


def fit_no_call_bias(margins: Sequence[float], is_no_call: Sequence[bool]) -> Calibration:
    """The bias (|b| <= 10) that maximises decision accuracy; among equally good ones, the one closest to 0."""
    if len(margins) != len(is_no_call) or not margins:
        raise ValueError("fit_no_call_bias: need one margin per row and at least one row")
    if all(is_no_call) or not any(is_no_call):
        raise ValueError("fit_no_call_bias: the rows need both answers with a call and answers without one")
    order = sorted(set(margins))
    # a cut between two neighbouring margins (or beyond either end) changes the decisions; try each, clipped
    candidates = {0.0} | {-(a + b) / 2 for a, b in zip(order, order[1:])} | {-order[0] + 1e-3, -order[-1] - 1e-3}
    candidates = {max(-MAX_ABS_BIAS, min(MAX_ABS_BIAS, c)) for c in candidates}

    def stats(bias: float) -> tuple[float, float, float]:
        pred = [m + bias > 0 for m in margins]
        right = sum(p == y for p, y in zip(pred, is_no_call))
        n_none = sum(is_no_call)
        none_hit = sum(p and y for p, y in zip(pred, is_no_call))
        call_hit = sum((not p) and (not y) for p, y in zip(pred, is_no_call))
        return right / len(pred), none_hit / n_none, call_hit / (len(pred) - n_none)

    best = max(candidates, key=lambda b: (stats(b)[0], -abs(b)))
    before, after = stats(0.0), stats(best)
    return Calibration(round(best, 4), len(margins), sum(is_no_call), before[0], after[0], before[1], after[1],
                       before[2], after[2])


def calibrate_model(model_dir, rows: Sequence[dict], write: bool = True, batch_size: int = 32) -> Calibration:
    """Fit the bias on ``rows`` for the model folder ``model_dir``; with ``write`` store it in its config.json."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [r for r in rows if parse_tools(r["tools"])]  # rows without tools never reach the model
    result = fit_no_call_bias(decision_margins(model, tokenizer, rows, batch_size=batch_size),
                              [parse_calls(r["answers"]) == [] for r in rows])
    if write:
        path = Path(model_dir) / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["no_call_bias"] = result.bias
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result


__all__ = ["Calibration", "decision_margins", "fit_no_call_bias", "calibrate_model"]
