"""Training Needle with the Hugging Face Trainer.

* :mod:`.features` rows -> decoder labels + per-token classes (structure / name / value / key), tool shuffling;
* :mod:`.collator` batches (online tool shuffling, encoder inputs, contrastive pairs, pretraining splits);
* :mod:`.optim` Muon + AdamW behind one optimizer, WSD schedule;
* :mod:`.quant` INT4/INT8 fake quantisation with a straight-through estimator, ``FakeQuantCallback``;
* :mod:`.trainer` ``NeedleTrainer`` / ``NeedleTrainingArguments`` (weighted loss, z-loss, contrastive, NaN stop);
* :mod:`.recipes` ``train`` / ``pretrain`` / ``finetune`` (used by ``needle-hf`` and ``training_scripts/train.py``).

Names are imported lazily (``from needle_hf.training import train`` loads only what it needs).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "train": "recipes", "pretrain": "recipes", "finetune": "recipes", "TrainingResult": "recipes",
    "save_final_model": "recipes", "weights_checksum": "recipes",
    "NeedleTrainer": "trainer", "NeedleTrainingArguments": "trainer", "NonFiniteLossError": "trainer",
    "clip_loss": "trainer",
    "NeedleCollator": "collator", "EvalCollator": "collator",
    "prepare_rows": "features", "prepare_pretraining_texts": "features", "serialize_answers": "features",
    "shuffle_tools": "features", "DEFAULT_CLASS_WEIGHTS": "features",
    "MuonAdamW": "optim", "build_muon_adamw": "optim", "wsd_lambda": "optim", "wsd_schedule": "optim",
    "FakeQuantCallback": "quant", "fake_quant": "quant", "fake_quantize": "quant", "attach_fake_quant": "quant",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
