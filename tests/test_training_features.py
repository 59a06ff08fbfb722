"""Training features: answer serialisation with char classes, token classes, tool shuffling, row checks, collator."""
from __future__ import annotations

import json
import logging

import pytest
import torch

from needle_hf.tools import answers_to_text, parse_tools
from needle_hf.training.collator import EvalCollator, NeedleCollator
from needle_hf.training.features import (KEY, NAME, STRUCTURE, VALUE, answer_labels, example_rng, prepare_rows,
                                         prepare_rows_cached, serialize_answers, shuffle_tools, token_classes_from_offsets)

from .helpers_training import TOOLS, make_rows, tiny_tokenizer


def spans(text: str, classes: list[int], cls: int) -> list[str]:
    """Maximal runs of characters of class ``cls``."""
    out, cur = [], ""
    for ch, c in zip(text, classes):
        if c == cls:
            cur += ch
        elif cur:
            out.append(cur)
            cur = ""
    return out + ([cur] if cur else [])


TRICKY = [
    {"name": "search", "arguments": {"name": "Paris", "query": "Paris", "n": 3}},
    {"name": "search", "arguments": {"name": 'x "q" é\n', "tags": ["a", {"k": "v"}], "nested": {"name": "deep"},
                                      "flag": True, "empty": "", "none": None}},
    {"name": "ping", "arguments": {}},
]


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_serialisation_matches_answers_to_text_and_marks_every_occurrence(ensure_ascii):
    text, classes = serialize_answers(TRICKY, ensure_ascii=ensure_ascii)
    assert text == answers_to_text(TRICKY, ensure_ascii=ensure_ascii) and len(classes) == len(text)
    assert spans(text, classes, NAME) == ["search", "search", "ping"]  # every call, not only the first
    # argument keys (an argument called "name" is a KEY; the call's own "name" key stays structure)
    assert spans(text, classes, KEY) == ["name", "query", "n", "name", "tags", "nested", "flag", "empty", "none"]
    escaped = json.dumps('x "q" é\n', ensure_ascii=ensure_ascii)[1:-1]
    assert spans(text, classes, VALUE) == ["Paris", "Paris", "3", escaped, '["a",{"k":"v"}]', '{"name":"deep"}',
                                           "true", "null"]
    # structure: every '"name":' key of the three calls, brackets, and the quotes around names/keys/values
    starts = [i for i in range(len(text)) if text.startswith('{"name":', i)
              and text[i + 8:].split(",", 1)[1].startswith('"arguments"')]
    assert len(starts) == 3 and all(set(classes[i:i + 8]) == {STRUCTURE} for i in starts)
    for i, ch in enumerate(text):
        if ch in "[]{}:," and classes[i] != STRUCTURE:
            assert ch in '[]{},:' and classes[i] == VALUE  # only inside composite values


def test_token_classes_are_the_max_over_characters():
    tok = tiny_tokenizer()
    labels, classes, text = answer_labels(tok, TRICKY)
    assert labels[0] == 4 and labels[-1] == 1 and classes[0] == classes[-1] == STRUCTURE
    assert len(labels) == len(classes)
    assert tok.decode(labels[1:-1]) == text  # lossless
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    _, char_classes = serialize_answers(TRICKY)
    assert classes[1:-1] == [max(char_classes[a:b], default=0) for a, b in enc["offset_mapping"]]
    # the SECOND "Paris" (value of "query") is VALUE too: no first-occurrence regex bug
    second = text.index('"Paris"', text.index('"Paris"') + 1) + 1
    covering = [c for (a, b), c in zip(enc["offset_mapping"], classes[1:-1]) if a < second + 5 and b > second]
    assert covering and all(c >= VALUE for c in covering)
    # a multi-byte character split over byte tokens: every piece gets the class of the character
    text2, cc2 = serialize_answers([{"name": "t", "arguments": {"k": "日本"}}])
    enc2 = tok(text2, add_special_tokens=False, return_offsets_mapping=True)
    cls2 = token_classes_from_offsets(cc2, enc2["offset_mapping"])
    pieces = [c for (a, b), c in zip(enc2["offset_mapping"], cls2) if text2[a:b] in ("日", "本", "日本")]
    assert pieces and set(pieces) == {VALUE}


def test_shuffle_is_per_example_per_epoch_and_deterministic():
    tools = parse_tools(list(TOOLS.values()))
    a = shuffle_tools(tools, example_rng(42, 0, 7))
    b = shuffle_tools(tools, example_rng(42, 0, 7))
    assert [t.name for t in a] == [t.name for t in b]
    assert [[p.name for p in t.parameters] for t in a] == [[p.name for p in t.parameters] for t in b]
    orders = {tuple(t.name for t in shuffle_tools(tools, example_rng(42, e, 7))) for e in range(8)}
    assert len(orders) > 1  # a new order in other epochs
    assert [t.name for t in tools] == list(TOOLS)  # input untouched
    assert sorted(t.name for t in a) == sorted(TOOLS)
    params = {tuple(p.name for p in t.parameters) for e in range(8) for t in shuffle_tools(tools, example_rng(1, e, 0))
              if t.name == "get_weather"}
    assert params == {("location", "unit")}  # parameter order is kept: answers follow it (the grammar enforces it)


def test_prepare_rows_counts_too_long_answers(caplog):
    tok = tiny_tokenizer()
    rows = make_rows(40, seed=3)
    with caplog.at_level(logging.WARNING):
        prepared = prepare_rows(rows, tok, max_decoder_length=16)
    assert prepared.rejected_too_long > 0 and prepared.kept + prepared.rejected_too_long == 40
    assert "rejected" in caplog.text and "max_decoder_length=16" in caplog.text
    assert all(len(x) <= 16 for x in prepared.dataset["labels"])
    assert "rejected" in prepared.summary()


def test_prepared_features_are_cached_by_rows_tokenizer_and_options(tmp_path, monkeypatch):
    from needle_hf.training import features

    tok, rows = tiny_tokenizer(), make_rows(30, seed=4)
    first = prepare_rows_cached(rows, tok, tmp_path, name="train", max_decoder_length=16)
    assert [p.name.startswith("train-") for p in tmp_path.iterdir()] == [True]
    calls = []
    real = features.prepare_rows
    monkeypatch.setattr(features, "prepare_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = prepare_rows_cached(rows, tok, tmp_path, name="train", max_decoder_length=16)
    assert not calls and again.dataset.to_list() == first.dataset.to_list()
    assert (again.kept, again.rejected_too_long, again.rejected_rows) == \
        (first.kept, first.rejected_too_long, first.rejected_rows)
    prepare_rows_cached(rows, tok, tmp_path, name="train", max_decoder_length=32)        # other options
    changed = [dict(r) for r in rows]
    changed[0]["query"] += " please"
    prepare_rows_cached(changed, tok, tmp_path, name="train", max_decoder_length=32)     # other rows
    assert len(calls) == 2 and len(list(tmp_path.glob("train-*"))) == 1  # the stale cache is replaced


@pytest.mark.parametrize("field, value, message", [
    ("answers", "not json", "row 4"),
    ("answers", json.dumps([{"name": "no_such_tool", "arguments": {}}]), "unknown tool"),
    ("tools", "[{}]", "row 4"),
])
def test_bad_row_is_rejected_with_its_number(field, value, message):
    rows = make_rows(6)
    rows[3][field] = value
    with pytest.raises(ValueError, match=message) as err:
        prepare_rows(rows, tiny_tokenizer())
    assert "row 4" in str(err.value) and "training not started" in str(err.value)


def test_collator_batches():
    tok = tiny_tokenizer()
    rows = make_rows(16, seed=4)
    ds = prepare_rows(rows, tok).dataset
    examples = [ds[i] for i in range(len(ds))]
    coll = NeedleCollator(tok, contrastive=True, seed=1)
    batch = coll(examples)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert (batch["input_ids"] == 5).sum(1).tolist() == [1] * len(ds)  # one <tools> per row
    assert batch["labels"].shape == batch["token_classes"].shape and (batch["labels"][:, 0] == 4).all()
    assert ((batch["labels"] == -100) == (batch["labels"] < 0)).all()
    # contrastive pairs: only rows that call a tool, distinct tools
    n_pairs = batch["contrastive_query_ids"].shape[0]
    assert 2 <= n_pairs <= len({r["answers"] for r in rows})
    tool_texts = {tok.decode(row[m.bool()]) for row, m in zip(batch["contrastive_tool_ids"],
                                                                 batch["contrastive_tool_mask"])}
    assert len(tool_texts) == n_pairs
    # the same epoch gives the same batch, another epoch shuffles tools differently
    assert torch.equal(coll(examples)["input_ids"], batch["input_ids"])
    coll.set_epoch(1)
    assert not torch.equal(coll(examples)["input_ids"], batch["input_ids"])
    # evaluation: canonical tool order (as at inference) and only model inputs + labels
    ev = EvalCollator(tok)(examples)
    assert set(ev) == {"input_ids", "attention_mask", "labels"}
    first = ev["input_ids"][0][ev["attention_mask"][0].bool()].tolist()
    assert tok.decode(first) == examples[0]["query"] + "<tools>" + examples[0]["tools_text"]


def test_pretraining_rows_are_split_into_prefix_and_continuation():
    tok = tiny_tokenizer()
    from needle_hf.training.features import prepare_pretraining_texts

    texts = ["the weather in Paris is nice today and tomorrow " * 4, "short", "call Anna and send the message " * 3]
    prepared = prepare_pretraining_texts(texts, tok, max_encoder_length=20, max_decoder_length=12, min_tokens=8)
    assert prepared.rejected_too_long == 1 and prepared.kept >= 2
    coll = NeedleCollator(tok, max_encoder_length=20, max_decoder_length=12, shuffle_tools=False)
    ex = prepared.dataset[0]
    batch = coll([ex])
    enc = batch["input_ids"][0][batch["attention_mask"][0].bool()].tolist()
    dec = [t for t in batch["labels"][0].tolist() if t != -100]
    assert dec[-1] == 1 and 4 not in dec  # no <tool_call> in pretraining
    ids, joined = list(ex["text_ids"]), enc + dec[:-1]  # prefix + continuation = a contiguous piece of the text
    assert enc and len(dec) > 1 and any(ids[i:i + len(joined)] == joined for i in range(len(ids)))
