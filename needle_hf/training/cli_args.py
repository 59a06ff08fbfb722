"""Command-line arguments of ``train`` / ``pretrain`` / ``finetune``, shared by ``needle-hf`` and
``training_scripts/train.py`` (so both accept exactly the same flags)."""
from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_train_arguments", "add_pretrain_arguments", "add_finetune_arguments", "run_train", "run_pretrain",
           "run_finetune"]


def _weights(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 4 comma-separated numbers, got {text!r}") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected 4 weights (structure,name,value,key), got {text!r}")
    return values


def _config(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"--config must be a JSON object ({err.msg}), got {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--config must be a JSON object such as '{\"d_model\": 128}'")
    return value


def _common(p: argparse.ArgumentParser, *, lr_help: str) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--output-dir", required=True, metavar="DIR",
                   help="checkpoints (DIR/checkpoint-N) and the final model folder")
    g.add_argument("--resume", action="store_true",
                   help="continue from the last checkpoint in --output-dir (train reuses the tokenised data kept in "
                   "OUTPUT_DIR/prepared when rows, tokenizer and length limits are unchanged)")
    g.add_argument("--max-steps", type=int, default=-1, help="stop after N optimizer steps (default: --epochs)")
    g.add_argument("--epochs", type=float, default=None, help="training epochs")
    g.add_argument("--batch-size", type=int, default=16, help="examples per device per step (default 16)")
    g.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps (default 1)")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--bf16", action="store_true", help="bf16 autocast (CPU, recent GPUs, TPU)")
    g.add_argument("--use-cpu", action="store_true", help="train on CPU even if an accelerator is visible")
    g.add_argument("--save-steps", type=int, default=None, help="checkpoint every N steps")
    g.add_argument("--save-total-limit", type=int, default=3, help="keep at most N checkpoints (default 3)")
    g.add_argument("--logging-steps", type=int, default=10)
    g.add_argument("--report-to", default="none", help="Trainer reporters: none (default), tensorboard, wandb, all")
    g.add_argument("--num-workers", type=int, default=0, help="dataloader worker processes")
    g.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads per process (on a busy/shared CPU, 1 is often several times faster)")
    g.add_argument("--pad-to-multiple-of", type=int, default=None,
                   help="round padded lengths up (e.g. 64 on TPU: fewer shapes to compile)")
    o = p.add_argument_group("optimizer")
    o.add_argument("--lr", type=float, default=None, help=lr_help)
    o.add_argument("--muon-lr", type=float, default=0.02, help="Muon lr for attention projections (default 0.02)")
    o.add_argument("--no-muon", action="store_true", help="AdamW for every parameter (e.g. under FSDP)")
    o.add_argument("--warmup", type=float, default=0.05, help="WSD warmup: ratio (<1) or steps (default 0.05)")
    o.add_argument("--decay", type=float, default=0.05, help="WSD cosine decay: ratio (<1) or steps (default 0.05)")


def _tool_loss(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("losses and QAT")
    g.add_argument("--class-weights", type=_weights, default=None, metavar="S,N,V,K",
                   help="loss weight of structure,name,value,key tokens (default 1,2,4,1.5)")
    g.add_argument("--decision-weight", type=float, default=1.0,
                   help="extra loss weight on the first answer token, the call / no-call decision (default 1)")
    g.add_argument("--contrastive-every", type=int, default=10, help="contrastive loss every N steps (0 = off)")
    g.add_argument("--contrastive-weight", type=float, default=0.1)
    g.add_argument("--qat-every", type=int, default=100, help="INT4 fake-quant step every N steps (1 = always, 0 = off)")
    g.add_argument("--max-encoder-length", type=int, default=1024)
    g.add_argument("--max-decoder-length", type=int, default=512, help="longer answers are rejected (counted)")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="JSONL file or folder, dataset folder (save_dataset: parquet + card), or Hub dataset id")
    m = p.add_argument_group("model")
    m.add_argument("--preset", default=None, help="fresh model of this size: needle-tiny|mini|small|26m "
                                                  "(default needle-26m unless --model)")
    m.add_argument("--model", default=None, help="initialise from this model folder or Hub id")
    m.add_argument("--tokenizer", default=None, help="tokenizer folder or Hub id (default: the model's, or train one)")
    m.add_argument("--vocab-size", type=int, default=8192, help="vocab of a tokenizer trained on the data")
    m.add_argument("--config", type=_config, default=None, help="JSON config overrides for --preset")
    p.add_argument("--eval-data", default=None, help="evaluation rows (default: the dataset's validation split)")
    p.add_argument("--eval-steps", type=int, default=None, help="evaluate every N steps (default: every epoch)")
    p.add_argument("--max-eval-samples", type=int, default=256)
    p.add_argument("--eval-generate", action="store_true", help="also generate at evaluation: eval_call_f1 etc.")
    p.add_argument("--group-by-length", action="store_true", help="batch examples of similar length together")
    p.add_argument("--no-shuffle-tools", action="store_true", help="disable online tool/parameter shuffling")
    _common(p, lr_help="AdamW lr (default 3e-5 from --model, 3e-3 from scratch)")
    _tool_loss(p)


def add_pretrain_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("corpus", help=".txt (documents separated by blank lines), .jsonl (--text-field) or a folder")
    p.add_argument("--text-field", default="text")
    m = p.add_argument_group("model")
    m.add_argument("--preset", default=None, help="model size (default needle-26m)")
    m.add_argument("--model", default=None, help="continue pretraining this model folder")
    m.add_argument("--tokenizer", default=None, help="tokenizer folder (recommended: the one of your tool-call data)")
    m.add_argument("--vocab-size", type=int, default=8192)
    m.add_argument("--config", type=_config, default=None, help="JSON config overrides for --preset")
    p.add_argument("--max-encoder-length", type=int, default=256)
    p.add_argument("--max-decoder-length", type=int, default=128)
    p.add_argument("--group-by-length", action="store_true")
    _common(p, lr_help="AdamW lr (default 3e-3)")


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="JSONL rows {query, tools, answers}")
    p.add_argument("--model", default=None, help="base model folder or Hub id (default: the shipped model)")
    p.add_argument("--tokenizer", default=None, help="default: the model's")
    p.add_argument("--val-per-tool", type=int, default=10)
    p.add_argument("--test-per-tool", type=int, default=10)
    p.add_argument("--unconstrained-eval", action="store_true", help="score without grammar-constrained decoding")
    p.add_argument("--copy-strings", action=argparse.BooleanOptionalAction, default=None,
                   help="copy mode for the test evaluations (free-text string arguments copied from the request); "
                        "a full finetune also saves it as the model's config.copy_strings (default: the base's)")
    p.add_argument("--skip-base-eval", action="store_true")
    _common(p, lr_help="AdamW lr (default 3e-5)")
    _tool_loss(p)


def _run_kwargs(args) -> dict:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    kw = dict(max_steps=args.max_steps, batch_size=args.batch_size, gradient_accumulation_steps=args.grad_accum,
              seed=args.seed, bf16=args.bf16, save_total_limit=args.save_total_limit,
              logging_steps=args.logging_steps, report_to=args.report_to, resume=args.resume, muon_lr=args.muon_lr,
              use_muon=not args.no_muon, warmup=args.warmup, decay=args.decay)
    if args.epochs is not None:
        kw["num_train_epochs"] = args.epochs
    if args.use_cpu:
        kw["use_cpu"] = True
    if args.save_steps:
        kw["save_steps"] = args.save_steps
    if args.lr is not None:
        kw["learning_rate"] = args.lr
    if args.pad_to_multiple_of:
        kw["pad_to_multiple_of"] = args.pad_to_multiple_of
    if getattr(args, "num_workers", 0):
        kw["dataloader_num_workers"] = args.num_workers
    return kw


def _tool_kwargs(args) -> dict:
    return dict(class_weights=args.class_weights, decision_weight=args.decision_weight,
                contrastive_every=args.contrastive_every,
                contrastive_weight=args.contrastive_weight, qat_every=args.qat_every,
                max_encoder_length=args.max_encoder_length, max_decoder_length=args.max_decoder_length)


def _done(result, what: str) -> None:
    if result.trainer is not None and not result.trainer.is_world_process_zero():
        return
    m = result.train_metrics
    if result.data:
        print("data: " + ", ".join(f"{k} {v}" for k, v in result.data.items()))
    print(f"{what}: {m.get('global_step')} steps, train loss {m.get('train_loss', float('nan')):.4f}; "
          f"model saved to {result.output_dir}")


def run_train(args) -> "TrainingResult":  # noqa: F821
    from .recipes import train

    kw = {**_run_kwargs(args), **_tool_kwargs(args)}
    result = train(args.data, args.output_dir, preset=args.preset, model=args.model, tokenizer=args.tokenizer,
                   eval_data=args.eval_data, vocab_size=args.vocab_size, config_overrides=args.config,
                   eval_steps=args.eval_steps, max_eval_samples=args.max_eval_samples,
                   eval_generate=args.eval_generate, group_by_length=args.group_by_length,
                   shuffle_tools=not args.no_shuffle_tools, **kw)
    _done(result, "train")
    if result.eval_metrics and result.trainer.is_world_process_zero():
        shown = {k: v for k, v in result.eval_metrics.items() if k.startswith("eval_") and "runtime" not in k
                 and "per_second" not in k}
        print("eval: " + ", ".join(f"{k[5:]} {v:.4f}" if isinstance(v, float) else f"{k[5:]} {v}"
                                   for k, v in shown.items()))
    return result


def run_pretrain(args) -> "TrainingResult":  # noqa: F821
    from .recipes import pretrain

    result = pretrain(args.corpus, args.output_dir, preset=args.preset, model=args.model, tokenizer=args.tokenizer,
                      vocab_size=args.vocab_size, text_field=args.text_field, config_overrides=args.config,
                      max_encoder_length=args.max_encoder_length, max_decoder_length=args.max_decoder_length,
                      group_by_length=args.group_by_length, **_run_kwargs(args))
    _done(result, "pretrain")
    return result


def run_finetune(args) -> "TrainingResult":  # noqa: F821
    from .recipes import finetune

    kw = {**_run_kwargs(args), **_tool_kwargs(args)}
    kw.pop("save_steps", None)  # finetune checkpoints once per epoch (best-epoch selection)
    from needle_hf import DEFAULT_MODEL

    result = finetune(args.data, args.model or DEFAULT_MODEL, args.output_dir, tokenizer=args.tokenizer,
                      val_per_tool=args.val_per_tool, test_per_tool=args.test_per_tool,
                      constrained_eval=not args.unconstrained_eval, copy_strings=args.copy_strings,
                      skip_base_eval=args.skip_base_eval, **kw)
    _done(result, "finetune")
    if result.report and result.report.get("markdown"):
        print(result.report["markdown"], file=sys.stdout)
    return result
