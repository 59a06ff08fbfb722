"""Training entry points as plain functions: :func:`train`, :func:`pretrain`, :func:`finetune`.

Used by the ``needle-hf train|pretrain|finetune`` CLI and by ``training_scripts/train.py`` (``accelerate launch``).
Each writes Trainer checkpoints (``output_dir/checkpoint-N``, resumable with ``resume=True``) and a final, standard
Hugging Face model folder in ``output_dir`` (``save_pretrained`` weights + config with ``auto_map`` remote code,
tokenizer, ``generation_config.json``, card), loadable with ``AutoModelForSeq2SeqLM.from_pretrained(output_dir)``.

Learning-rate defaults (AdamW part; Muon is 0.02 everywhere, spec §4.5):

* ``train`` from a trained model (``model=``) 3e-5 (reference post-training); from scratch (``preset=``) 3e-3;
* ``pretrain`` (from scratch) 3e-3; the reference's 3e-4 was tuned for 80M rows at batch 128 x 16 chips;
* ``finetune`` 3e-5 (reference).

The from-scratch value was measured on needle-tiny (benchmarks/training.md, "learning rate" table): with Muon at 0.02
on the projections, AdamW at 3e-4 leaves the embeddings nearly frozen for a short CPU run and the loss plateaus far
higher; 3e-3 trains the embedding as fast as Muon trains the projections. Pass ``learning_rate=`` to override.
"""
from __future__ import annotations

import glob
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

logger = logging.getLogger(__name__)

SCRATCH_ADAM_LR = 3e-3
POSTTRAIN_ADAM_LR = 3e-5
PRETRAIN_ADAM_LR = 3e-3

__all__ = ["TrainingResult", "train", "pretrain", "finetune", "load_training_rows", "load_texts", "build_model",
           "get_tokenizer", "save_final_model", "weights_checksum"]


@dataclass
class TrainingResult:
    """What a recipe did: where the model is, metrics, data counts (and the trainer, for programmatic use)."""

    output_dir: str
    train_metrics: dict = field(default_factory=dict)
    eval_metrics: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    report: dict | None = None
    trainer: Any = None


# ---------------------------------------------------------------------------------------------- data
def _rows_of_split(ds, name: str) -> list[dict]:
    return [dict(r) for r in ds]


def _validate(rows: list[dict], name: str) -> list[dict]:
    """Validate in-memory rows up front (before a tokenizer is trained on them); errors name ``row N``."""
    from needle_hf.data.io import DataValidationError, load_rows

    try:
        return list(load_rows(rows))
    except DataValidationError as err:
        raise ValueError(f"{name}: invalid rows, training not started:\n{err}") from None


def load_training_rows(data, eval_data=None) -> tuple[list[dict], list[dict] | None, str]:
    """Rows for training and (optional) evaluation from: a list of rows, a JSONL file / folder of JSONL files,
    a dataset folder saved by ``needle_hf.data.splits.save_dataset`` (parquet + card), or a Hub dataset id.

    A dataset folder / Hub dataset gives ``train`` and, if present, ``validation``. Returns (train, eval, description).
    Rows are *not* validated here (``prepare_rows`` validates and names bad rows)."""
    eval_rows = None
    if isinstance(data, (list, tuple)) and (not data or isinstance(data[0], dict)):
        rows, desc = _validate(list(data), "rows"), f"{len(data)} in-memory rows"
    else:
        path = Path(os.fspath(data))
        jsonl = sorted(glob.glob(str(path / "*.jsonl"))) if path.is_dir() else []
        if path.is_file() or jsonl:
            from needle_hf.data.io import DataValidationError, load_rows

            try:
                rows = list(load_rows(str(path)))
            except DataValidationError as err:
                raise ValueError(f"{path}: invalid rows, training not started:\n{err}") from None
            desc = str(path)
        else:
            import datasets

            try:
                dsd = datasets.load_dataset(str(path) if path.exists() else str(data))
            except Exception as err:  # datasets raises many types; name the source and the first line
                raise ValueError(f"cannot load dataset {str(data)!r}: {str(err).splitlines()[0] if str(err) else err}"
                                 "; give a JSONL file, a folder written by save_dataset, or a Hub dataset id") from None
            if "train" not in dsd:
                raise ValueError(f"dataset {str(data)!r} has no 'train' split (it has {', '.join(dsd)})")
            rows = _validate(_rows_of_split(dsd["train"], "train"), f"{data} (train split)")
            if "validation" in dsd and len(dsd["validation"]):
                eval_rows = _validate(_rows_of_split(dsd["validation"], "validation"), f"{data} (validation split)")
            desc = f"{data} (train {len(rows)}" + (f", validation {len(eval_rows)})" if eval_rows else ")")
    if eval_data is not None:
        eval_rows, _, _ = load_training_rows(eval_data)
    return rows, eval_rows, desc


def load_texts(corpus, text_field: str = "text") -> list[str]:
    """Texts for pretraining: a list of strings, a ``.txt`` file (documents separated by blank lines), a ``.jsonl``
    file (``text_field`` of each line), or a folder of such files."""
    if isinstance(corpus, (list, tuple)):
        return [t for t in corpus if isinstance(t, str) and t.strip()]
    path = Path(os.fspath(corpus))
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl"))
        if not files:
            raise ValueError(f"{path}: no .txt or .jsonl files found")
        return [t for f in files for t in load_texts(f, text_field)]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.suffix == ".jsonl":
        texts = []
        with open(path, encoding="utf-8-sig") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg}, column {err.colno})") from None
                if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
                    raise ValueError(f"{path}:{lineno}: expected an object with a string field {text_field!r}")
                if obj[text_field].strip():
                    texts.append(obj[text_field])
        return texts
    raw = path.read_text(encoding="utf-8")
    return [doc.strip() for doc in raw.split("\n\n") if doc.strip()]


# ---------------------------------------------------------------------------------------------- model + tokenizer
def get_tokenizer(tokenizer=None, model_path=None, train_texts: Iterable[str] | None = None, vocab_size: int = 8192):
    """A tokenizer object, a path/Hub id, the model folder's tokenizer, or (last resort) one trained on
    ``train_texts`` (the lossless byte-level BPE of :mod:`needle_hf.tokenization`)."""
    from needle_hf.tokenization import load_tokenizer, train_tokenizer

    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        return tokenizer
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    if model_path is not None:
        try:
            return load_tokenizer(model_path)
        except (OSError, ValueError):
            pass
    if train_texts is None:
        raise ValueError("no tokenizer: pass tokenizer= (a folder or Hub id), a model folder that has one, or data to "
                         "train one on")
    logger.info("training a tokenizer (vocab_size=%d) on the training data", vocab_size)
    return train_tokenizer(train_texts, vocab_size=vocab_size)


def build_model(preset: str | None = None, model=None, vocab_size: int | None = None, **config_overrides):
    """``model`` (a model object, folder or Hub id: ``from_pretrained``) or a fresh model from ``preset`` with
    ``vocab_size`` and ``config_overrides``. Returns (model, from_scratch)."""
    import needle_hf  # noqa: F401  (registers the Auto classes)
    from needle_hf import NeedleConfig, NeedleForConditionalGeneration

    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model, False
    if model is not None:
        from transformers import AutoModelForSeq2SeqLM

        loaded = AutoModelForSeq2SeqLM.from_pretrained(os.fspath(model), dtype="float32")
        return loaded, False
    config = NeedleConfig.from_preset(preset or "needle-26m", **({"vocab_size": vocab_size} if vocab_size else {}),
                                      **config_overrides)
    return NeedleForConditionalGeneration(config), True


def _generation_config(model):
    try:
        from needle_hf.saving import generation_config_for

        gc = generation_config_for(model.config)
    except ImportError:  # pragma: no cover
        from transformers import GenerationConfig

        c = model.config
        gc = GenerationConfig(decoder_start_token_id=c.decoder_start_token_id, eos_token_id=c.eos_token_id,
                              pad_token_id=c.pad_token_id, max_new_tokens=256, do_sample=False, num_beams=1)
    gc.max_new_tokens = min(256, int(getattr(model.config, "max_decoder_length", 512)))
    return gc


def save_final_model(model, tokenizer, output_dir, card_text: str | None = None) -> str:
    """Write the final model folder: weights + config with ``auto_map`` (``register_for_auto_class``), remote code,
    tokenizer (portable config), generation config and a card (``needle_hf.saving.save_model_folder``)."""
    out = Path(os.fspath(output_dir))
    model.generation_config = _generation_config(model)
    try:
        from needle_hf.saving import model_card, save_model_folder
    except ImportError:  # pragma: no cover - saving.py is optional for the trainer
        save_model_folder = None
    if save_model_folder is not None:
        card = None
        if card_text:
            card = model_card(model.config, name=out.name, training_markdown=card_text)
        gc = model.generation_config
        save_model_folder(model, tokenizer, out, card=card)
        model.generation_config = gc
        gc.save_pretrained(out)  # keep max_new_tokens tied to max_decoder_length
    else:  # pragma: no cover
        from needle_hf.tokenization import save_tokenizer

        type(model.config).register_for_auto_class()
        type(model).register_for_auto_class("AutoModelForSeq2SeqLM")
        model.save_pretrained(out)
        save_tokenizer(tokenizer, out)
    return str(out)


def weights_checksum(model) -> str:
    """sha256 over the model's state dict (names, dtypes, shapes and bytes, sorted by name): equal on every process
    of a correct data-parallel run."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().to("cpu").contiguous().reshape(-1)
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- shared machinery
def _last_checkpoint(output_dir) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(os.fspath(output_dir)) if os.path.isdir(output_dir) else None


def _resolve_resume(resume, output_dir) -> str | None:
    if not resume:
        return None
    if isinstance(resume, (str, os.PathLike)) and not isinstance(resume, bool):
        if not os.path.isdir(resume):
            raise ValueError(f"resume: {resume} is not a checkpoint folder")
        return os.fspath(resume)
    last = _last_checkpoint(output_dir)
    if last is None:
        raise ValueError(f"resume: no checkpoint-* folder in {output_dir}; start without --resume (or point "
                         "--output-dir at the interrupted run)")
    return last


def _training_arguments(output_dir, *, max_steps=-1, num_train_epochs=1.0, batch_size=16, eval_batch_size=None,
                        gradient_accumulation_steps=1, learning_rate=3e-5, muon_lr=0.02, use_muon=True,
                        warmup=0.05, decay=0.05, class_weights=None, z_loss_weight=1e-4, contrastive_every=10,
                        contrastive_weight=0.1, qat_every=100, qat_bits=4, eval_quant_bits=4, bf16=False, seed=42,
                        save_steps=500, save_total_limit=3, logging_steps=10, eval_strategy="no", eval_steps=None,
                        group_by_length=False, report_to="none", use_cpu=None, dataloader_num_workers=0,
                        predict_with_generate=False, generation_max_length=None, metric_for_best_model=None,
                        load_best_model_at_end=False, save_strategy="steps", max_grad_norm=1.0,
                        disable_tqdm=None, **extra):
    from .features import DEFAULT_CLASS_WEIGHTS
    from .trainer import NeedleTrainingArguments

    kwargs = dict(
        output_dir=os.fspath(output_dir), max_steps=int(max_steps) if max_steps else -1,
        num_train_epochs=float(num_train_epochs), per_device_train_batch_size=int(batch_size),
        per_device_eval_batch_size=int(eval_batch_size or batch_size),
        gradient_accumulation_steps=int(gradient_accumulation_steps), learning_rate=float(learning_rate),
        muon_lr=float(muon_lr), use_muon=bool(use_muon), warmup_steps=float(warmup), decay_ratio=float(decay),
        class_weights=tuple(class_weights or DEFAULT_CLASS_WEIGHTS), z_loss_weight=float(z_loss_weight),
        contrastive_every=int(contrastive_every), contrastive_weight=float(contrastive_weight),
        qat_every=int(qat_every), qat_bits=int(qat_bits), eval_quant_bits=int(eval_quant_bits or 0), bf16=bool(bf16),
        seed=int(seed), save_strategy=save_strategy, save_steps=int(save_steps), save_total_limit=save_total_limit,
        logging_steps=int(logging_steps), logging_first_step=True, eval_strategy=eval_strategy,
        eval_steps=eval_steps, report_to=report_to, dataloader_num_workers=int(dataloader_num_workers),
        predict_with_generate=bool(predict_with_generate), generation_max_length=generation_max_length,
        metric_for_best_model=metric_for_best_model, load_best_model_at_end=bool(load_best_model_at_end),
        greater_is_better=True if metric_for_best_model else None, max_grad_norm=float(max_grad_norm),
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )
    if use_cpu is not None:
        kwargs["use_cpu"] = bool(use_cpu)
    elif kwargs.get("bf16") and not _torch_cuda() and not _has_other_accelerator():
        kwargs["use_cpu"] = True  # bf16 autocast on a CPU-only machine: transformers otherwise refuses bf16
    if disable_tqdm is not None:
        kwargs["disable_tqdm"] = bool(disable_tqdm)
    kwargs.update(extra)
    return NeedleTrainingArguments(**kwargs)


def _write_json(path, obj) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _finish(trainer, tokenizer, output_dir, card_text: str) -> None:
    """Save the final model folder from the trained (or best) model, on the main process only."""
    if getattr(trainer, "is_fsdp_enabled", False):  # sharded weights: let the Trainer gather them
        trainer.save_model(os.fspath(output_dir))
    elif trainer.is_world_process_zero():
        model = trainer.accelerator.unwrap_model(trainer.model)
        save_final_model(model, tokenizer, output_dir, card_text=card_text)
    trainer.accelerator.wait_for_everyone()


def _card_text(kind: str, data: dict, metrics: dict, args) -> str:
    lines = [f"Trained with `needle-hf {kind}` (NeedleTrainer: Muon+AdamW, WSD schedule, weighted token loss).", "",
             "| setting | value |", "|---|---|"]
    for k in ("learning_rate", "muon_lr", "per_device_train_batch_size", "gradient_accumulation_steps",
              "max_steps", "num_train_epochs", "contrastive_every", "qat_every", "seed"):
        lines.append(f"| {k} | {getattr(args, k, '')} |")
    for k, v in data.items():
        lines.append(f"| data: {k} | {v} |")
    for k in ("train_loss", "train_runtime", "train_samples_per_second", "global_step"):
        if k in metrics:
            lines.append(f"| {k} | {metrics[k]} |")
    return "\n".join(lines)


def _run_trainer(*, model, tokenizer, train_dataset, eval_dataset, args, collator, eval_collator, resume_from,
                 compute_metrics=None, callbacks=None, max_new_tokens=None):
    from .trainer import NeedleTrainer

    # Every checkpoint (and the final folder) carries auto_map + the modeling files.
    type(model.config).register_for_auto_class()
    type(model).register_for_auto_class("AutoModelForSeq2SeqLM")
    model.generation_config = _generation_config(model)
    if max_new_tokens:
        model.generation_config.max_new_tokens = int(max_new_tokens)
    trainer = NeedleTrainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                            data_collator=collator, eval_collator=eval_collator, processing_class=tokenizer,
                            compute_metrics=compute_metrics, callbacks=callbacks)
    result = trainer.train(resume_from_checkpoint=resume_from)
    metrics = dict(result.metrics)
    metrics["global_step"] = trainer.state.global_step
    metrics["contrastive_steps"] = trainer.contrastive_steps
    return trainer, metrics


def _prepare(rows, tokenizer, model, name, max_encoder_length, max_decoder_length, max_rows=None, cache_dir=None):
    """Training features; with ``cache_dir`` (the run's ``output_dir/prepared``) a resume reuses them."""
    from .features import prepare_rows, prepare_rows_cached

    if max_rows:
        rows = rows[:max_rows]
    options = dict(max_decoder_length=max_decoder_length, max_encoder_length=max_encoder_length,
                   ensure_ascii=bool(getattr(model.config, "ensure_ascii_json", False)))
    if cache_dir is None:
        return prepare_rows(rows, tokenizer, name=name, show_progress=len(rows) > 5000, **options)
    return prepare_rows_cached(rows, tokenizer, cache_dir, name=name, show_progress=len(rows) > 5000, **options)


def _check_vocab(model, tokenizer) -> None:
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(f"the tokenizer has {len(tokenizer)} tokens but the model's vocab_size is "
                         f"{model.config.vocab_size}; use the model's own tokenizer (--tokenizer)")


def _load_for_resume(resume_from, model, tokenizer):
    """On resume without an explicit model, rebuild from the checkpoint (same config and tokenizer)."""
    if resume_from and model is None:
        model = resume_from
        tokenizer = tokenizer if tokenizer is not None else resume_from
    return model, tokenizer


# ---------------------------------------------------------------------------------------------- train
def train(data, output_dir, *, preset: str | None = None, model=None, tokenizer=None, eval_data=None,
          vocab_size: int = 8192, config_overrides: dict | None = None, max_steps: int = -1,
          num_train_epochs: float = 1.0, batch_size: int = 16, gradient_accumulation_steps: int = 1,
          learning_rate: float | None = None, muon_lr: float = 0.02, use_muon: bool = True, warmup: float = 0.05,
          decay: float = 0.05, class_weights: Sequence[float] | None = None, z_loss_weight: float = 1e-4,
          contrastive_every: int = 10, contrastive_weight: float = 0.1, qat_every: int = 100, qat_bits: int = 4,
          eval_quant_bits: int = 4, max_encoder_length: int = 1024, max_decoder_length: int = 512,
          shuffle_tools: bool = True, group_by_length: bool = False, bf16: bool = False, seed: int = 42,
          save_steps: int = 500, save_total_limit: int | None = 3, logging_steps: int = 10,
          eval_steps: int | None = None, max_eval_samples: int | None = 256, eval_generate: bool = False,
          resume=False, report_to: str | list = "none", use_cpu: bool | None = None,
          dataloader_num_workers: int = 0, disable_tqdm: bool | None = None, save_final: bool = True,
          pad_to_multiple_of: int | None = None, callbacks: list | None = None,
          **training_kwargs) -> TrainingResult:
    """Post-train Needle on tool-call rows ``{query, tools, answers}`` (spec §4.5 ``needle train``).

    ``data``: JSONL file/folder, dataset folder (``save_dataset``), Hub id, or a list of rows; its ``validation``
    split (or ``eval_data``) is evaluated every ``eval_steps`` (``eval_loss``, ``eval_loss_int4``, and with
    ``eval_generate`` the generation metrics incl. ``eval_call_f1``). Init from ``model`` (folder / Hub id / object) or
    a fresh ``preset`` (default needle-26m); the tokenizer comes from ``tokenizer``, the model folder, or is trained on
    the data (``vocab_size``). ``resume=True`` continues from the last ``output_dir/checkpoint-*``.
    """
    from transformers import set_seed

    from .collator import EvalCollator, NeedleCollator

    output_dir = os.fspath(output_dir)
    resume_from = _resolve_resume(resume, output_dir)
    model, tokenizer = _load_for_resume(resume_from, model, tokenizer)
    rows, eval_rows, desc = load_training_rows(data, eval_data)
    set_seed(seed)
    from_scratch = model is None
    corpus = None
    if tokenizer is None and model is None:
        from needle_hf.tokenization import corpus_from_rows

        corpus = corpus_from_rows(rows)
    tokenizer = get_tokenizer(tokenizer, model_path=model if isinstance(model, (str, os.PathLike)) else None,
                              train_texts=corpus, vocab_size=vocab_size)
    model, from_scratch = build_model(preset, model, vocab_size=len(tokenizer) if from_scratch else None,
                                      **(config_overrides or {}))
    _check_vocab(model, tokenizer)
    lr = learning_rate if learning_rate is not None else (SCRATCH_ADAM_LR if from_scratch else POSTTRAIN_ADAM_LR)
    max_enc = min(max_encoder_length, int(getattr(model.config, "max_encoder_length", 1024)))
    max_dec = min(max_decoder_length, int(getattr(model.config, "max_decoder_length", 512)))

    prepared = _prepare(rows, tokenizer, model, "train", max_enc, max_dec, cache_dir=Path(output_dir) / "prepared")
    eval_prepared = _prepare(eval_rows, tokenizer, model, "validation", max_enc, max_dec, max_eval_samples) \
        if eval_rows else None
    data_info = {"source": desc, "train_rows": prepared.total, "train_kept": prepared.kept,
                 "train_rejected_too_long": prepared.rejected_too_long,
                 "train_encoder_truncated": prepared.truncated_encoder}
    if eval_prepared is not None:
        data_info.update(eval_rows=eval_prepared.total, eval_kept=eval_prepared.kept,
                         eval_rejected_too_long=eval_prepared.rejected_too_long)
    logger.info(prepared.summary("train") + (f"; {eval_prepared.summary('validation')}" if eval_prepared else ""))

    ensure_ascii = bool(getattr(model.config, "ensure_ascii_json", False))
    collator = NeedleCollator(tokenizer, max_encoder_length=max_enc, shuffle_tools=shuffle_tools,
                              contrastive=contrastive_every > 0 and contrastive_weight > 0, seed=seed,
                              ensure_ascii=ensure_ascii, pad_to_multiple_of=pad_to_multiple_of)
    eval_collator = EvalCollator(tokenizer, max_encoder_length=max_enc, ensure_ascii=ensure_ascii,
                                 pad_to_multiple_of=pad_to_multiple_of)
    compute_metrics = None
    if eval_prepared is not None and eval_generate:
        from needle_hf.evaluation.metrics import make_compute_metrics

        compute_metrics = make_compute_metrics(tokenizer, tools=list(eval_prepared.dataset["tools_text"]),
                                               references=list(eval_prepared.dataset["answers"]))
    args = _training_arguments(
        output_dir, max_steps=max_steps, num_train_epochs=num_train_epochs, batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps, learning_rate=lr, muon_lr=muon_lr,
        use_muon=use_muon, warmup=warmup, decay=decay, class_weights=class_weights, z_loss_weight=z_loss_weight,
        contrastive_every=contrastive_every, contrastive_weight=contrastive_weight, qat_every=qat_every,
        qat_bits=qat_bits, eval_quant_bits=eval_quant_bits if eval_prepared is not None else 0, bf16=bf16,
        seed=seed, save_steps=save_steps, save_total_limit=save_total_limit, logging_steps=logging_steps,
        eval_strategy=("steps" if eval_steps else "epoch") if eval_prepared is not None else "no",
        eval_steps=eval_steps, group_by_length=group_by_length, report_to=report_to, use_cpu=use_cpu,
        dataloader_num_workers=dataloader_num_workers, predict_with_generate=bool(compute_metrics),
        disable_tqdm=disable_tqdm, **training_kwargs)
    if _is_main():
        _write_json(Path(output_dir) / "needle_training.json",
                    {"recipe": "train", "from_scratch": from_scratch, "learning_rate": lr, "data": data_info,
                     "args": args.to_dict()})
    trainer, metrics = _run_trainer(model=model, tokenizer=tokenizer, train_dataset=prepared.dataset,
                                    eval_dataset=eval_prepared.dataset if eval_prepared else None, args=args,
                                    collator=collator, eval_collator=eval_collator, resume_from=resume_from,
                                    compute_metrics=compute_metrics, callbacks=callbacks)
    eval_metrics = trainer.evaluate() if eval_prepared is not None else {}
    if save_final:
        _finish(trainer, tokenizer, output_dir, _card_text("train", data_info, metrics, args))
    if trainer.is_world_process_zero():
        _write_json(Path(output_dir) / "training_summary.json",
                    {"train": metrics, "eval": eval_metrics, "data": data_info})
    return TrainingResult(output_dir, metrics, eval_metrics, data_info, trainer=trainer)


# ---------------------------------------------------------------------------------------------- pretrain
def pretrain(corpus, output_dir, *, preset: str | None = None, model=None, tokenizer=None, vocab_size: int = 8192,
             text_field: str = "text", config_overrides: dict | None = None, max_steps: int = -1,
             num_train_epochs: float = 1.0, batch_size: int = 16, gradient_accumulation_steps: int = 1,
             learning_rate: float | None = None, muon_lr: float = 0.02, use_muon: bool = True, warmup: float = 0.05,
             decay: float = 0.05, z_loss_weight: float = 1e-4, max_encoder_length: int = 256,
             max_decoder_length: int = 128, group_by_length: bool = False, bf16: bool = False, seed: int = 42,
             save_steps: int = 1000, save_total_limit: int | None = 3, logging_steps: int = 10, resume=False,
             report_to: str | list = "none", use_cpu: bool | None = None, dataloader_num_workers: int = 0,
             disable_tqdm: bool | None = None, save_final: bool = True, pad_to_multiple_of: int | None = None,
             callbacks: list | None = None, **training_kwargs) -> TrainingResult:
    """Continuation pretraining on plain text (spec §2.4, ``needle pretrain``): each text is cut into chunks of
    ``max_encoder_length + max_decoder_length - 1`` tokens; every epoch each chunk is split at a random point (25-75%)
    into an encoder prefix and a decoder continuation (``[1] + cont`` -> ``cont + [1]``, no ``<tool_call>``). Unweighted
    CE + z-loss; no contrastive loss, no QAT, dropout 0 (as the reference). ``corpus``: ``.txt`` (documents separated by
    blank lines), ``.jsonl`` (``text_field``), a folder of those, or a list of strings.

    Why continuation and not span denoising: it is the reference's objective, it trains exactly the
    encoder-conditioned generation the tool-calling task needs (the decoder must read the encoder through
    cross-attention to continue the text), and it needs no sentinel tokens (the vocabulary has none).
    """
    from transformers import set_seed

    from .collator import NeedleCollator
    from .features import prepare_pretraining_texts

    output_dir = os.fspath(output_dir)
    resume_from = _resolve_resume(resume, output_dir)
    model, tokenizer = _load_for_resume(resume_from, model, tokenizer)
    texts = load_texts(corpus, text_field)
    if not texts:
        raise ValueError(f"{corpus}: no text found")
    set_seed(seed)
    from_scratch = model is None
    tokenizer = get_tokenizer(tokenizer, model_path=model if isinstance(model, (str, os.PathLike)) else None,
                              train_texts=texts if (tokenizer is None and model is None) else None,
                              vocab_size=vocab_size)
    overrides = {"dropout": 0.0, **(config_overrides or {})}
    model, from_scratch = build_model(preset, model, vocab_size=len(tokenizer) if from_scratch else None, **overrides)
    _check_vocab(model, tokenizer)
    lr = learning_rate if learning_rate is not None else PRETRAIN_ADAM_LR
    prepared = prepare_pretraining_texts(texts, tokenizer, max_encoder_length=max_encoder_length,
                                         max_decoder_length=max_decoder_length, show_progress=len(texts) > 5000)
    data_info = {"source": str(corpus) if not isinstance(corpus, list) else f"{len(corpus)} texts",
                 "texts": prepared.total, "chunks": prepared.kept, "texts_too_short": prepared.rejected_too_long}
    logger.info("pretraining corpus: %d texts -> %d chunks (%d too short)", prepared.total, prepared.kept,
                prepared.rejected_too_long)
    collator = NeedleCollator(tokenizer, max_encoder_length=max_encoder_length, shuffle_tools=False,
                              contrastive=False, seed=seed, max_decoder_length=max_decoder_length,
                              pad_to_multiple_of=pad_to_multiple_of)
    args = _training_arguments(
        output_dir, max_steps=max_steps, num_train_epochs=num_train_epochs, batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps, learning_rate=lr, muon_lr=muon_lr,
        use_muon=use_muon, warmup=warmup, decay=decay, class_weights=(1.0, 1.0, 1.0, 1.0),
        z_loss_weight=z_loss_weight, contrastive_every=0, contrastive_weight=0.0, qat_every=0, eval_quant_bits=0,
        bf16=bf16, seed=seed, save_steps=save_steps, save_total_limit=save_total_limit, logging_steps=logging_steps,
        group_by_length=group_by_length, report_to=report_to, use_cpu=use_cpu,
        dataloader_num_workers=dataloader_num_workers, disable_tqdm=disable_tqdm, **training_kwargs)
    if _is_main():
        _write_json(Path(output_dir) / "needle_training.json",
                    {"recipe": "pretrain", "from_scratch": from_scratch, "learning_rate": lr, "data": data_info,
                     "args": args.to_dict()})
    trainer, metrics = _run_trainer(model=model, tokenizer=tokenizer, train_dataset=prepared.dataset,
                                    eval_dataset=None, args=args, collator=collator, eval_collator=None,
                                    resume_from=resume_from, callbacks=callbacks)
    if save_final:
        _finish(trainer, tokenizer, output_dir, _card_text("pretrain", data_info, metrics, args))
    if trainer.is_world_process_zero():
        _write_json(Path(output_dir) / "training_summary.json", {"train": metrics, "data": data_info})
    return TrainingResult(output_dir, metrics, {}, data_info, trainer=trainer)


# ---------------------------------------------------------------------------------------------- finetune
def _report_table(base: dict | None, tuned: dict) -> str:
    keys = ("exact_match", "call_f1", "name_f1", "json_parse_rate", "argument_accuracy", "value_accuracy",
            "no_call_f1")
    lines = ["| metric | base | finetuned | change |", "|---|---|---|---|"]
    for k in keys:
        b = base["metrics"].get(k) if base else None
        t = tuned["metrics"].get(k)
        if t is None:
            continue
        change = f"{t - b:+.3f}" if b is not None else ""
        lines.append(f"| {k} | {'' if b is None else f'{b:.3f}'} | {t:.3f} | {change} |")
    return "\n".join(lines)


def finetune(data, base_model, output_dir, *, tokenizer=None, val_per_tool: int = 10, test_per_tool: int = 10,
             split_seed: int = 42, num_train_epochs: float = 3.0, max_steps: int = -1, batch_size: int = 16,
             gradient_accumulation_steps: int = 1, learning_rate: float = POSTTRAIN_ADAM_LR, muon_lr: float = 0.02,
             use_muon: bool = True, warmup: float = 0.05, decay: float = 0.05,
             class_weights: Sequence[float] | None = None, contrastive_every: int = 10,
             contrastive_weight: float = 0.1, qat_every: int = 100, max_encoder_length: int = 1024,
             max_decoder_length: int = 512, constrained_eval: bool = True, copy_strings: bool | None = None,
             eval_batch_size: int = 16, skip_base_eval: bool = False, bf16: bool = False, seed: int = 42,
             save_total_limit: int | None = 2,
             logging_steps: int = 10, resume=False, report_to: str | list = "none", use_cpu: bool | None = None,
             disable_tqdm: bool | None = None, pad_to_multiple_of: int | None = None,
             max_new_tokens: int = 256, callbacks: list | None = None, **training_kwargs) -> TrainingResult:
    """Full finetune of a trained Needle on user rows (spec §7.1 ``needle finetune data.jsonl``).

    Rows are validated (bad lines named), split per primary tool with the reference's rules
    (``needle_hf.data.splits.per_tool_split``: ``test_per_tool`` test + ``val_per_tool`` validation rows per tool);
    the base model is scored on the test split (``needle_hf.evaluation.runner.evaluate_rows``, grammar-constrained by
    default), the model is trained with an evaluation (generation, unconstrained greedy, ``eval_call_f1``) after every
    epoch and the checkpoint with the best validation call F1 is kept (``load_best_model_at_end``); the final model is
    scored on the same test split. Writes ``finetune_report.json`` / ``.md`` (base vs finetuned) and the model folder.
    Default 3 epochs (the reference does 1) so that the best-epoch selection has something to choose from.
    ``copy_strings`` (copy mode of constrained decoding) sets ``config.copy_strings`` of the model before anything
    runs, so both test evaluations use it and the finetuned model keeps it as its default; None keeps the base's.
    """
    from transformers import set_seed

    from needle_hf.data.io import DataValidationError, load_rows

    if copy_strings and not constrained_eval:  # before any work; evaluate_rows would refuse it later
        raise ValueError("copy mode (--copy-strings) is part of constrained decoding; drop it or drop "
                         "--unconstrained-eval")
    from needle_hf.data.splits import check_min_examples, per_tool_split
    from needle_hf.evaluation.metrics import make_compute_metrics

    from .collator import EvalCollator, NeedleCollator

    output_dir = os.fspath(output_dir)
    resume_from = _resolve_resume(resume, output_dir)
    try:
        rows = list(load_rows(data if isinstance(data, list) else os.fspath(data)))
    except DataValidationError as err:
        raise ValueError(f"{data if not isinstance(data, list) else 'rows'}: invalid rows, finetuning not "
                         f"started:\n{err}") from None
    if len(rows) < 3:
        raise ValueError(f"finetuning needs at least 3 examples, got {len(rows)}")
    under = check_min_examples(rows)
    if under:
        logger.warning("%d tool(s) have fewer than 120 examples (%s); per-tool splits hold out up to %d each",
                       len(under), ", ".join(f"{k} {v}" for k, v in list(under.items())[:10]),
                       val_per_tool + test_per_tool)
    split = per_tool_split(rows, val=val_per_tool, test=test_per_tool, seed=split_seed)
    set_seed(seed)
    tokenizer = get_tokenizer(tokenizer, model_path=base_model if isinstance(base_model, (str, os.PathLike)) else None)
    model, _ = build_model(None, resume_from or base_model)
    _check_vocab(model, tokenizer)
    if copy_strings is not None:  # before the base evaluation, so base and finetuned decode alike
        model.config.copy_strings = bool(copy_strings)
    max_enc = min(max_encoder_length, int(getattr(model.config, "max_encoder_length", 1024)))
    max_dec = min(max_decoder_length, int(getattr(model.config, "max_decoder_length", 512)))

    from needle_hf.evaluation.runner import decoding_name, evaluate_rows

    base_report = None
    base_path = Path(output_dir) / "base_report.json"
    if not skip_base_eval and split.test:
        if resume_from and base_path.exists():
            base_report = json.loads(base_path.read_text(encoding="utf-8"))
        elif _is_main():
            base_report = evaluate_rows(model, tokenizer, split.test, constrained=constrained_eval,
                                        batch_size=eval_batch_size, max_new_tokens=max_new_tokens)
            _write_json(base_path, base_report)

    prepared = _prepare(split.train, tokenizer, model, "train", max_enc, max_dec)
    val = _prepare(split.validation, tokenizer, model, "validation", max_enc, max_dec) if split.validation else None
    data_info = {"source": str(data) if not isinstance(data, list) else f"{len(rows)} rows", "rows": len(rows),
                 "train": len(split.train), "validation": len(split.validation), "test": len(split.test),
                 "train_rejected_too_long": prepared.rejected_too_long}
    ensure_ascii = bool(getattr(model.config, "ensure_ascii_json", False))
    collator = NeedleCollator(tokenizer, max_encoder_length=max_enc, shuffle_tools=True,
                              contrastive=contrastive_every > 0 and contrastive_weight > 0, seed=seed,
                              ensure_ascii=ensure_ascii, pad_to_multiple_of=pad_to_multiple_of)
    eval_collator = EvalCollator(tokenizer, max_encoder_length=max_enc, ensure_ascii=ensure_ascii,
                                 pad_to_multiple_of=pad_to_multiple_of)
    compute_metrics = None
    if val is not None:
        compute_metrics = make_compute_metrics(tokenizer, tools=list(val.dataset["tools_text"]),
                                               references=list(val.dataset["answers"]))
    args = _training_arguments(
        output_dir, max_steps=max_steps, num_train_epochs=num_train_epochs, batch_size=batch_size,
        eval_batch_size=eval_batch_size, gradient_accumulation_steps=gradient_accumulation_steps,
        learning_rate=learning_rate, muon_lr=muon_lr, use_muon=use_muon, warmup=warmup, decay=decay,
        class_weights=class_weights, contrastive_every=contrastive_every, contrastive_weight=contrastive_weight,
        qat_every=qat_every, eval_quant_bits=4 if val is not None else 0, bf16=bf16, seed=seed,
        save_strategy="epoch" if max_steps is None or max_steps <= 0 else "steps",
        save_steps=max(1, max_steps) if max_steps and max_steps > 0 else 500,
        eval_strategy=("epoch" if max_steps is None or max_steps <= 0 else "steps") if val is not None else "no",
        eval_steps=max(1, max_steps) if (val is not None and max_steps and max_steps > 0) else None,
        save_total_limit=save_total_limit, logging_steps=logging_steps, report_to=report_to, use_cpu=use_cpu,
        predict_with_generate=val is not None, metric_for_best_model="call_f1" if val is not None else None,
        load_best_model_at_end=val is not None, disable_tqdm=disable_tqdm, **training_kwargs)
    if _is_main():
        _write_json(Path(output_dir) / "needle_training.json",
                    {"recipe": "finetune", "base_model": str(base_model), "data": data_info, "args": args.to_dict()})
    trainer, metrics = _run_trainer(model=model, tokenizer=tokenizer, train_dataset=prepared.dataset,
                                    eval_dataset=val.dataset if val is not None else None, args=args,
                                    collator=collator, eval_collator=eval_collator, resume_from=resume_from,
                                    compute_metrics=compute_metrics, callbacks=callbacks,
                                    max_new_tokens=max_new_tokens)
    best = trainer.state.best_model_checkpoint
    tuned_model = trainer.accelerator.unwrap_model(trainer.model)
    report = None
    if trainer.is_world_process_zero():
        tuned_report = evaluate_rows(tuned_model, tokenizer, split.test, constrained=constrained_eval,
                                     batch_size=eval_batch_size, max_new_tokens=max_new_tokens) \
            if split.test else {"metrics": {}, "n": 0}
        report = {"base_model": str(base_model), "best_checkpoint": best,
                  "best_validation_call_f1": trainer.state.best_metric, "data": data_info, "train": metrics,
                  "base": base_report, "finetuned": tuned_report, "constrained": constrained_eval,
                  "copy_strings": tuned_report.get("copy_strings", False)}
        _write_json(Path(output_dir) / "finetune_report.json", report)
        table = _report_table(base_report, tuned_report) if tuned_report.get("metrics") else "(no test rows)"
        md = (f"# Finetune report\n\nbase model: `{base_model}`; data: {data_info['source']} ({data_info['rows']} "
              f"rows: train {data_info['train']}, validation {data_info['validation']}, test {data_info['test']}); "
              f"best checkpoint (validation call F1 {trainer.state.best_metric}): `{best}`\n\n"
              f"Test split, {decoding_name(tuned_report)}:\n\n{table}\n")
        Path(output_dir, "finetune_report.md").write_text(md, encoding="utf-8")
        report["markdown"] = md
    _finish(trainer, tokenizer, output_dir, _card_text("finetune", data_info, metrics, args))
    return TrainingResult(output_dir, metrics, {}, data_info, report=report, trainer=trainer)


def _has_other_accelerator() -> bool:
    """An accelerator besides CUDA (TPU via torch_xla, Apple MPS) that bf16 can run on."""
    import importlib.util

    import torch

    mps = getattr(torch.backends, "mps", None)
    return importlib.util.find_spec("torch_xla") is not None or bool(mps and mps.is_available())


def _torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()
