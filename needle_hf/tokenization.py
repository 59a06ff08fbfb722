"""Train, save and load Needle's tokenizer, and build encoder inputs.

The tokenizer is a **lossless byte-level BPE** (``tokenizers`` library) wrapped in a ``PreTrainedTokenizerFast``:

- no normalizer; a ``Split`` pre-tokenizer (regex below) followed by ``ByteLevel(add_prefix_space=False,
  use_regex=False)``; ``ByteLevel`` decoder; all 256 byte symbols are in the initial alphabet, so every UTF-8 string
  is representable and ``decode(encode(s)) == s`` for any ``s`` (whitespace runs, tabs, newlines, leading/trailing
  spaces, emoji, control characters). This differs on purpose from Needle v1's SentencePiece model, which collapsed
  whitespace runs and added a dummy prefix (spec §2.1): argument values are copied byte-exact.
- special tokens at fixed ids: ``<pad>`` 0, ``</s>`` 1, ``<s>`` 2, ``<unk>`` 3, ``<tool_call>`` 4, ``<tools>`` 5.
  ids 6..261 are the 256 byte symbols (the same id range v1 used for its byte fallback), BPE merges start at 262.
- ``tokenizer(text)`` adds no BOS/EOS; callers insert special ids explicitly (see :func:`build_encoder_ids`).
- ``split_special_tokens=True``: a literal ``"<tools>"`` or ``"<tool_call>"`` typed by a user (or present inside an
  argument value) is encoded as ordinary text, never as the control id 5/4. Only code inserts control ids. This is a
  deliberate change from v1, where user text could inject ``<tools>`` and confuse the encoder layout. Pass
  ``split_special_tokens=False`` to a tokenizer call to get v1-like matching.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

from .modeling.pipeline_tool_calling import build_encoder_ids  # one implementation, shared with the Hub pipeline

PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN = "<pad>", "</s>", "<s>", "<unk>"
TOOL_CALL_TOKEN, TOOLS_TOKEN = "<tool_call>", "<tools>"
SPECIAL_TOKENS = [PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN, TOOL_CALL_TOKEN, TOOLS_TOKEN]  # list index == id
PAD_ID, EOS_ID, BOS_ID, UNK_ID, TOOL_CALL_ID, TOOLS_ID = range(6)
MODEL_MAX_LENGTH = 1024

# Pre-tokenizer split (applied to raw text, before the byte-level mapping). Every character falls into exactly one
# class (letter/mark, digit, whitespace, other), so the alternatives cover any string:
#   - English contractions ('s, 't, ...), as in GPT-2 / cl100k;
#   - a run of letters (+ combining marks), optionally preceded by ONE space or ONE underscore: " weather", "_weather"
#     (snake_case tool names become get + _weather, and the pieces are shared with plain words);
#   - each digit on its own: numbers are copied digit by digit from the query into the arguments, with the same
#     10 tokens whatever the context (no "2024" vs "202"+"4" ambiguity);
#   - a run of other symbols, optionally preceded by one space: JSON glue such as '{"', '":"', '","', '"}}]';
#   - whitespace runs, GPT-2 style (the last space of a run attaches to the next word).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[ _]?[\p{L}\p{M}]+"
    r"|\p{N}"
    r"| ?[^\s\p{L}\p{M}\p{N}]+"
    r"|\s+(?!\S)|\s+"
)

__all__ = [
    "SPECIAL_TOKENS", "SPLIT_PATTERN", "MODEL_MAX_LENGTH",
    "PAD_ID", "EOS_ID", "BOS_ID", "UNK_ID", "TOOL_CALL_ID", "TOOLS_ID",
    "train_tokenizer", "wrap_tokenizer", "load_tokenizer", "save_tokenizer", "make_tokenizer_config_portable",
    "row_texts", "corpus_from_rows", "read_row_texts", "length_summary", "build_encoder_ids",
]


def _build_backend():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    backend = Tokenizer(models.BPE(unk_token=UNK_TOKEN))  # never produced: every byte has a symbol
    backend.normalizer = None
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = None
    return backend


def wrap_tokenizer(backend) -> "PreTrainedTokenizerFast":  # noqa: F821
    """Wrap a trained ``tokenizers.Tokenizer`` (with our special tokens at ids 0-5) as a ``PreTrainedTokenizerFast``."""
    from transformers import PreTrainedTokenizerFast

    for i, token in enumerate(SPECIAL_TOKENS):
        if backend.token_to_id(token) != i:
            raise ValueError(f"special token {token!r} must have id {i}, found {backend.token_to_id(token)}")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        bos_token=BOS_TOKEN,
        unk_token=UNK_TOKEN,
        additional_special_tokens=[TOOL_CALL_TOKEN, TOOLS_TOKEN],
        model_max_length=MODEL_MAX_LENGTH,
        padding_side="right",
        split_special_tokens=True,
        clean_up_tokenization_spaces=False,  # True would turn " ." into "." on decode: not lossless
    )


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 8192,
    min_frequency: int = 2,
    show_progress: bool = False,
) -> "PreTrainedTokenizerFast":  # noqa: F821
    """Train the lossless byte-level BPE tokenizer on ``texts`` (any iterable of strings, consumed once).

    ``vocab_size`` counts everything (6 special tokens + 256 byte symbols + merges); it is an upper bound, a small
    corpus may give fewer merges. Returns a ``PreTrainedTokenizerFast`` ready for ``save_tokenizer``.
    """
    from tokenizers import pre_tokenizers, trainers

    min_size = len(SPECIAL_TOKENS) + 256
    if vocab_size < min_size:
        raise ValueError(f"vocab_size must be at least {min_size} (6 special tokens + 256 bytes), got {vocab_size}")
    backend = _build_backend()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=show_progress,
    )
    backend.train_from_iterator((t for t in texts if t), trainer=trainer)
    return wrap_tokenizer(backend)


def make_tokenizer_config_portable(folder: str | os.PathLike) -> None:
    """Rewrite ``tokenizer_config.json`` in ``folder`` so that transformers 4.x loads it too, and add
    ``special_tokens_map.json``.

    transformers 5 writes ``"tokenizer_class": "TokenizersBackend"`` and a list-valued ``extra_special_tokens``;
    transformers 4.57 fails on both (unknown class; ``list`` has no ``keys``). ``PreTrainedTokenizerFast`` and
    ``additional_special_tokens`` are understood by both major versions (checked on 4.57.6 and 5.23).
    """
    path = os.path.join(os.fspath(folder), "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    extra = config.pop("extra_special_tokens", None)
    if isinstance(extra, list):
        config["additional_special_tokens"] = extra
    elif isinstance(extra, dict):  # named extra tokens: a dict is what 4.x expects, keep it
        config["extra_special_tokens"] = extra
    for key in ("is_local", "local_files_only"):  # load-time arguments that v5 leaks into the saved config
        config.pop(key, None)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    special_map = {k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if k in config}
    if "additional_special_tokens" in config:
        special_map["additional_special_tokens"] = config["additional_special_tokens"]
    with open(os.path.join(os.fspath(folder), "special_tokens_map.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(special_map, indent=2, ensure_ascii=False) + "\n")


def save_tokenizer(tokenizer, folder: str | os.PathLike) -> list[str]:
    """``tokenizer.save_pretrained(folder)`` + :func:`make_tokenizer_config_portable`. Returns the saved file names."""
    os.makedirs(folder, exist_ok=True)
    tokenizer.save_pretrained(folder)
    make_tokenizer_config_portable(folder)
    return sorted(os.listdir(folder))


def load_tokenizer(path_or_id: str | os.PathLike, **kwargs: Any):
    """``AutoTokenizer.from_pretrained(path_or_id, **kwargs)`` (a local folder with tokenizer.json, or a Hub id)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(os.fspath(path_or_id), **kwargs)


def row_texts(row: dict, ensure_ascii: bool = False) -> list[str]:
    """The training texts of one data row: query, canonical tools text, canonical answers text (empty query skipped).

    Tools and answers are re-serialised exactly as the model sees them (``tools_to_text(parse_tools(...))``,
    ``answers_to_text(parse_calls(...))``), so BPE merges are learned on the real inputs. Raises ``ValueError``
    naming the field on a bad row.
    """
    from needle_hf.tools import answers_to_text, parse_calls, parse_tools, tools_to_text

    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object with query/tools/answers, got {type(row).__name__}")
    missing = [k for k in ("query", "tools", "answers") if k not in row]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)} (a row is {{query, tools, answers}})")
    if not isinstance(row["query"], str):
        raise ValueError(f"field 'query' must be a string, got {type(row['query']).__name__}")
    texts = [row["query"]] if row["query"] else []
    try:
        texts.append(tools_to_text(parse_tools(row["tools"]), ensure_ascii=ensure_ascii))
    except ValueError as err:
        raise ValueError(f"field 'tools': {err}") from err
    answers = row["answers"]
    try:
        calls = parse_calls(answers) if isinstance(answers, str) else answers
        texts.append(answers_to_text(calls, ensure_ascii=ensure_ascii))
    except (ValueError, TypeError) as err:
        raise ValueError(f"field 'answers': {err}") from err
    return texts


def corpus_from_rows(rows: Iterable[dict], ensure_ascii: bool = False) -> Iterator[str]:
    """Yield the training texts of every row (see :func:`row_texts`); errors name the 0-based row index."""
    for i, row in enumerate(rows):
        try:
            texts = row_texts(row, ensure_ascii=ensure_ascii)
        except ValueError as err:
            raise ValueError(f"row {i}: {err}") from err
        yield from texts




def read_row_texts(paths: Iterable[str | os.PathLike], progress: bool = True) -> list[tuple[str, str, str]]:
    """(query, tools text, answers text) of every row of JSONL files, as the model sees them; a bad line raises
    ``ValueError`` naming ``file:line``."""
    from tqdm.auto import tqdm

    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(tqdm(f, desc=f"reading {path}", unit=" rows", disable=not progress), 1):
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
    return rows


def length_summary(tokenizer, rows: list[tuple[str, str, str]]) -> dict:
    """Token counts of (query, tools, answers) rows as the model sees them: encoder = query + ``<tools>`` + tools,
    cut at ``model_max_length`` (the tools text is cut first); decoder = answers."""
    enc = tokenizer.backend_tokenizer.encode_batch([t for r in rows for t in r], add_special_tokens=False)
    n_q, n_t, n_a = ([len(e.ids) for e in enc[k::3]] for k in range(3))
    max_len = tokenizer.model_max_length
    enc_lens = [min(q, max_len - 2) + 1 + min(t, max_len - min(q, max_len - 2) - 1) for q, t in zip(n_q, n_t)]
    n_tokens = sum(n_q) + sum(n_t) + sum(n_a)
    return {"rows": len(rows), "tokens_per_row": n_tokens / len(rows), "query": sum(n_q) / len(rows),
            "tools": sum(n_t) / len(rows), "answers": sum(n_a) / len(rows),
            "chars_per_token": sum(len(t) for r in rows for t in r) / max(n_tokens, 1),
            "encoder_avg": sum(enc_lens) / len(rows), "encoder_max": max(enc_lens), "max_length": max_len,
            "truncated": sum(q + 1 + t > max_len for q, t in zip(n_q, n_t))}
