"""Data rows -> training features: decoder labels with per-token classes, tool shuffling, encoder inputs.

A row is ``{"query": str, "tools": str (JSON array of tool schemas), "answers": str (JSON array of calls)}``.

* **Decoder labels** (spec §2.4, contract): ``[<tool_call>=4] + tokenizer(answers_to_text(calls)) + [</s>=1]`` where the
  calls carry the tools' snake_case names and argument values coerced to the schema types. The model shifts labels
  right itself (decoder input starts with ``decoder_start_token_id = 1``).
* **Token classes** (spec §3.4, with its bugs fixed): ``STRUCTURE 0``, ``NAME 1`` (tool name), ``VALUE 2`` (argument
  value), ``KEY 3`` (argument key). The answer string is serialised *here*, piece by piece, so every character's class
  is known from the walk itself (no regex search): every occurrence of a repeated name/value is marked, an argument
  called ``"name"`` marks only that key (the call's own ``"name"`` key is structure), escaped quotes / ``\\n`` /
  non-ASCII (raw or ``\\uXXXX`` with ``ensure_ascii``) values are marked in full, and a nested object or array value is
  marked VALUE as a whole (brackets, inner keys and elements included). For string values / names / keys only the
  characters *between* the quotes are marked; the quotes belong to the surrounding JSON glue. The string produced is
  checked against :func:`needle_hf.tools.answers_to_text` (byte-identical).
  Characters are mapped to tokens with the fast tokenizer's ``offset_mapping``: a token's class is the **max** class
  over its characters, i.e. precedence KEY > VALUE > NAME > STRUCTURE (a token spanning a key and a value counts as
  KEY). ``<tool_call>`` and ``</s>`` are STRUCTURE.
  Default loss weights per class: ``(1.0, 2.0, 4.0, 1.5)`` (spec §3.4 CLI defaults).
* **Tool shuffling** (spec §3.2, made an *online* augmentation): :func:`shuffle_tools` reorders the canonical
  :class:`~needle_hf.tools.Tool` list and each tool's parameters with a per-example ``random.Random`` seeded by
  ``(seed, epoch, example index)``: different every epoch, reproducible for a seed, and identical after a resume. It is
  done by the collator (:mod:`needle_hf.training.collator`) at batch time, on training batches only.

:func:`prepare_rows` validates rows first (every bad row is named, see :mod:`needle_hf.data.io`), rejects rows whose
answer is longer than ``max_decoder_length`` tokens with a count (never silently), and returns a ``datasets.Dataset``
with the columns the collator reads.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from needle_hf.tools import Tool, answers_to_text, parse_calls, parse_tools, to_snake_case, tools_to_text, \
    validate_calls

logger = logging.getLogger(__name__)

STRUCTURE, NAME, VALUE, KEY = 0, 1, 2, 3
CLASS_NAMES = ("structure", "name", "value", "key")
DEFAULT_CLASS_WEIGHTS = (1.0, 2.0, 4.0, 1.5)
TOOL_CALL_ID, EOS_ID, TOOLS_ID, PAD_ID = 4, 1, 5, 0
_SEPARATORS = (",", ":")

__all__ = [
    "STRUCTURE", "NAME", "VALUE", "KEY", "CLASS_NAMES", "DEFAULT_CLASS_WEIGHTS",
    "serialize_answers", "token_classes_from_offsets", "answer_labels", "shuffle_tools", "example_rng",
    "canonical_calls", "PreparedData", "prepare_rows", "prepare_rows_cached", "prepare_pretraining_texts",
    "positive_tool_indices",
]


# ---------------------------------------------------------------------------------------------- answer + classes
def _dumps(value: Any, ensure_ascii: bool) -> str:
    return json.dumps(value, separators=_SEPARATORS, ensure_ascii=ensure_ascii, allow_nan=False)


def _json_key(k: Any) -> str:
    """The string json.dumps writes for a dict key (non-string keys are converted the same way json does)."""
    if isinstance(k, str):
        return k
    return json.loads(_dumps({k: 0}, False)).popitem()[0]


def serialize_answers(calls: Sequence[dict], ensure_ascii: bool = False) -> tuple[str, list[int]]:
    """Serialise calls as compact JSON (exactly :func:`answers_to_text`) and return ``(text, char_classes)``.

    ``char_classes[i]`` is the class of ``text[i]`` (STRUCTURE / NAME / VALUE / KEY), known from the walk itself.
    """
    parts: list[str] = []
    classes: list[int] = []

    def emit(s: str, cls: int = STRUCTURE, quoted: bool = False) -> None:
        parts.append(s)
        if quoted:  # a JSON string: the quotes are structure, everything between them gets the class
            classes.extend([STRUCTURE] + [cls] * (len(s) - 2) + [STRUCTURE])
        else:
            classes.extend([cls] * len(s))

    emit("[")
    for i, call in enumerate(calls):
        if i:
            emit(",")
        emit('{"name":')
        emit(_dumps(call["name"], ensure_ascii), NAME, quoted=True)
        emit(',"arguments":{')
        for j, (k, v) in enumerate((call.get("arguments") or {}).items()):
            if j:
                emit(",")
            emit(_dumps(_json_key(k), ensure_ascii), KEY, quoted=True)
            emit(":")
            emit(_dumps(v, ensure_ascii), VALUE, quoted=isinstance(v, str))
        emit("}}")
    emit("]")
    text = "".join(parts)
    expected = answers_to_text(list(calls), ensure_ascii=ensure_ascii)
    if text != expected:  # defensive: the walk must reproduce the canonical serialisation byte for byte
        raise ValueError(f"answer serialisation mismatch: {text!r} != {expected!r}")
    return text, classes


def token_classes_from_offsets(char_classes: Sequence[int], offsets: Sequence[tuple[int, int]]) -> list[int]:
    """Class of each token = max class over the characters it covers (KEY > VALUE > NAME > STRUCTURE)."""
    out = []
    for start, end in offsets:
        out.append(max(char_classes[start:end], default=STRUCTURE))
    return out


def canonical_calls(calls: Sequence[dict], tools: Sequence[Tool]) -> list[dict]:
    """Calls as the model must write them: snake_case tool names, argument values coerced to the schema types, and
    arguments in the tool's parameter order (the order constrained decoding enforces at inference)."""
    coerced, errors = validate_calls(list(calls), list(tools), coerce=True)
    if errors:  # rows are validated before this point; keep the raw values rather than guess
        coerced = list(calls)
    by_name = {t.name: t for t in tools}
    by_name.update({t.snake_name: t for t in tools})
    out = []
    for c in coerced:
        tool = by_name.get(c["name"])
        args = dict(c.get("arguments") or {})
        if tool is not None:
            order = {p.name: i for i, p in enumerate(tool.parameters)}
            args = dict(sorted(args.items(), key=lambda kv: order.get(kv[0], len(order))))
        out.append({"name": tool.snake_name if tool else to_snake_case(c["name"]), "arguments": args})
    return out


def answer_labels(tokenizer, calls: Sequence[dict], ensure_ascii: bool = False) -> tuple[list[int], list[int], str]:
    """``([4] + ids + [1], [0] + token classes + [0], answer text)`` for already-canonical calls."""
    text, char_classes = serialize_answers(calls, ensure_ascii=ensure_ascii)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    classes = token_classes_from_offsets(char_classes, enc["offset_mapping"])
    return [TOOL_CALL_ID] + list(enc["input_ids"]) + [EOS_ID], [STRUCTURE] + classes + [STRUCTURE], text


# ---------------------------------------------------------------------------------------------- tool shuffling
def example_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The per-example RNG of the online augmentation: a pure function of (seed, epoch, example index)."""
    return random.Random(f"needle-shuffle:{int(seed)}:{int(epoch)}:{int(index)}")


def shuffle_tools(tools: Sequence[Tool], rng: random.Random) -> list[Tool]:
    """A shuffled copy of canonical tools: the tool order (spec §3.2), redrawn per example and epoch. The input is
    not modified. Parameter order is NOT shuffled here: answers list arguments in the tool's parameter order (what
    constrained decoding enforces), and the labels are fixed per row; the generators already vary parameter order
    per row. (v1 also shuffled each tool's top-level keys; our canonical text has a fixed key order, as at
    inference.)"""
    out = list(tools)
    if len(out) > 1:
        rng.shuffle(out)
    return out


def positive_tool_indices(tools: Sequence[Tool], calls: Sequence[dict]) -> list[int]:
    """Indices of the tools (in canonical order) that the answer calls: the positives of the contrastive loss."""
    called = {c["name"] for c in calls}
    return [i for i, t in enumerate(tools) if t.snake_name in called]


# ---------------------------------------------------------------------------------------------- datasets
@dataclass
class PreparedData:
    """Result of :func:`prepare_rows`: the dataset and what happened to every input row."""

    dataset: Any  # datasets.Dataset
    total: int = 0
    kept: int = 0
    rejected_too_long: int = 0
    truncated_encoder: int = 0  # kept rows whose encoder input was cut to max_encoder_length
    rejected_rows: list[int] = field(default_factory=list)  # 0-based input indices of the too-long rows

    def summary(self, name: str = "data") -> str:
        s = f"{name}: {self.kept} of {self.total} rows kept"
        if self.rejected_too_long:
            s += f"; {self.rejected_too_long} rejected (answer longer than max_decoder_length)"
        if self.truncated_encoder:
            s += f"; {self.truncated_encoder} with the encoder input truncated"
        return s


def _validated(rows: Iterable[dict], name: str) -> list[dict]:
    """Validate every row before anything is tokenised; a bad row raises ValueError naming it (file:line / row N)."""
    from needle_hf.data.io import DataValidationError, load_rows

    rows = list(rows)
    try:
        return list(load_rows(rows, strict=True))
    except DataValidationError as err:
        raise ValueError(f"{name}: invalid rows, training not started:\n{err}") from None


def prepare_rows(rows: Iterable[dict], tokenizer, max_decoder_length: int = 512, max_encoder_length: int = 1024,
                 ensure_ascii: bool = False, name: str = "data", validate: bool = True,
                 show_progress: bool = False) -> PreparedData:
    """Rows -> ``datasets.Dataset`` of training features, after validating every row.

    Columns: ``idx`` (row index, seeds the per-example augmentation), ``query``, ``tools_text`` (canonical tools,
    unshuffled), ``labels``, ``token_classes``, ``answers`` (canonical answer text, evaluation reference),
    ``positive_tools`` (indices of called tools), ``length`` (encoder + decoder tokens, for ``group_by_length``).
    Rows whose labels exceed ``max_decoder_length`` are rejected and counted (``PreparedData.rejected_too_long``) and
    a warning is logged; a row that does not validate raises ``ValueError`` naming the row.
    """
    import datasets

    rows = _validated(rows, name) if validate else list(rows)
    cols: dict[str, list] = {k: [] for k in ("idx", "query", "tools_text", "labels", "token_classes", "answers",
                                             "positive_tools", "length")}
    result = PreparedData(dataset=None, total=len(rows))
    iterator: Iterable = enumerate(rows)
    if show_progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=len(rows), desc=f"tokenizing {name}", unit=" rows")
    for i, row in iterator:
        try:
            tools = parse_tools(row["tools"])
            raw_calls = parse_calls(row["answers"]) if isinstance(row["answers"], str) else list(row["answers"])
            calls = canonical_calls(raw_calls, tools)
            labels, classes, text = answer_labels(tokenizer, calls, ensure_ascii=ensure_ascii)
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"{name}: row {i + 1}: {err}") from None
        if len(labels) > max_decoder_length:
            result.rejected_too_long += 1
            result.rejected_rows.append(i)
            continue
        tools_text = tools_to_text(tools, ensure_ascii=ensure_ascii)
        n_query = len(tokenizer(row["query"], add_special_tokens=False)["input_ids"])
        n_tools = len(tokenizer(tools_text, add_special_tokens=False)["input_ids"])
        n_enc = n_query + 1 + n_tools
        if n_enc > max_encoder_length:
            result.truncated_encoder += 1
        cols["idx"].append(i)
        cols["query"].append(row["query"])
        cols["tools_text"].append(tools_text)
        cols["labels"].append(labels)
        cols["token_classes"].append(classes)
        cols["answers"].append(text)
        cols["positive_tools"].append(positive_tool_indices(tools, calls))
        cols["length"].append(min(n_enc, max_encoder_length) + len(labels))
    result.kept = len(cols["idx"])
    if result.rejected_too_long:
        shown = ", ".join(str(i + 1) for i in result.rejected_rows[:10])
        logger.warning("%s: rejected %d row(s) whose answer is longer than max_decoder_length=%d tokens (rows %s%s)",
                       name, result.rejected_too_long, max_decoder_length, shown,
                       ", ..." if result.rejected_too_long > 10 else "")
    if result.truncated_encoder:
        logger.warning("%s: %d row(s) have encoder inputs longer than max_encoder_length=%d; the tools text is cut "
                       "(spec §2.3)", name, result.truncated_encoder, max_encoder_length)
    if not result.kept:
        raise ValueError(f"{name}: no usable rows ({result.total} given, {result.rejected_too_long} longer than "
                         f"max_decoder_length={max_decoder_length})")
    features = datasets.Features({
        "idx": datasets.Value("int64"), "query": datasets.Value("string"), "tools_text": datasets.Value("string"),
        "labels": datasets.Sequence(datasets.Value("int32")),
        "token_classes": datasets.Sequence(datasets.Value("int8")),
        "answers": datasets.Value("string"), "positive_tools": datasets.Sequence(datasets.Value("int32")),
        "length": datasets.Value("int32"),
    })
    result.dataset = datasets.Dataset.from_dict(cols, features=features)
    return result


# bump when prepare_rows' output changes for the same input, so old caches are not reused
FEATURES_VERSION = 1


def _cache_key(rows: list, tokenizer, **options) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update(json.dumps({"version": FEATURES_VERSION, **options}, sort_keys=True).encode())
    h.update(tokenizer.backend_tokenizer.to_str().encode())
    for row in rows:
        h.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def prepare_rows_cached(rows: Iterable[dict], tokenizer, cache_dir, name: str = "data", show_progress: bool = False,
                        **options) -> PreparedData:
    """:func:`prepare_rows` with the result kept in ``cache_dir/{name}-{key}`` (key: rows, tokenizer and options), so
    a resumed run skips validating and tokenising again. Older caches for ``name`` are replaced."""
    import shutil
    import tempfile
    from pathlib import Path

    import datasets

    rows = list(rows)
    folder = Path(cache_dir) / f"{name}-{_cache_key(rows, tokenizer, **options)}"
    if (folder / "prepared.json").is_file():
        stats = json.loads((folder / "prepared.json").read_text())
        logger.info("%s: features loaded from %s", name, folder)
        return PreparedData(dataset=datasets.load_from_disk(str(folder / "dataset")), **stats)
    result = prepare_rows(rows, tokenizer, name=name, show_progress=show_progress, **options)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    result.dataset.save_to_disk(str(tmp / "dataset"))
    stats = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "dataset"}
    (tmp / "prepared.json").write_text(json.dumps(stats))
    for old in Path(cache_dir).glob(f"{name}-*"):
        shutil.rmtree(old, ignore_errors=True)
    try:
        tmp.rename(folder)              # atomic; another process (distributed run) may have written it first
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------- pretraining
def prepare_pretraining_texts(texts: Iterable[str], tokenizer, max_encoder_length: int = 256,
                              max_decoder_length: int = 128, min_tokens: int = 8,
                              show_progress: bool = False) -> PreparedData:
    """Plain texts -> continuation-pretraining chunks (spec §2.4): each text is tokenised and cut into chunks of at most
    ``max_encoder_length + max_decoder_length - 1`` tokens; the collator splits every chunk at a per-example random
    point into encoder prefix / decoder continuation (a different point every epoch). Texts shorter than
    ``min_tokens`` tokens are skipped and counted (``rejected_too_long`` holds that count here: "unusable")."""
    import datasets

    chunk = max_encoder_length + max_decoder_length - 1
    cols: dict[str, list] = {"idx": [], "text_ids": [], "length": []}
    result = PreparedData(dataset=None)
    iterator: Iterable = texts
    if show_progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="tokenizing corpus", unit=" texts")
    for text in iterator:
        result.total += 1
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        if len(ids) < min_tokens:
            result.rejected_too_long += 1
            continue
        for start in range(0, len(ids), chunk):
            piece = ids[start:start + chunk]
            if len(piece) < min_tokens:
                break
            cols["idx"].append(len(cols["idx"]))
            cols["text_ids"].append(piece)
            cols["length"].append(len(piece) + 1)
    result.kept = len(cols["idx"])
    if not result.kept:
        raise ValueError(f"no usable text: {result.total} texts, none with at least {min_tokens} tokens")
    if result.rejected_too_long:
        logger.warning("pretraining corpus: skipped %d text(s) shorter than %d tokens", result.rejected_too_long,
                       min_tokens)
    features = datasets.Features({"idx": datasets.Value("int64"),
                                  "text_ids": datasets.Sequence(datasets.Value("int32")),
                                  "length": datasets.Value("int32")})
    result.dataset = datasets.Dataset.from_dict(cols, features=features)
    return result
