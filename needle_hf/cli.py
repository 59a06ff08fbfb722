"""`needle-hf` command line: parses arguments and calls the library (one plain function per command)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_tokenize(args: argparse.Namespace) -> int:
    """Train the lossless byte-level BPE tokenizer on JSONL rows and save it (tokenizer.json + configs) to --out."""
    from needle_hf.tokenization import length_summary, read_row_texts, save_tokenizer, train_tokenizer

    rows = read_row_texts(args.data)  # (query, tools_text, answers_text) per row, as the model sees them
    if not rows:
        raise ValueError(f"no rows found in {', '.join(args.data)}")
    texts = [t for r in rows for t in r if t]
    print(f"training BPE (vocab_size={args.vocab_size}, min_frequency={args.min_frequency}) "
          f"on {len(texts)} texts from {len(rows)} rows", file=sys.stderr)
    tok = train_tokenizer(texts, vocab_size=args.vocab_size, min_frequency=args.min_frequency, show_progress=True)
    files = save_tokenizer(tok, args.out)
    s = length_summary(tok, rows)
    print(f"saved tokenizer to {args.out} ({', '.join(files)})")
    smaller = f" (requested {args.vocab_size}; the corpus has no more merges)" if len(tok) < args.vocab_size else ""
    print(f"vocab size: {len(tok)}{smaller}")
    print(f"rows: {len(rows)}  texts: {len(texts)}")
    print(f"avg tokens per row: {s['tokens_per_row']:.1f} (query {s['query']:.1f}, tools {s['tools']:.1f}, "
          f"answers {s['answers']:.1f}); {s['chars_per_token']:.2f} chars per token")
    print(f"encoder length: avg {s['encoder_avg']:.1f}, max {s['encoder_max']}; "
          f"rows truncated at {s['max_length']}: {s['truncated']}")
    return 0


TOP_K_HELP = ("keep only the K tools the retrieval head ranks best for the request, then decode (default: every "
              "tool)")


def _positive_int(text: str) -> int:
    """argparse type for counts and sizes: a clear usage error for 0, negatives and non-numbers."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _stderr_streamer(tokenizer):
    """`--stream`: decoded text on stderr as it is generated (TextStreamer prints to stdout), so stdout holds only
    the JSON calls."""
    from transformers import TextStreamer  # imported here: the CLI starts without transformers

    class StderrStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False):
            print(text, end="\n" if stream_end else "", file=sys.stderr, flush=True)

    return StderrStreamer(tokenizer, skip_prompt=False, skip_special_tokens=True)


def _add_copy_strings_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--copy-strings", action=argparse.BooleanOptionalAction, default=None,
                   help="copy mode of constrained decoding: free-text string arguments must be words copied from the "
                        "request, or ISO dates/times / short codes where the parameter takes them (default: the "
                        "model's config.copy_strings)")


def cmd_run(args: argparse.Namespace) -> int:
    """Run the tool-calling pipeline on one query and print the calls as JSON."""
    import json

    from needle_hf.inference import load_pipeline, read_tools_arg

    if not args.query.strip():  # before the weights load
        raise ValueError("--query is empty: give the request as text, e.g. --query \"Set a timer for 10 minutes\"")
    tools = read_tools_arg(args.tools)
    pipe = load_pipeline(args.model)
    options = {"constrained": not args.no_constrained, "copy_strings": args.copy_strings,
               "max_new_tokens": args.max_new_tokens, "top_k_tools": args.top_k_tools, "return_text": True}
    if args.stream:
        options["streamer"] = _stderr_streamer(pipe.tokenizer)
    result = pipe(args.query, tools=tools, **options)  # dropped invalid output is logged (stderr) by the pipeline
    print(json.dumps(result["calls"], ensure_ascii=False))
    return 0


def cmd_validate_data(args: argparse.Namespace) -> int:
    """Validate JSONL rows: print every problem as file:line, per-tool counts and warnings; exit 1 if a row is invalid."""
    import json

    from needle_hf.data.io import validate_rows

    report = validate_rows(args.files)
    if args.json:
        print(json.dumps({**report.to_dict(), "under_minimum": report.under_minimum(args.min_per_tool)},
                         ensure_ascii=False, indent=2))
    else:
        print(report.format(min_per_tool=args.min_per_tool, max_problems=args.max_problems))
    if report.total == 0:
        print(f"needle-hf validate-data: no rows in {', '.join(args.files)}", file=sys.stderr)
        return 1
    return 0 if report.ok else 1


def cmd_push_data(args: argparse.Namespace) -> int:
    """Upload a dataset folder (data/*.parquet + README.md card) to a Hub dataset repo."""
    from needle_hf.hub import push_dataset

    info = push_dataset(args.folder, args.repo_id, private=True if args.private else None, revision=args.revision,
                        commit_message=args.message, create_pr=args.create_pr)
    print(f"pushed {args.folder} to {info.repo_url} (commit {info.oid[:8]})")
    if getattr(info, "pr_url", None):
        print(f"pull request: {info.pr_url}")
    print(f'load it with: datasets.load_dataset("{args.repo_id}")')
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate a model on rows {query, tools, answers}; print a table and write JSON + markdown reports."""
    from needle_hf import DEFAULT_MODEL
    from needle_hf.evaluation.runner import evaluate_rows, load_eval_rows, metrics_table, write_reports
    from needle_hf.inference import load_pipeline

    rows = load_eval_rows(args.data, split=args.split, limit=args.limit)
    pipe = load_pipeline(args.model)
    manifest = getattr(pipe.model, "manifest", None)  # an ONNX export (needle_hf.onnx_runner.OnnxNeedleModel)
    if manifest is not None and args.num_beams != 1:
        raise ValueError(f"--num-beams {args.num_beams}: an ONNX export decodes greedily; drop --num-beams, or "
                         "evaluate the torch model it was exported from")
    report = evaluate_rows(pipe.model, pipe.tokenizer, rows, constrained=not args.no_constrained,
                           copy_strings=args.copy_strings, num_beams=args.num_beams, batch_size=args.batch_size,
                           max_new_tokens=args.max_new_tokens, top_k_tools=args.top_k_tools)
    # what was evaluated, so reports of different models / backends / data can be told apart
    jsonl = Path(args.data).suffix == ".jsonl" or Path(args.data).is_file()  # as load_eval_rows reads it
    report.update(model=str(args.model or DEFAULT_MODEL), backend="onnxruntime" if manifest is not None else "torch",
                  quantization=(manifest or {}).get("quantization"), data=str(args.data),
                  split=None if jsonl else args.split or "test", limit=args.limit)
    print(metrics_table(report))
    json_path, md_path = write_reports(report, args.out)
    print(f"reports: {json_path} {md_path}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the no-call decision threshold (config.no_call_bias) of a model folder on validation rows."""
    from needle_hf.evaluation.calibration import calibrate_model
    from needle_hf.evaluation.runner import load_eval_rows

    if not Path(args.model, "config.json").is_file():
        raise ValueError(f"--model {args.model}: not a model folder with a config.json (calibrate writes into it; "
                         "download a Hub model with `hf download` first)")
    rows = load_eval_rows(args.data, split=args.split, limit=args.limit, default_split="validation")
    result = calibrate_model(args.model, rows, write=not args.dry_run, batch_size=args.batch_size)
    print(result.summary())
    print("dry run: config.json unchanged" if args.dry_run else f"wrote no_call_bias to {args.model}/config.json")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert an original Needle v1 checkpoint (pickle + SentencePiece model) into a Hugging Face model folder."""
    from needle_hf.convert import convert_checkpoint

    result = convert_checkpoint(args.checkpoint, args.spm, args.out, dtype=args.dtype, overwrite=args.overwrite,
                                check_tokenizer_ids=not args.no_tokenizer_check)
    c = result.config
    print(f"converted {args.checkpoint} (sha256 {result.checkpoint_sha256}) -> {result.out_dir}")
    print(f"model: {result.num_parameters:,} parameters, d_model {c.d_model}, {c.num_attention_heads} heads / "
          f"{c.num_key_value_heads} KV heads, {c.encoder_layers} encoder + {c.decoder_layers} decoder layers, "
          f"vocab {c.vocab_size}, dtype {args.dtype}, ensure_ascii_json {c.ensure_ascii_json}")
    if result.tokenizer_texts_checked:
        print(f"tokenizer: same ids as sentencepiece on {result.tokenizer_texts_checked} probe texts")
    if result.unknown_config_keys:
        print(f"warning: ignored unknown config keys: {', '.join(result.unknown_config_keys)}", file=sys.stderr)
    print(f"files: {', '.join(result.files)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a Needle model to ONNX (encoder + decoder with KV cache), optionally with INT8 weights."""
    from needle_hf import DEFAULT_MODEL
    from needle_hf.onnx_export import export_onnx

    result = export_onnx(args.model or DEFAULT_MODEL, args.out, int8=args.int8, opset=args.opset,
                         overwrite=args.overwrite)
    sizes = ", ".join(f"{name} {(result.out_dir / name).stat().st_size / 1e6:.1f} MB" for name in result.files
                      if name.endswith(".onnx"))
    print(f"exported {args.model or DEFAULT_MODEL} -> {result.out_dir} ({result.quantization or 'fp32'}): {sizes}")
    print(f"check against torch: max difference {result.max_abs_diff:.2e}, same greedy tokens: "
          f"{result.greedy_tokens_match}")
    if args.int8:  # random inputs on INT8 weights drift far; real requests mostly do not
        print("  (INT8: the check runs on random inputs, where INT8 weights are expected to differ; measure the "
              f"answers with `needle-hf eval --model {result.out_dir} --data ...` against the torch model)")
    print(f"run it: needle-hf run --model {result.out_dir} --query \"Set a timer for 10 minutes\" "
          "--tools @examples/tools.json")
    return 0


def _training_errors(run, args: argparse.Namespace) -> int:
    """Run a training recipe; a NaN/inf loss stops it with a clear message (exit 3), never a broken checkpoint."""
    from needle_hf.training.trainer import NonFiniteLossError

    try:
        run(args)
    except NonFiniteLossError as err:
        print(f"needle-hf {args.command}: stopped: {err}", file=sys.stderr)
        return 3
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Post-train Needle on tool-call data (NeedleTrainer: Muon+AdamW, WSD, weighted loss, contrastive, QAT)."""
    from needle_hf.training.cli_args import run_train

    return _training_errors(run_train, args)


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Continuation pretraining on a plain-text corpus."""
    from needle_hf.training.cli_args import run_pretrain

    return _training_errors(run_pretrain, args)


def cmd_finetune(args: argparse.Namespace) -> int:
    """Full finetune of a base model on user JSONL with per-tool splits and a base-vs-finetuned report."""
    if getattr(args, "lora", False):  # --lora: a PEFT adapter instead (needle_hf.lora)
        return cmd_finetune_lora(args)
    if getattr(args, "push_to_hub", None):
        raise ValueError("--push-to-hub needs --lora; push a full finetune with `needle-hf push OUTPUT_DIR --repo-id`")
    from needle_hf.training.cli_args import run_finetune

    return _training_errors(run_finetune, args)


def cmd_generate_data(args: argparse.Namespace) -> int:
    """Generate synthetic rows {query, tools, answers} as JSONL (offline procedural generator or Gemini)."""
    import json

    from needle_hf.data.offline import format_summary, generate_to_file, load_tools_file

    tools = load_tools_file(args.tools) if args.tools else None
    if args.backend == "gemini":
        import needle_hf.data.gemini as gemini  # imported only for this backend (needs google-genai and a key)

        if args.mix:
            print("needle-hf generate-data: --mix applies to the offline backend only; ignored", file=sys.stderr)
        options = {"model": args.model} if args.model else {}
        summary = gemini.generate_rows_gemini(tools=tools, num_samples=args.num_samples, out=args.out, seed=args.seed,
                                              workers=args.workers, **options)
        print(json.dumps(summary, ensure_ascii=False, indent=None if args.json else 2))
        return 0
    summary = generate_to_file(args.out, args.num_samples, seed=args.seed, mix=args.mix, tools=tools,
                               resume=args.resume, progress=not args.no_progress)
    print(json.dumps(summary, ensure_ascii=False) if args.json else format_summary(summary))
    return 0


_LORA_OPTIONS = {"command", "func", "data", "model", "tokenizer", "output_dir", "val_per_tool", "test_per_tool",
                 "unconstrained_eval", "copy_strings", "epochs", "lr", "batch_size", "seed", "threads", "use_cpu",
                 "lora", "rank", "alpha", "target", "lora_dropout", "base_model_id", "push_to_hub", "private"}


def cmd_finetune_lora(args: argparse.Namespace) -> int:
    """`finetune --lora`: train a LoRA adapter for the tools in the data; print the base-vs-finetuned table."""
    from needle_hf.lora import finetune_lora

    # full-finetune options finetune_lora has no use for: refuse them rather than ignore them silently
    defaults = vars(build_parser().parse_args(["finetune", args.data, "--output-dir", args.output_dir]))
    unused = sorted(k for k, v in vars(args).items() if k not in _LORA_OPTIONS and k in defaults and v != defaults[k])
    if unused:
        raise ValueError("finetune --lora does not use " + ", ".join("--" + k.replace("_", "-") for k in unused)
                         + " (LoRA trains whole epochs with AdamW, no QAT or contrastive loss; see "
                         "`needle-hf finetune --help`); drop them, or leave out --lora for a full finetune")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    kwargs = {"device": "cpu"} if args.use_cpu else {}
    if getattr(args, "epochs", None) is not None:
        kwargs["epochs"] = int(round(args.epochs))
    if getattr(args, "lr", None) is not None:
        kwargs["learning_rate"] = args.lr
    result = finetune_lora(
        args.data, model=args.model, out_dir=args.output_dir, tokenizer=getattr(args, "tokenizer", None),
        rank=args.rank, alpha=args.alpha, target=args.target, dropout=args.lora_dropout,
        batch_size=args.batch_size, seed=args.seed, val_per_tool=args.val_per_tool,
        test_per_tool=args.test_per_tool, constrained=not getattr(args, "unconstrained_eval", False),
        copy_strings=args.copy_strings,
        base_model_id=args.base_model_id, push_to_hub=args.push_to_hub, private=True if args.private else None,
        **kwargs)
    print(result.table())
    print(f"best epoch {result.best_epoch} (validation call F1 {result.best_val_call_f1:.3f}); adapter saved to "
          f"{result.adapter_dir} (adapter_config.json, adapter_model.safetensors, tools.json, README.md, "
          f"finetune_report.json/.md)")
    if result.commit_url:
        print(f"pushed: {result.commit_url}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge a LoRA adapter into its base: a plain Needle model folder (no peft needed to load it)."""
    from needle_hf.lora import merge_adapter

    out = merge_adapter(args.base, args.adapter, args.out)
    print(f"merged {args.adapter} into {args.base}: {out}")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    """Upload a model folder, a LoRA adapter folder or a dataset folder (detected) to the Hub."""
    from needle_hf.hub import push_any

    kwargs = dict(private=True if args.private else None, revision=args.revision, commit_message=args.message,
                  create_pr=args.create_pr)
    if args.base_model_id:
        kwargs["base_model_id"] = args.base_model_id
    kind, info = push_any(args.folder, args.repo_id, kind=args.kind, **kwargs)
    print(f"pushed {kind} folder {args.folder} to {args.repo_id} ({getattr(info, 'commit_url', info)})")
    if getattr(info, "pr_url", None):
        print(f"pull request: {info.pr_url}")
    hints = {"model": f'pipeline("tool-calling", model="{args.repo_id}", trust_remote_code=True)',
             "adapter": f'needle_hf.inference.load_pipeline(BASE, adapter="{args.repo_id}")',
             "dataset": f'datasets.load_dataset("{args.repo_id}")'}
    print(f"load it with: {hints[kind]}")
    return 0


def cmd_split_data(args: argparse.Namespace) -> int:
    """Validate JSONL rows and save train / validation / test / test_unseen_tools as a dataset folder (parquet)."""
    from needle_hf.data.io import load_rows
    from needle_hf.data.splits import extend_train, save_dataset, split_rows, to_dataset_dict

    rows = load_rows(args.data)
    if args.extend:  # grow an existing dataset's train split; its evaluation splits stay as they are
        result = extend_train(args.extend, rows)
    else:
        result = split_rows(rows, seed=args.seed, validation_size=args.validation_size, test_size=args.test_size,
                            unseen_tool_fraction=args.unseen_tool_fraction)
    dsd = to_dataset_dict(result.splits)
    out = save_dataset(dsd, args.out, overwrite=args.overwrite, generator=args.generator, seed=args.seed)
    print(result.summary())
    print(f"saved {out} ({', '.join(f'{k}: {len(v)}' for k, v in dsd.items())})")
    return 0


def _hub_arguments(p: argparse.ArgumentParser, repo_help: str) -> None:
    """The upload options `push` and `push-data` share."""
    p.add_argument("--repo-id", required=True, metavar="ORG/NAME", help=repo_help)
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--revision", metavar="BRANCH", help="branch to push to (created from main if missing)")
    p.add_argument("--message", metavar="TEXT", help="commit message")
    p.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to the branch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="needle-hf", description="Needle tool-calling models for Hugging Face.")
    sub = parser.add_subparsers(dest="command", required=True)
    # --- command parsers (one block per command) ---

    p = sub.add_parser("run", help="call tools for a request with a Needle model",
                       description="Turn a request and a list of tools into JSON tool calls (printed on stdout).")
    p.add_argument("--query", required=True, help="the user's request")
    p.add_argument("--tools", required=True, metavar="JSON_OR_@FILE",
                   help="tool schemas as JSON text, or @path/to/tools.json (any accepted tool format)")
    p.add_argument("--model", metavar="PATH_OR_HUB_ID",
                   help="model folder, Hub id or ONNX export (default: the shipped model)")
    p.add_argument("--no-constrained", action="store_true", help="raw decoding without the JSON grammar")
    _add_copy_strings_argument(p)
    p.add_argument("--max-new-tokens", type=_positive_int, default=256, help="generation budget (default: 256)")
    p.add_argument("--top-k-tools", type=_positive_int, metavar="K", help=TOP_K_HELP)
    p.add_argument("--stream", action="store_true", help="show tokens on stderr as they are generated")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("eval", help="evaluate a model's tool calls on a dataset",
                       description="Generate tool calls for every row and score them (exact match, parse rate, "
                                   "name/call F1, argument/value accuracy, no-call accuracy, per category).")
    p.add_argument("--model", metavar="PATH_OR_HUB_ID",
                   help="model folder, Hub id or ONNX export (default: the shipped model)")
    p.add_argument("--data", required=True, metavar="DATASET_OR_JSONL",
                   help="a JSONL file, a dataset folder (parquet) or a Hub dataset id")
    p.add_argument("--split", default=None, help="split of a dataset folder / Hub dataset (default: test)")
    p.add_argument("--limit", type=_positive_int, help="evaluate only the first N rows")
    p.add_argument("--no-constrained", action="store_true", help="raw decoding without the JSON grammar")
    _add_copy_strings_argument(p)
    p.add_argument("--num-beams", type=int, default=1, help="beam search with N beams (default 1: greedy)")
    p.add_argument("--top-k-tools", type=_positive_int, metavar="K", help=TOP_K_HELP)
    p.add_argument("--batch-size", type=_positive_int, default=16, help="rows per generate() call (default 16)")
    p.add_argument("--max-new-tokens", type=_positive_int, default=256, help="generation budget (default: 256)")
    p.add_argument("--out", default="eval_report.json",
                   help="JSON report path; markdown goes next to it (.md) (default: eval_report.json)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="fit the call / no-call decision threshold on validation data",
                       description="Measure, on held-out rows, how the model's first answer token decides between "
                                   "`[]` and a call, and store the threshold that makes the most decisions right as "
                                   "config.no_call_bias in the model folder (applied by the pipeline).")
    p.add_argument("--model", required=True, metavar="FOLDER", help="model folder (its config.json is updated)")
    p.add_argument("--data", required=True, metavar="DATASET_OR_JSONL", help="rows with and without calls")
    p.add_argument("--split", default=None, help="split of a dataset folder (default: validation)")
    p.add_argument("--limit", type=_positive_int, default=1000, help="use the first N rows (default 1000)")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--dry-run", action="store_true", help="print the fit, leave config.json alone")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("split-data", help="split JSONL rows into a dataset folder (incl. test_unseen_tools)",
                       description="Validate rows and write train / validation / test / test_unseen_tools (tools never "
                                   "seen in train) as parquet + dataset card, loadable with datasets.load_dataset.")
    p.add_argument("data", nargs="+", help="JSONL file(s)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation-size", type=float, default=0.05)
    p.add_argument("--test-size", type=float, default=0.05)
    p.add_argument("--unseen-tool-fraction", type=float, default=0.1,
                   help="share of tool names held out for test_unseen_tools (default 0.1)")
    p.add_argument("--extend", metavar="DATASET",
                   help="instead of splitting: add the rows to this dataset folder's train split, dropping (and "
                        "counting) rows that offer its held-out tools or repeat its evaluation rows")
    p.add_argument("--generator", default="needle_hf.data.offline", help="generator named in the dataset card")
    p.add_argument("--overwrite", action="store_true", help="replace existing parquet files in --out")
    p.set_defaults(func=cmd_split_data)

    p = sub.add_parser("tokenize", help="train the byte-level BPE tokenizer on JSONL data",
                       description="Train Needle's lossless byte-level BPE tokenizer on JSONL rows "
                                   "{query, tools, answers} and save tokenizer.json + configs to --out.")
    p.add_argument("--data", action="append", required=True, metavar="FILE.jsonl",
                   help="JSONL data file (repeat for several, e.g. train and validation)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (AutoTokenizer.from_pretrained(DIR))")
    p.add_argument("--vocab-size", type=int, default=8192, help="total vocabulary size (default: 8192)")
    p.add_argument("--min-frequency", type=int, default=2, help="minimum pair count for a merge (default: 2)")
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("validate-data", help="check JSONL rows {query, tools, answers} and report every problem",
                       description="Validate JSONL data: prints each problem as FILE:LINE: message (invalid JSON, "
                                   "missing field, wrong type, tools or answers that do not parse, unknown tool, "
                                   "missing required argument, wrong argument type), counts per tool and call type, "
                                   "duplicates, and a WARNING for tools with too few examples. Exit code 1 if any "
                                   "row is invalid.")
    p.add_argument("files", nargs="+", metavar="FILE.jsonl", help="JSONL file(s), folder(s) of *.jsonl, or globs")
    p.add_argument("--min-per-tool", type=int, default=120,
                   help="warn for tools with fewer examples (rows calling them) than this (default: 120)")
    p.add_argument("--max-problems", type=int, default=None, help="print at most this many problems (default: all)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_validate_data)

    p = sub.add_parser("push-data", help="upload a dataset folder (parquet + card) to the Hugging Face Hub",
                       description="Upload a dataset folder written by needle-hf (data/{split}-*.parquet + README.md) "
                                   "to a Hub dataset repo (created if missing). Needs a token with write access "
                                   "(HF_TOKEN or `hf auth login`); HF_ENDPOINT selects another Hub.")
    p.add_argument("folder", metavar="FOLDER", help="dataset folder")
    _hub_arguments(p, "dataset repo on the Hub")
    p.set_defaults(func=cmd_push_data)
    p = sub.add_parser("convert", help="convert an original Needle v1 checkpoint + SentencePiece model to a folder",
                       description="Convert an original Needle v1 JAX checkpoint (needle.pkl, read with a restricted "
                                   "unpickler that refuses anything but dicts, lists, numbers and numpy arrays) and "
                                   "its SentencePiece model into a Hugging Face model folder: safetensors, config, "
                                   "generation config, tokenizer.json (same ids as sentencepiece), remote code, "
                                   "tool-calling pipeline entry and a model card.")
    p.add_argument("checkpoint", metavar="CHECKPOINT.pkl", help="original checkpoint {'params': ..., 'config': ...}")
    p.add_argument("--spm", required=True, metavar="MODEL", help="the checkpoint's SentencePiece model (needle.model)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist or be empty)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                   help="dtype of the saved weights (default: float32; the checkpoint stores float16)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--no-tokenizer-check", action="store_true",
                   help="skip the id-for-id check of the converted tokenizer against sentencepiece")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("export", help="export a model to ONNX (encoder + decoder with KV cache) for ONNX Runtime",
                       description="Writes encoder.onnx, decoder.onnx, the config, the tokenizer and needle_onnx.json "
                                   "to --out and checks the graphs against torch. `needle-hf run/eval --model OUT` "
                                   "then decode with ONNX Runtime (greedy; constrained decoding as usual).")
    p.add_argument("--model", metavar="PATH_OR_HUB_ID", help="model folder or Hub id (default: the shipped model)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist or be empty)")
    p.add_argument("--int8", action="store_true", help="INT8 weights (ONNX Runtime dynamic quantization, per channel)")
    p.add_argument("--opset", type=_positive_int, help="ONNX opset (default: the exporter's)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out folder")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("generate-data", help="generate synthetic tool-calling data (JSONL)",
                       description="Write rows {query, tools, answers} to a JSONL file. The offline backend is "
                                   "procedural and deterministic for a seed (hand-authored + invented tools, many "
                                   "query surface forms, validated answers, no duplicates); the gemini backend asks "
                                   "Gemini (needs GEMINI_API_KEY) and always continues an existing file. With "
                                   "--tools, rows use exactly your tools (for finetuning on a custom tool set).")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="output JSONL file")
    p.add_argument("--num-samples", type=_positive_int, default=10000, help="rows wanted in the file (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--backend", choices=["offline", "gemini"], default="offline", help="generator (default: offline)")
    p.add_argument("--tools", metavar="TOOLS.json",
                   help="generate rows for exactly these tools: a JSON array (any accepted tool format) or JSONL")
    p.add_argument("--mix", metavar="TYPE=W,...",
                   help="offline call-type weights, e.g. single=0.5,single_tool=0.1,parallel=0.2,none=0.2 (default)")
    p.add_argument("--resume", action="store_true",
                   help="continue an existing --out file (same seed: same result as one uninterrupted run)")
    p.add_argument("--model", metavar="NAME", help="Gemini model (gemini backend; default: the backend's default)")
    p.add_argument("--workers", type=_positive_int, default=4, help="Gemini requests in flight (gemini backend; default: 4)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_generate_data)

    from needle_hf.training.cli_args import add_finetune_arguments, add_pretrain_arguments, add_train_arguments

    p = sub.add_parser("train", help="train a Needle model on tool-call data (JSONL, dataset folder or Hub id)",
                       description="Post-train (or train from scratch with --preset) on rows {query, tools, answers}: "
                                   "Muon+AdamW, WSD schedule, class-weighted token loss, contrastive loss, INT4 QAT. "
                                   "Writes checkpoints and a standard HF model folder to --output-dir; --resume "
                                   "continues an interrupted run. Multi-device: see training_scripts/README.md.")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("pretrain", help="continuation pretraining on a plain-text corpus",
                       description="Pretrain on any local text (.txt / .jsonl): the encoder reads the first part of "
                                   "a text, the decoder writes the continuation (spec 2.4).")
    add_pretrain_arguments(p)
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("finetune", help="finetune a trained model on your JSONL, with a base-vs-finetuned report",
                       description="Full finetune with per-tool train/validation/test splits; keeps the epoch with "
                                   "the best validation call F1 and writes finetune_report.json/.md.")
    add_finetune_arguments(p)
    g = p.add_argument_group("LoRA adapter (--lora; needle_hf.lora.finetune_lora)")
    g.add_argument("--lora", action="store_true",
                   help="train a PEFT LoRA adapter (task SEQ_2_SEQ_LM) instead of all weights; --output-dir becomes "
                        "a standard adapter folder + tools.json (default lr 1e-3, 3 epochs)")
    g.add_argument("--rank", type=int, default=16, help="LoRA rank (default 16)")
    g.add_argument("--alpha", type=float, default=32, help="LoRA alpha; scale = alpha/rank (default 32)")
    g.add_argument("--target", default="q_proj,k_proj,v_proj,o_proj",
                   help="comma-separated module names to adapt (default: all attention projections; "
                        "cross_attn.q_proj etc. for one block type)")
    g.add_argument("--lora-dropout", type=float, default=0.0, help="dropout on the LoRA input (default 0)")
    g.add_argument("--base-model-id", metavar="ORG/NAME",
                   help="Hub id of the base written into adapter_config.json (when --model is a local folder)")
    g.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the adapter folder to this Hub repo when done")
    g.add_argument("--private", action="store_true", help="with --push-to-hub: create the repo as private")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("merge", help="merge a LoRA adapter into its base model (a plain Needle model folder)",
                       description="Load BASE, apply the LoRA ADAPTER, merge_and_unload, and save a complete model "
                                   "folder (weights, tokenizer, remote code, tool-calling pipeline, card, the "
                                   "adapter's tools.json) that loads without peft.")
    p.add_argument("base", metavar="BASE", help="base model folder or Hub id")
    p.add_argument("adapter", metavar="ADAPTER", help="LoRA adapter folder or Hub id")
    p.add_argument("--out", required=True, metavar="DIR", help="output model folder")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("push", help="upload a model, LoRA adapter or dataset folder to the Hugging Face Hub",
                       description="Upload FOLDER to a Hub repo (created if missing). The kind is detected: "
                                   "adapter_config.json -> LoRA adapter; config.json -> model (a Needle folder "
                                   "without its remote code / pipeline entry / card is re-saved into a temporary "
                                   "copy first; checkpoint-*/ folders are skipped); data files -> dataset. Needs a "
                                   "token with write access (HF_TOKEN or `hf auth login`); HF_ENDPOINT selects "
                                   "another Hub.")
    p.add_argument("folder", metavar="FOLDER", help="model, adapter or dataset folder")
    _hub_arguments(p, "repo on the Hub")
    p.add_argument("--kind", choices=["model", "adapter", "dataset"], help="override the detected folder kind")
    p.add_argument("--base-model-id", metavar="ORG/NAME",
                   help="adapters: Hub id of the base model to write into the uploaded adapter_config.json")
    p.set_defaults(func=cmd_push)
    return parser


def _refuse_onnx_exports(args: argparse.Namespace) -> None:
    """Commands that train, calibrate or merge need the torch weights, which an ONNX export does not hold."""
    if args.command in ("run", "eval", "push", "export"):  # these take exports (export says so itself)
        return
    for name in ("model", "base"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            from needle_hf.onnx_export import MANIFEST

            if Path(value, MANIFEST).is_file():
                flag = "--model" if name == "model" else "BASE"
                raise ValueError(f"{flag} {value} is an ONNX export, which `needle-hf {args.command}` cannot use "
                                 "(it needs the torch weights); pass the model folder it was exported from")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _refuse_onnx_exports(args)
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, OSError, ImportError) as err:
        # user errors (ImportError: an optional extra is missing; the message names it): one clear line
        print(f"needle-hf {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
