"""Batch collation for Needle training: online tool shuffling, encoder inputs, padding, contrastive pairs.

The collator receives the raw feature rows of :func:`needle_hf.training.features.prepare_rows` (the Trainer runs with
``remove_unused_columns=False``) and returns only tensors:

* ``input_ids`` / ``attention_mask``: ``query[:max-2] + [<tools>] + tools[:...]`` (spec §2.3, via
  ``build_encoder_ids``) where, when ``shuffle_tools`` is on, the tools text is rebuilt from a per-example shuffle of
  the canonical tools (seeded by ``(seed, epoch, idx)``, see :func:`~needle_hf.training.features.example_rng`);
* ``labels`` (padded with -100) and ``token_classes`` (padded with 0): popped by ``NeedleTrainer.compute_loss``;
* with ``contrastive=True``: ``contrastive_query_ids/_mask`` and ``contrastive_tool_ids/_mask``, one in-batch pair
  (query, one called tool chosen with the same per-example RNG) per example that calls a tool. Pairs whose tool text
  repeats an earlier pair's tool in the batch are dropped (they would be false negatives); fewer than 2 pairs -> no
  contrastive keys.

Pretraining rows (``text_ids``) are split at a per-example random point into encoder prefix and decoder continuation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from needle_hf.tools import parse_tools, tool_to_text, tools_to_text

from ..modeling.pipeline_tool_calling import build_encoder_ids
from .features import EOS_ID, PAD_ID, TOOLS_ID, example_rng, shuffle_tools

CONTRASTIVE_KEYS = ("contrastive_query_ids", "contrastive_query_mask", "contrastive_tool_ids",
                    "contrastive_tool_mask")
EXTRA_KEYS = ("token_classes",) + CONTRASTIVE_KEYS


def _pad(rows: list[list[int]], value: int, dtype=torch.long, multiple: int | None = None) -> torch.Tensor:
    width = max((len(r) for r in rows), default=0)
    if multiple:
        width = -(-width // multiple) * multiple
    out = torch.full((len(rows), max(width, 1)), value, dtype=dtype)
    for i, r in enumerate(rows):
        if r:
            out[i, : len(r)] = torch.tensor(r, dtype=dtype)
    return out


def _mask(rows: list[list[int]], width: int) -> torch.Tensor:
    out = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = 1
    return out


@dataclass
class NeedleCollator:
    """Turns feature rows into a padded batch (see the module docstring).

    Args:
        tokenizer: the fast tokenizer (ids 0..5 are the Needle special tokens).
        max_encoder_length: encoder truncation (spec §2.3), default 1024.
        shuffle_tools: per-example online tool/parameter shuffling (training batches only).
        contrastive: also emit the in-batch (query, positive tool) pairs.
        seed: seed of the augmentation RNG; ``epoch`` is set by the trainer at every epoch start.
        ensure_ascii: serialise tools with ``\\uXXXX`` escapes (models converted from v1).
        max_contrastive_length: truncation of contrastive queries and tools (spec §3.6 uses 256 for tools).
        pretrain_split: (min, max) fraction of a pretraining chunk that goes to the encoder.
        max_decoder_length: cap of the decoder continuation in pretraining.
        pad_to_multiple_of: round padded widths up (helps XLA/TPU compile fewer shapes).
    """

    tokenizer: Any
    max_encoder_length: int = 1024
    shuffle_tools: bool = True
    contrastive: bool = False
    seed: int = 42
    epoch: int = 0
    ensure_ascii: bool = False
    max_contrastive_length: int = 256
    pretrain_split: tuple[float, float] = (0.25, 0.75)
    max_decoder_length: int = 512
    pad_to_multiple_of: int | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    # -- tool-calling rows ------------------------------------------------------------------------------------
    def _tool_row(self, ex: dict) -> tuple[list[int], Any]:
        tools = None
        tools_text = ex["tools_text"]
        rng = example_rng(self.seed, self.epoch, ex.get("idx", 0))
        if self.shuffle_tools or self.contrastive:
            tools = parse_tools(tools_text)
        if self.shuffle_tools and tools and len(tools) > 0:
            tools_text = tools_to_text(shuffle_tools(tools, rng), ensure_ascii=self.ensure_ascii)
        ids, _ = build_encoder_ids(self.tokenizer, ex["query"], tools_text, max_length=self.max_encoder_length)
        return ids, (tools, rng)

    def _pretrain_row(self, ex: dict) -> tuple[list[int], list[int]]:
        ids = list(ex["text_ids"])
        rng = example_rng(self.seed, self.epoch, ex.get("idx", 0))
        lo, hi = self.pretrain_split
        k = int(round(len(ids) * rng.uniform(lo, hi)))
        k = min(max(k, 1), len(ids) - 1)
        enc = ids[max(0, k - self.max_encoder_length):k]  # the context right before the continuation
        dec = ids[k:k + self.max_decoder_length - 1] + [EOS_ID]
        return enc, dec

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        enc_rows, label_rows, class_rows = [], [], []
        pairs: list[tuple[list[int], list[int]]] = []
        seen_tools: set[str] = set()
        for ex in examples:
            if "text_ids" in ex:
                enc, dec = self._pretrain_row(ex)
                enc_rows.append(enc)
                label_rows.append(dec)
                class_rows.append([0] * len(dec))
                continue
            enc, (tools, rng) = self._tool_row(ex)
            enc_rows.append(enc)
            label_rows.append(list(ex["labels"]))
            class_rows.append(list(ex.get("token_classes") or [0] * len(ex["labels"])))
            positives = list(ex.get("positive_tools") or [])
            if self.contrastive and tools and positives:
                tool = tools[positives[rng.randrange(len(positives))]]
                text = tool_to_text(tool, ensure_ascii=self.ensure_ascii)
                if text in seen_tools:
                    continue
                seen_tools.add(text)
                q = self.tokenizer(ex["query"], add_special_tokens=False)["input_ids"][: self.max_contrastive_length]
                t = self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.max_contrastive_length]
                pairs.append((q or [PAD_ID + 3], t or [PAD_ID + 3]))  # never an empty row (unk id 3)
        m = self.pad_to_multiple_of
        input_ids = _pad(enc_rows, PAD_ID, multiple=m)
        labels = _pad(label_rows, -100, multiple=m)
        batch = {
            "input_ids": input_ids,
            "attention_mask": _mask(enc_rows, input_ids.shape[1]),
            "labels": labels,
            "token_classes": _pad(class_rows, 0, multiple=m),
        }
        if len(pairs) >= 2:
            qs = [p[0] for p in pairs]
            ts = [p[1] for p in pairs]
            q_ids, t_ids = _pad(qs, PAD_ID, multiple=m), _pad(ts, PAD_ID, multiple=m)
            batch.update(contrastive_query_ids=q_ids, contrastive_query_mask=_mask(qs, q_ids.shape[1]),
                         contrastive_tool_ids=t_ids, contrastive_tool_mask=_mask(ts, t_ids.shape[1]))
        return batch


@dataclass
class EvalCollator(NeedleCollator):
    """Evaluation batches: canonical (unshuffled) tools as at inference, only ``input_ids``/``attention_mask``/
    ``labels`` (``generate`` must not see extra keys)."""

    shuffle_tools: bool = False
    contrastive: bool = False

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().__call__(examples)
        return {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
