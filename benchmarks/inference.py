"""Inference speed of Needle on CPU, batch 1 (results in benchmarks/inference.md).

    python benchmarks/inference.py                       # all cores, writes benchmarks/inference.md
    python benchmarks/inference.py --threads 1 --out /tmp/inference.md

Model: ``NeedleConfig()`` defaults (the released 26M architecture), random weights, eval mode, fp32,
``torch.inference_mode()``. Every timing is warmed up first and the median of ``--repeats`` runs is reported.

(a) Encoder prefill: one ``model.get_encoder()`` call on ``--enc-lens`` tokens (random ids).
(b) Decode with the KV cache, two ways, both excluding the encoder (its output is computed once beforehand):
    - ``generate()``: ``model.generate(encoder_outputs=..., max_new_tokens=N, min_new_tokens=N)``, greedy, so it
      cannot stop early; includes generate()'s own overhead (logits processors, stopping criteria, cache set-up).
    - manual loop: the decoder steps alone, ``model(encoder_outputs=..., decoder_input_ids=<last token>,
      cache=cache)`` + argmax, N times (the first step also projects the cross-attention K/V once).
(c) Grammar constraint (``needle_hf.constrained.NeedleGrammarProcessor``) with a real byte-level BPE tokenizer
    trained on ``--tokenizer-rows`` offline rows (vocab 8192 = the model's):
    - end to end: generate() without and with the processor on real rows' encoder inputs; per-token difference.
      A helper logits processor makes greedy decoding follow the gold answer (random weights would write
      ``<tool_call>[]</s>`` under the grammar), so all variants write the same, realistic tokens. ``+ budget
      steering`` adds the processor's ``max_new_tokens`` option as the pipeline sets it, with a budget so tight that
      every step is inside its 48-token closing window (worst case).
    - processor only, teacher-forced along the gold answers of ``--grammar-rows`` rows (realistic grammar states:
      names, keys, values, EOS): time of the processor call per answer token.
    - grammar compile time per tool list (first use of a tool list; later uses hit a cache) and the one-off
      llguidance tokenizer build.
(d) The reference's decode without KV cache (spec §5.1 / §10.1): every step reruns the whole decoder (use_cache=False)
    over the full 512-slot buffer and reads one row of logits; variant: rerun over the tokens so far only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

from needle_hf.constrained import NeedleGrammarProcessor


# ----------------------------------------------------------------------------------------------------- helpers
def median_time(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall time (s) of fn() over `repeats` runs after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine_facts(threads: int) -> dict:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    except OSError:
        model = platform.processor() or "?"
    import transformers

    busy = subprocess.run(["pgrep", "-f", "needle-hf train"], capture_output=True, text=True).stdout.split()
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__, "transformers": transformers.__version__,
            "threads": threads, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_avg_start": os.getloadavg(), "training_runs_seen": len(busy),
            "nice": f"this process ran at nice {os.nice(0)}",
            "command": "python " + " ".join(sys.argv)}


def build_model(preset: str | None = None):
    from needle_hf import NeedleConfig, NeedleForConditionalGeneration

    torch.manual_seed(0)
    config = NeedleConfig.from_preset(preset) if preset else NeedleConfig()  # default: the released 26M model
    model = NeedleForConditionalGeneration(config).eval()
    return model, sum(p.numel() for p in model.parameters())


def encode(model, ids: torch.Tensor):
    return model.get_encoder()(input_ids=ids, attention_mask=torch.ones_like(ids))


# ----------------------------------------------------------------------------------------------------- (a), (b)
def bench_prefill(model, enc_len: int, repeats: int) -> float:
    ids = torch.randint(6, model.config.vocab_size, (1, enc_len))
    return median_time(lambda: encode(model, ids), repeats)


def bench_generate(model, enc, n: int, repeats: int) -> tuple[float, int]:
    """(median seconds, new tokens) of greedy generate() of exactly n tokens given precomputed encoder outputs."""
    am = torch.ones(enc.last_hidden_state.shape[:2], dtype=torch.long)
    lengths = []

    def run():
        out = model.generate(encoder_outputs=enc, attention_mask=am, max_new_tokens=n, min_new_tokens=n,
                             do_sample=False, num_beams=1)
        lengths.append(out.shape[1] - 1)

    t = median_time(run, repeats)
    return t, lengths[-1]


def bench_manual_decode(model, enc, n: int, repeats: int) -> float:
    """N decoder steps with the KV cache (EncoderDecoderCache), greedy argmax, no generate()."""
    am = torch.ones(enc.last_hidden_state.shape[:2], dtype=torch.long)

    def run():
        tok = torch.tensor([[model.config.decoder_start_token_id]])
        cache = None
        for _ in range(n):
            out = model(encoder_outputs=enc, attention_mask=am, decoder_input_ids=tok, cache=cache, use_cache=True)
            # `cache` is the transformers 5.24 name (reading past_key_values there logs a deprecation warning)
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            tok = out.logits[:, -1:].argmax(-1)

    return median_time(run, repeats)


# ----------------------------------------------------------------------------------------------------- (d)
def bench_reference_decode(model, enc, n: int, repeats: int, full_buffer: bool, buffer_len: int = 512) -> float:
    """Spec §5.1: no cache; each step runs the decoder over the buffer (all `buffer_len` slots, or only the tokens so
    far) and takes the logits of position `pos`."""
    am = torch.ones(enc.last_hidden_state.shape[:2], dtype=torch.long)

    def run():
        buf = torch.zeros((1, buffer_len), dtype=torch.long)
        buf[0, 0] = model.config.decoder_start_token_id
        for pos in range(n):
            dec = buf if full_buffer else buf[:, : pos + 1]
            logits = model(encoder_outputs=enc, attention_mask=am, decoder_input_ids=dec, use_cache=False).logits
            buf[0, pos + 1] = logits[0, pos].argmax()

    return median_time(run, repeats)


# ----------------------------------------------------------------------------------------------------- (c)
def grammar_setup(n_rows: int, n_grammar_rows: int):
    """Tokenizer trained on offline rows, plus rows with calls (distinct tool lists) for the grammar benchmarks."""
    from needle_hf.data.offline import generate_rows
    from needle_hf.tokenization import corpus_from_rows, train_tokenizer

    rows = list(generate_rows(n_rows, seed=0))
    t0 = time.perf_counter()
    tokenizer = train_tokenizer(corpus_from_rows(rows), vocab_size=8192)
    train_s = time.perf_counter() - t0
    eval_rows = [r for r in generate_rows(4 * n_grammar_rows, seed=1) if r["answers"] != "[]"][:n_grammar_rows]
    return tokenizer, train_s, eval_rows


def bench_grammar_compile(tokenizer, rows) -> dict:
    """One-off llguidance tokenizer build, then per tool list: first (uncached) and cached processor construction."""
    from needle_hf.constrained import get_ll_tokenizer
    from needle_hf.tools import parse_tools

    t0 = time.perf_counter()
    get_ll_tokenizer(tokenizer)
    ll_s = time.perf_counter() - t0
    first, cached, copy, n_tools = [], [], [], []
    for r in rows:
        tools = parse_tools(r["tools"])
        n_tools.append(len(tools))
        t0 = time.perf_counter()
        NeedleGrammarProcessor(tokenizer, tools)
        first.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        NeedleGrammarProcessor(tokenizer, tools)
        cached.append(time.perf_counter() - t0)
        # copy mode: the grammar holds the request's words, so every new request compiles its own grammar
        t0 = time.perf_counter()
        NeedleGrammarProcessor(tokenizer, tools, copy_from=r["query"])
        copy.append(time.perf_counter() - t0)
    first.sort()
    copy.sort()
    return {"ll_tokenizer_s": ll_s, "first_median_s": statistics.median(first),
            "first_p90_s": first[int(0.9 * (len(first) - 1))], "first_max_s": first[-1],
            "cached_median_s": statistics.median(cached), "copy_median_s": statistics.median(copy),
            "copy_p90_s": copy[int(0.9 * (len(copy) - 1))], "copy_max_s": copy[-1], "tool_lists": len(rows),
            "tools_per_list": statistics.mean(n_tools)}


def bench_grammar_teacher_forced(tokenizer, rows, vocab: int, copy: bool = False) -> dict:
    """Processor time per token along each row's gold decoder sequence [1, <tool_call>, answer..., EOS]
    (`copy`: in copy mode, with the row's query as the copy source)."""
    from needle_hf.tools import parse_tools

    total_s, total_tokens = 0.0, 0
    scores = torch.zeros((1, vocab))
    for r in rows:
        tools = parse_tools(r["tools"])
        target = gold_decoder_tokens(tokenizer, r)
        proc = NeedleGrammarProcessor(tokenizer, tools, copy_from=r["query"] if copy else None)  # cache hit
        seq = [1]
        for token in target:
            ids = torch.tensor([seq])
            t0 = time.perf_counter()
            masked = proc(ids, scores)
            total_s += time.perf_counter() - t0
            if not torch.isfinite(masked[0, token]):
                raise RuntimeError(f"gold token {token} rejected by the grammar (row {r['query']!r})")
            seq.append(token)
        total_tokens += len(target)
    return {"per_token_s": total_s / total_tokens, "tokens": total_tokens, "rows": len(rows),
            "tokens_per_answer": total_tokens / len(rows)}


def gold_decoder_tokens(tokenizer, row) -> list[int]:
    """What the decoder must write for a row: <tool_call> + answer JSON + EOS (contract.md)."""
    from needle_hf.tools import answers_to_text, parse_calls

    return [4] + tokenizer(answers_to_text(parse_calls(row["answers"])), add_special_tokens=False)["input_ids"] + [1]


class FollowGold:
    """LogitsProcessor that adds 1e4 to the gold next token, so greedy generate() writes the gold answer whatever the
    (random) weights; placed before the grammar processor, which then sees the states of a real answer."""

    def __init__(self, gold: list[int]):
        self.gold = gold

    def __call__(self, input_ids, scores):
        pos = input_ids.shape[1] - 1  # input_ids starts with the decoder start token
        scores[:, self.gold[min(pos, len(self.gold) - 1)]] += 1e4
        return scores


def bench_grammar_generate(model, tokenizer, rows, repeats: int) -> dict:
    """generate() along the gold answers of `rows`: without / with the grammar / the grammar in copy mode / the
    grammar + budget steering."""
    from transformers import LogitsProcessorList

    from needle_hf.tokenization import build_encoder_ids
    from needle_hf.tools import parse_tools, tools_to_text

    cases = []
    for r in rows:
        tools = parse_tools(r["tools"])
        ids, _ = build_encoder_ids(tokenizer, r["query"], tools_to_text(tools))
        cases.append((tools, encode(model, torch.tensor([ids])), len(ids), gold_decoder_tokens(tokenizer, r),
                      r["query"]))
        NeedleGrammarProcessor(tokenizer, tools)  # compile once (cached), like any later request with these tools
        NeedleGrammarProcessor(tokenizer, tools, copy_from=r["query"])  # copy mode: compile time is in (c) compile

    calls = {"s": 0.0, "n": 0}

    class TimedProcessor(NeedleGrammarProcessor):  # the processor's own time inside generate()
        def __call__(self, input_ids, scores):
            t0 = time.perf_counter()
            out = super().__call__(input_ids, scores)
            calls["s"] += time.perf_counter() - t0
            calls["n"] += 1
            return out

    def run(variant: str, outputs: list):
        outputs.clear()
        for tools, enc, _, gold, query in cases:
            procs = [FollowGold(gold)]
            if variant == "grammar":
                procs.append(TimedProcessor(tokenizer, tools))
            elif variant == "copy":
                procs.append(NeedleGrammarProcessor(tokenizer, tools, copy_from=query))
            elif variant == "steer":  # budget = answer length + 8: every step is inside the 48-token closing window
                procs.append(NeedleGrammarProcessor(tokenizer, tools, max_new_tokens=len(gold) + 8))
            out = model.generate(encoder_outputs=enc, attention_mask=torch.ones(enc.last_hidden_state.shape[:2],
                                                                                dtype=torch.long),
                                 max_new_tokens=len(gold) + 8, do_sample=False, num_beams=1,
                                 logits_processor=LogitsProcessorList(procs))
            outputs.append(out[0, 1:].tolist())

    result = {"rows": len(rows), "tokens": sum(len(c[3]) for c in cases),
              "enc_len": statistics.mean(c[2] for c in cases), "tools": statistics.mean(len(c[0]) for c in cases)}
    golds = [c[3] for c in cases]
    variants = ("plain", "grammar", "copy", "steer")
    outputs: dict = {v: [] for v in variants}
    times: dict = {v: [] for v in variants}
    for rep in range(repeats + 1):  # variants interleaved, so a burst of other load hits them alike; rep 0 = warm-up
        for v in variants:
            if v == "grammar" and rep == 1:
                calls["s"], calls["n"] = 0.0, 0
            t0 = time.perf_counter()
            run(v, outputs[v])
            if rep:
                times[v].append(time.perf_counter() - t0)
    for v in variants:
        result[v] = statistics.median(times[v])
        result[v + "_tokens"] = sum(len(o) for o in outputs[v])
        result[v + "_mismatch"] = sum(o != g for o, g in zip(outputs[v], golds))
    result["processor_call_s"] = calls["s"] / calls["n"]  # mean over the timed with-grammar runs
    return result


# ----------------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--enc-lens", type=int, nargs="+", default=[256, 512], help="encoder lengths for (a) and (b)")
    ap.add_argument("--new-tokens", type=int, default=64, help="decoded tokens for (b) and (c)")
    ap.add_argument("--ref-new-tokens", type=int, default=32, help="decoded tokens for the no-cache reference (d)")
    ap.add_argument("--ref-enc-len", type=int, default=256, help="encoder length for (d)")
    ap.add_argument("--preset", default=None, help="a smaller preset for quick checks (default: NeedleConfig())")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-repeats", type=int, default=3)
    ap.add_argument("--tokenizer-rows", type=int, default=3000, help="offline rows to train the tokenizer on")
    ap.add_argument("--grammar-rows", type=int, default=100, help="rows (tool lists) for grammar compile / processor")
    ap.add_argument("--grammar-gen-rows", type=int, default=10, help="rows for the end-to-end grammar generate()")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "inference.md"),
                    help="markdown file to write ('' = print only)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    facts = machine_facts(torch.get_num_threads())
    model, n_params = build_model(args.preset)
    n = args.new_tokens
    lines = [f"| measurement | setting | time | tokens/s |", "|---|---|---|---|"]

    def row(what, setting, seconds, tokens, unit="ms/token"):
        per = seconds / tokens
        value = f"{per * 1e3:.2f} {unit}" if unit else f"{seconds * 1e3:.1f} ms"
        lines.append(f"| {what} | {setting} | {value} | {tokens / seconds:,.0f} |")
        print(lines[-1], flush=True)

    print("\n".join(lines), flush=True)
    with torch.inference_mode():
        # (a) + (b)
        for L in args.enc_lens:
            s = bench_prefill(model, L, args.repeats)
            row("(a) encoder prefill", f"{L} tokens", s, L, unit=None)
        for L in args.enc_lens:
            enc = encode(model, torch.randint(6, model.config.vocab_size, (1, L)))
            s, got = bench_generate(model, enc, n, args.repeats)
            assert got == n, got
            row("(b) decode, KV cache, generate()", f"enc {L}, {n} new tokens", s, n)
            s = bench_manual_decode(model, enc, n, args.repeats)
            row("(b) decode, KV cache, manual loop", f"enc {L}, {n} new tokens", s, n)
        # (c)
        tokenizer, tok_train_s, grammar_rows = grammar_setup(args.tokenizer_rows, args.grammar_rows)
        if len(tokenizer) != model.config.vocab_size:
            print(f"WARNING: tokenizer vocab {len(tokenizer)} != model vocab {model.config.vocab_size}")
        comp = bench_grammar_compile(tokenizer, grammar_rows)
        tf = bench_grammar_teacher_forced(tokenizer, grammar_rows, model.config.vocab_size)
        tf_copy = bench_grammar_teacher_forced(tokenizer, grammar_rows, model.config.vocab_size, copy=True)
        gen = bench_grammar_generate(model, tokenizer, grammar_rows[: args.grammar_gen_rows], args.repeats)
        k = gen["tokens"]
        setting = (f"gold answers of {gen['rows']} rows, {k} tokens, enc {gen['enc_len']:.0f} avg, "
                   f"{gen['tools']:.1f} tools avg")
        row("(c) generate() without grammar", setting, gen["plain"], gen["plain_tokens"])
        row("(c) generate() with grammar", setting, gen["grammar"], gen["grammar_tokens"])
        row("(c) generate() with grammar, copy mode", setting, gen["copy"], gen["copy_tokens"])
        row("(c) generate() with grammar + budget steering",
            f"same rows, max_new_tokens = answer + 8; wrote {gen['steer_tokens']} tokens, "
            f"{gen['steer_mismatch']} of {gen['rows']} answers changed", gen["steer"], gen["steer_tokens"])
        lines.append(f"| (c) grammar cost per token, end to end | with - without | "
                     f"{(gen['grammar'] - gen['plain']) / k * 1e3:+.2f} ms/token | |")
        lines.append(f"| (c) copy-mode grammar cost per token, end to end | copy mode - without | "
                     f"{(gen['copy'] - gen['plain']) / k * 1e3:+.2f} ms/token | |")
        lines.append(f"| (c) budget steering cost per token, end to end | steering - without | "
                     f"{(gen['steer'] / gen['steer_tokens'] - gen['plain'] / k) * 1e3:+.2f} ms/token | |")
        lines.append(f"| (c) grammar processor call inside generate() | mean over the timed with-grammar runs | "
                     f"{gen['processor_call_s'] * 1e3:.3f} ms/token | |")
        lines.append(f"| (c) grammar processor call, outside generate() | teacher-forced gold answers, {tf['rows']} rows, "
                     f"{tf['tokens']} tokens | {tf['per_token_s'] * 1e3:.3f} ms/token | |")
        lines.append(f"| (c) grammar processor call, outside generate(), copy mode | same rows and tokens | "
                     f"{tf_copy['per_token_s'] * 1e3:.3f} ms/token | |")
        lines.append(f"| (c) grammar compile, first use of a tool list | {comp['tool_lists']} tool lists, "
                     f"{comp['tools_per_list']:.1f} tools avg | median {comp['first_median_s'] * 1e3:.1f} ms, "
                     f"p90 {comp['first_p90_s'] * 1e3:.1f}, max {comp['first_max_s'] * 1e3:.1f} | |")
        lines.append(f"| (c) processor construction, cached tool list | same | "
                     f"median {comp['cached_median_s'] * 1e3:.2f} ms | |")
        lines.append(f"| (c) grammar compile, copy mode (every new request) | same tool lists + their requests | "
                     f"median {comp['copy_median_s'] * 1e3:.1f} ms, p90 {comp['copy_p90_s'] * 1e3:.1f}, "
                     f"max {comp['copy_max_s'] * 1e3:.1f} | |")
        lines.append(f"| (c) llguidance tokenizer build (once per tokenizer) | vocab {len(tokenizer)} | "
                     f"{comp['ll_tokenizer_s'] * 1e3:.0f} ms | |")
        print("\n".join(lines[-10:]), flush=True)
        if gen["grammar_mismatch"] or gen["plain_mismatch"] or gen["copy_mismatch"]:
            print(f"WARNING: outputs differ from the gold answers: {gen}")
        # (d)
        enc = encode(model, torch.randint(6, model.config.vocab_size, (1, args.ref_enc_len)))
        m = args.ref_new_tokens
        s = bench_reference_decode(model, enc, m, args.ref_repeats, full_buffer=True)
        row("(d) reference decode, no cache, full 512 buffer", f"enc {args.ref_enc_len}, {m} new tokens", s, m)
        s = bench_reference_decode(model, enc, m, args.ref_repeats, full_buffer=False)
        row("(d) reference decode, no cache, tokens so far", f"enc {args.ref_enc_len}, {m} new tokens", s, m)
        s, _ = bench_generate(model, enc, m, args.repeats)
        row("(d) for comparison: KV cache, generate()", f"enc {args.ref_enc_len}, {m} new tokens", s, m)

    facts["load_avg_end"] = os.getloadavg()
    facts["tokenizer"] = (f"byte-level BPE trained on {args.tokenizer_rows} offline rows (seed 0) in "
                          f"{tok_train_s:.1f} s, vocab {len(tokenizer)}")
    facts["params"] = f"{n_params / 1e6:.1f}M"
    facts["config"] = (f"preset `{args.preset}`" if args.preset else "`NeedleConfig()` defaults (12 encoder / 8 decoder "
                       "layers, d_model 512, 8 query / 4 KV heads, vocab 8192)")
    facts["grammar_mismatch"] = {k: gen[k + "_mismatch"] for k in ("plain", "grammar", "copy", "steer")}
    facts["grammar_answer_tokens"] = f"{tf['tokens_per_answer']:.1f}"
    table = "\n".join(lines)
    print()
    print(json.dumps(facts, indent=1, default=str))
    if args.out:
        write_markdown(args.out, table, facts, args)
        print(f"wrote {args.out}")
    return 0


def write_markdown(path: str, table: str, f: dict, args) -> None:
    la0 = ", ".join(f"{x:.2f}" for x in f["load_avg_start"])
    la1 = ", ".join(f"{x:.2f}" for x in f["load_avg_end"])
    text = f"""# Inference benchmarks (CPU, batch 1)

Script: `benchmarks/inference.py`. Command: `{f['command']}`

- Machine: {f['cpu']}, {f['cores']} cores; torch {f['torch']}, transformers {f['transformers']};
  torch threads: {f['threads']}. Date: {f['date']}.
- Load average (1, 5, 15 min) at start: {la0}; at end: {la1} (it includes this benchmark's own threads).
  `needle-hf train` processes seen at start: {f['training_runs_seen']}; {f['nice']}.
- Model: {f['config']} ({f['params']} parameters), random weights, eval mode, fp32, `torch.inference_mode()`, SDPA attention.
- Each figure is the median of {args.repeats} runs ({args.ref_repeats} for (d); the four (c) generate() variants are run interleaved) after one warm-up run.
- Tokenizer for (c): {f['tokenizer']}.

{table}

How each figure is taken:
- (a) one encoder forward on random ids (time per call; tokens/s = length / time).
- (b) both rows exclude the encoder: its output is computed once and passed in (`encoder_outputs=`).
  `generate()` = `model.generate(..., max_new_tokens=N, min_new_tokens=N)` (greedy), so it includes generate()'s own
  per-step overhead (logits-processor list, stopping criteria, cache handling); "manual loop" = N calls of the model
  with one new token and the `EncoderDecoderCache` + argmax: the decoder steps alone. The first step also projects the
  cross-attention K/V of the encoder output (once per generation).
- (c) end to end: greedy generate() (encoder output passed in, as in (b)) over the rows' real encoder inputs (query +
  `<tools>` + tools text, as the pipeline builds them), without and with `NeedleGrammarProcessor`; the difference of
  the totals divided by the tokens written is the grammar's cost per token. A random-weight model under the grammar
  may stop at once (the 26M one wrote `<tool_call>[]</s>` in a trial), so a small logits
  processor before the grammar adds 1e4 to the gold next token: every variant writes exactly the gold answer
  (`<tool_call>`, answer JSON, EOS), and the grammar visits the states of real answers (tool names, keys, values). Outputs differing from the gold answer (plain,
  grammar, copy mode, steering): {f['grammar_mismatch']}. "Copy mode" passes `copy_from=<the row's query>`
  (`copy_strings`, the shipped model's default), so free-text string values run through the copy constraint. "+ budget steering" also passes `max_new_tokens` to the processor,
  as the pipeline does (with its budget); near the end of the budget (48 tokens) it searches for the shortest way
  to close the JSON at every step. Here the budget is the answer length + 8, so every step is in that window: a worst
  case for its cost (with the pipeline's budget of 256 a normal answer ends long before the window). Its per-token
  time divides by the tokens it actually wrote: steering cut or changed some gold answers although each fitted in the
  budget, because its greedy closing-path estimate can be longer than the real rest of the answer (checked with this
  tokenizer: after `<tool_call>[{{"` it closes via another offered tool with required arguments, 26 tokens, where the gold call needs
  11), so it judges the gold token unsafe and forces another (often `]` at once, giving `[]`).
  "Processor call inside generate()": the grammar processor's own `__call__` time in those runs, per token.
  "Outside generate()": the processor is called directly along the gold decoder sequences (`<tool_call>`, answer JSON, EOS;
  {f['grammar_answer_tokens']} tokens per answer on average) of rows from `generate_rows(seed=1)` with a call, so the
  grammar visits realistic states (tool names, keys, values); timed is only the `processor(input_ids, scores)` call.
  Compile time = building a `NeedleGrammarProcessor` for a tool list not seen before (Lark grammar text + llguidance
  compile); the compiled grammar is cached per tokenizer (LRU of 64), so repeated requests with the same tools pay
  the cached figure. In copy mode the grammar also holds the request's words, so the cache only helps a repeated
  request: every new request pays the copy-mode compile row (tool list + request, timed after that tool list's
  plain grammar was compiled).
- (d) the reference's loop (spec §5.1, §10.1): a 512-slot buffer starting with the decoder start token; for each
  position the decoder runs with `use_cache=False` over the whole buffer (causal mask, so later slots do not affect
  the row read; the logits of all 512 positions are computed, as in the reference) and the argmax of the logits at
  `pos` is written to `pos+1`; the encoder runs once. The variant feeds
  only `buf[:, :pos+1]`, so step cost grows with the position; its tokens/s therefore depends on N (here
  {args.ref_new_tokens}). The KV-cache row is the same N measured with generate() on the same encoder output.
"""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    sys.exit(main())
