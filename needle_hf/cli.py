"""`needle-hf` command line: parses arguments and calls the library (one plain function per command)."""
from __future__ import annotations

import argparse
import sys


def cmd_tokenize(args: argparse.Namespace) -> int:
    """Train the lossless byte-level BPE tokenizer on JSONL rows and save it (tokenizer.json + configs) to --out."""
    import json

    from tqdm.auto import tqdm

    from needle_hf.tokenization import row_texts, save_tokenizer, train_tokenizer

    rows = []  # (query, tools_text, answers_text) per row, as the model sees them
    for path in args.data:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(tqdm(f, desc=f"reading {path}", unit=" rows"), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg}, column {err.colno}); "
                                     "each line must be one JSON object {query, tools, answers}") from None
                try:
                    texts = row_texts(row)
                except ValueError as err:
                    raise ValueError(f"{path}:{lineno}: {err}") from None
                rows.append((row["query"], texts[-2], texts[-1]))
    if not rows:
        raise ValueError(f"no rows found in {', '.join(args.data)}")
    texts = [t for r in rows for t in r if t]
    print(f"training BPE (vocab_size={args.vocab_size}, min_frequency={args.min_frequency}) "
          f"on {len(texts)} texts from {len(rows)} rows", file=sys.stderr)
    tok = train_tokenizer(texts, vocab_size=args.vocab_size, min_frequency=args.min_frequency, show_progress=True)
    files = save_tokenizer(tok, args.out)

    # summary: lengths as the model will see them (encoder = query + <tools> + tools, max 1024; decoder = answers + 2)
    enc = tok.backend_tokenizer.encode_batch([t for r in rows for t in r], add_special_tokens=False)
    n_q = [len(e.ids) for e in enc[0::3]]
    n_t = [len(e.ids) for e in enc[1::3]]
    n_a = [len(e.ids) for e in enc[2::3]]
    max_len = tok.model_max_length
    enc_lens = [min(q, max_len - 2) + 1 + min(t, max_len - min(q, max_len - 2) - 1) for q, t in zip(n_q, n_t)]
    truncated = sum(q + 1 + t > max_len for q, t in zip(n_q, n_t))
    n_tokens = sum(n_q) + sum(n_t) + sum(n_a)
    n_chars = sum(len(t) for r in rows for t in r)
    print(f"saved tokenizer to {args.out} ({', '.join(files)})")
    print(f"vocab size: {len(tok)}")
    print(f"rows: {len(rows)}  texts: {len(texts)}")
    print(f"avg tokens per row: {n_tokens / len(rows):.1f} (query {sum(n_q) / len(rows):.1f}, "
          f"tools {sum(n_t) / len(rows):.1f}, answers {sum(n_a) / len(rows):.1f}); "
          f"{n_chars / max(n_tokens, 1):.2f} chars per token")
    print(f"encoder length: avg {sum(enc_lens) / len(rows):.1f}, max {max(enc_lens)}; "
          f"rows truncated at {max_len}: {truncated}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="needle-hf", description="Needle tool-calling models for Hugging Face.")
    sub = parser.add_subparsers(dest="command", required=True)
    # --- command parsers (one block per command) ---

    p = sub.add_parser("tokenize", help="train the byte-level BPE tokenizer on JSONL data",
                       description="Train Needle's lossless byte-level BPE tokenizer on JSONL rows "
                                   "{query, tools, answers} and save tokenizer.json + configs to --out.")
    p.add_argument("--data", action="append", required=True, metavar="FILE.jsonl",
                   help="JSONL data file (repeat for several, e.g. train and validation)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (AutoTokenizer.from_pretrained(DIR))")
    p.add_argument("--vocab-size", type=int, default=8192, help="total vocabulary size (default: 8192)")
    p.add_argument("--min-frequency", type=int, default=2, help="minimum pair count for a merge (default: 2)")
    p.set_defaults(func=cmd_tokenize)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, OSError) as err:
        # user errors: one clear line, no traceback
        print(f"needle-hf {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
