#!/usr/bin/env python
"""`accelerate launch` entry point for Needle training: the same flags as `needle-hf train|pretrain|finetune`.

    accelerate launch --config_file training_scripts/gpu_bf16.yaml training_scripts/train.py train DATA \
        --preset needle-26m --output-dir runs/needle --bf16

The Trainer inside picks up the distributed setup that `accelerate launch` (torchrun underneath) created: one
process per device, gradients all-reduced, only the main process writes checkpoints and the final model.
Extra flag: `--rank-checksums` writes DIR/weights_rank{RANK}.sha256 (sha256 of the state dict) on every process
after training, to check that all processes ended with the same weights.
"""
from __future__ import annotations

import argparse
import os
import sys

from needle_hf.training.cli_args import (add_finetune_arguments, add_pretrain_arguments, add_train_arguments,
                                         run_finetune, run_pretrain, run_train)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, add, run in (("train", add_train_arguments, run_train), ("pretrain", add_pretrain_arguments, run_pretrain),
                           ("finetune", add_finetune_arguments, run_finetune)):
        p = sub.add_parser(name)
        add(p)
        p.add_argument("--rank-checksums", action="store_true",
                       help="write DIR/weights_rank{RANK}.sha256 on every process after training")
        p.set_defaults(run=run)
    args = parser.parse_args(argv)
    from needle_hf.training.trainer import NonFiniteLossError

    try:
        result = args.run(args)
    except NonFiniteLossError as err:
        print(f"train.py {args.command}: stopped: {err}", file=sys.stderr)
        return 3
    if args.rank_checksums:
        from needle_hf.training.recipes import weights_checksum

        trainer = result.trainer
        model = trainer.accelerator.unwrap_model(trainer.model)
        rank = trainer.accelerator.process_index
        digest = weights_checksum(model)
        with open(os.path.join(args.output_dir, f"weights_rank{rank}.sha256"), "w") as f:
            f.write(f"{digest} world_size={trainer.accelerator.num_processes} step={trainer.state.global_step}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
