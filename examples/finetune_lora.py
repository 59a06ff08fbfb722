"""Finetune a LoRA adapter for your own tools, end to end on CPU, and compare it with the base model.

1. generate training rows for three example tools with the offline generator (no network, no API key);
2. `needle_hf.lora.finetune_lora`: per-tool splits, base evaluation on the test split, LoRA training of the
   attention projections, best epoch by validation call F1, finetuned evaluation on the same test split;
3. print the base-vs-finetuned table and use the adapter through the pipeline.

    python examples/finetune_lora.py                          # the model shipped in the package
    python examples/finetune_lora.py --model Org/needle-x     # any Needle base (folder or Hub id)
    python examples/finetune_lora.py --tiny-base 300          # no trained model at hand: train needle-tiny for
                                                              # 300 steps first (1-2 min; for trying the pipeline:
                                                              # its numbers say nothing about a real base)

The same from the command line:  needle-hf generate-data ... ; needle-hf finetune data.jsonl --lora --model BASE
--output-dir adapter   (and `needle-hf push adapter --repo-id ORG/NAME --base-model-id ORG/BASE` to publish it).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import needle_hf
from needle_hf.data.io import write_jsonl
from needle_hf.data.offline import generate_rows
from needle_hf.inference import load_pipeline
from needle_hf.lora import finetune_lora

TOOLS = [
    {"name": "book_meeting_room", "description": "Reserve a meeting room",
     "parameters": {"room": {"type": "string", "description": "Room name", "required": True,
                             "enum": ["Atlas", "Borealis", "Cosmos", "Delta"]},
                    "duration_minutes": {"type": "integer", "description": "Length of the booking in minutes",
                                         "required": True}}},
    {"name": "order_coffee", "description": "Order a coffee from the office cafe",
     "parameters": {"drink": {"type": "string", "description": "Drink", "required": True,
                              "enum": ["espresso", "latte", "cappuccino", "americano"]},
                    "size": {"type": "string", "description": "Cup size", "required": False,
                             "enum": ["small", "medium", "large"]}}},
    {"name": "report_bug", "description": "File a bug report in the issue tracker",
     "parameters": {"title": {"type": "string", "description": "Short summary of the bug", "required": True},
                    "severity": {"type": "string", "description": "How bad it is", "required": True,
                                 "enum": ["low", "medium", "high", "critical"]}}},
]


# What the stand-in tiny base is trained on: other tools (never the example ones), so the adapter has to learn new
# tools on top of a model that knows the format and how to copy values.
OTHER_TOOLS = [
    {"name": "send_email", "description": "Send an email",
     "parameters": {"to": {"type": "string", "description": "Recipient", "required": True},
                    "subject": {"type": "string", "description": "Subject line", "required": True}}},
    {"name": "set_reminder", "description": "Remind the user later",
     "parameters": {"text": {"type": "string", "description": "What to remember", "required": True},
                    "minutes": {"type": "integer", "description": "Minutes from now", "required": True}}},
    {"name": "get_weather", "description": "Current weather for a city",
     "parameters": {"city": {"type": "string", "description": "City", "required": True},
                    "unit": {"type": "string", "description": "Unit", "required": False,
                             "enum": ["celsius", "fahrenheit"]}}},
    {"name": "create_task", "description": "Add a task to the to-do list",
     "parameters": {"title": {"type": "string", "description": "Task title", "required": True},
                    "priority": {"type": "string", "description": "Priority", "required": False,
                                 "enum": ["low", "normal", "urgent"]}}},
    {"name": "call_taxi", "description": "Order a taxi",
     "parameters": {"destination": {"type": "string", "description": "Where to go", "required": True},
                    "passengers": {"type": "integer", "description": "Number of passengers", "required": False}}},
]


def train_tiny_base(out: Path, steps: int, seed: int = 0) -> str:
    """needle-tiny trained from scratch for `steps` steps on rows for OTHER_TOOLS: a stand-in when no trained base
    is at hand. It learns the answer format and value copying, but has never seen the example tools."""
    from needle_hf.training.recipes import train

    rows = list(generate_rows(4000, seed=seed, tools=OTHER_TOOLS))
    print(f"training needle-tiny from scratch: {steps} steps on {len(rows)} rows for other tools", file=sys.stderr)
    train(rows, out, preset="needle-tiny", vocab_size=2048, max_steps=steps, batch_size=16, learning_rate=3e-3,
          contrastive_every=0, qat_every=0, eval_quant_bits=0, save_steps=10**9, logging_steps=50, seed=seed)
    return str(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="base model folder or Hub id (default: needle_hf.DEFAULT_MODEL)")
    p.add_argument("--tiny-base", type=int, metavar="STEPS",
                   help="first train a needle-tiny base from scratch for STEPS steps (no trained model needed; "
                        "~300 steps take 1-2 minutes on 2 CPU cores)")
    p.add_argument("--out", default="lora-example", help="working folder (data, adapter, reports)")
    p.add_argument("--rows", type=int, default=450, help="generated rows for the example tools (default 450)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3, help="LoRA learning rate (AdamW; default 1e-3)")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    model = args.model
    if args.tiny_base:
        model = train_tiny_base(out / "tiny-base", args.tiny_base)
    elif model is None:
        model = needle_hf.DEFAULT_MODEL
        if not Path(model, "config.json").is_file():
            print(f"the default model is not installed at {model}; pass --model PATH_OR_HUB_ID or --tiny-base 300",
                  file=sys.stderr)
            return 2

    rows = list(generate_rows(args.rows, seed=1, tools=TOOLS))
    data = out / "data.jsonl"
    write_jsonl(rows, data)
    print(f"generated {len(rows)} rows for {', '.join(t['name'] for t in TOOLS)} -> {data}", file=sys.stderr)

    result = finetune_lora(data, model, out / "adapter", rank=args.rank, alpha=args.alpha, epochs=args.epochs,
                           learning_rate=args.lr, batch_size=args.batch_size)
    print(f"\nbase: {model}\nrows: {json.dumps(result.splits)}; best epoch {result.best_epoch} "
          f"(validation call F1 {result.best_val_call_f1:.3f}); total {time.time() - started:.0f} s\n")
    print(result.table())

    pipe = load_pipeline(model, adapter=out / "adapter")
    query = "book Cosmos for 45 minutes please"
    print(f"\n{query!r} -> {pipe(query, tools=TOOLS)}")
    print(f"adapter folder: {result.adapter_dir} (publish: needle-hf push {result.adapter_dir} --repo-id ORG/NAME)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
