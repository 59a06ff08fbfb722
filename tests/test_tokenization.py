"""Tests for needle_hf.tokenization and the `needle-hf tokenize` command (tiny vocab, small generated corpus)."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needle_hf import tokenization as T

CITIES = ["Paris", "Zürich", "São Paulo", "東京", "New York", "Kraków", "Reykjavík"]
TOOLS = [
    {"name": "get_weather", "description": "Get the current weather for a city",
     "parameters": {"location": {"type": "string", "description": "City name", "required": True},
                    "days": {"type": "integer", "description": "Number of days", "required": False}}},
    {"name": "set_timer", "description": "Start a countdown timer",
     "parameters": {"minutes": {"type": "integer", "description": "Duration in minutes", "required": True}}},
    {"name": "send_message", "description": "Send a text message to a contact",
     "parameters": {"recipient": {"type": "string", "description": "Contact name", "required": True},
                    "message": {"type": "string", "description": "Text to send", "required": True}}},
]


def _compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def make_rows(n: int = 120, seed: int = 0) -> list[dict]:
    """Rows in the data format {query, tools (JSON str), answers (JSON str)}."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        city, k = rng.choice(CITIES), rng.randint(1, 90)
        kind = i % 4
        if kind == 0:
            query, calls = f"What's the weather in {city} for the next {k} days?", [
                {"name": "get_weather", "arguments": {"location": city, "days": k}}]
        elif kind == 1:
            query, calls = f"Set a timer for {k} minutes please", [{"name": "set_timer", "arguments": {"minutes": k}}]
        elif kind == 2:
            query, calls = f"Text Anna: meeting at {k} o'clock 👍", [
                {"name": "send_message", "arguments": {"recipient": "Anna", "message": f"meeting at {k} o'clock 👍"}}]
        else:
            query, calls = f"Tell me a joke about {city}", []
        tools = rng.sample(TOOLS, rng.randint(1, len(TOOLS)))
        rows.append({"query": query, "tools": _compact(tools), "answers": _compact(calls)})
    return rows


def make_texts(rows: list[dict]) -> list[str]:
    return [t for r in rows for t in (r["query"], r["tools"], r["answers"])]


@pytest.fixture(scope="module")
def tok():
    return T.train_tokenizer(make_texts(make_rows()), vocab_size=500, min_frequency=2)


# ---------------------------------------------------------------- structure, special tokens

def test_special_token_ids(tok):
    assert [tok.convert_tokens_to_ids(t) for t in T.SPECIAL_TOKENS] == [0, 1, 2, 3, 4, 5]
    assert (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert (tok.pad_token, tok.eos_token, tok.bos_token, tok.unk_token) == ("<pad>", "</s>", "<s>", "<unk>")
    assert {"<tool_call>", "<tools>"} <= set(tok.all_special_tokens)
    assert set(tok.all_special_ids) == {0, 1, 2, 3, 4, 5}
    assert tok.model_max_length == 1024
    assert (T.PAD_ID, T.EOS_ID, T.BOS_ID, T.UNK_ID, T.TOOL_CALL_ID, T.TOOLS_ID) == (0, 1, 2, 3, 4, 5)


def test_vocab_layout_and_size(tok):
    assert 262 < len(tok) <= 500
    # ids 6..261 are the 256 byte symbols: every byte is in the vocabulary, nothing is ever unknown
    from tokenizers.pre_tokenizers import ByteLevel
    assert {tok.convert_ids_to_tokens(i) for i in range(6, 262)} == set(ByteLevel.alphabet())


def test_no_bos_eos_added(tok):
    ids = tok("What's the weather in Paris?")["input_ids"]
    assert ids and not set(ids) & {0, 1, 2, 3, 4, 5}
    assert tok.encode("hello") == tok("hello")["input_ids"]


def test_skip_special_tokens_drops_control_ids(tok):
    ids = [4] + tok('[{"name":"set_timer","arguments":{"minutes":5}}]')["input_ids"] + [1, 0, 0]
    assert tok.decode(ids, skip_special_tokens=True) == '[{"name":"set_timer","arguments":{"minutes":5}}]'
    assert tok.decode([4, 5, 1]) == "<tool_call><tools></s>"


def test_json_and_digits_tokenise_well(tok):
    pieces = tok.tokenize('{"name":"get_weather","arguments":{"location":"Paris","days":1234}}')
    assert "get" in pieces and "_weather" in pieces and '":"' in pieces and "location" in pieces
    assert [p for p in pieces if p.isdigit()] == ["1", "2", "3", "4"]  # digits are split one by one
    assert "1234" not in tok.get_vocab() and "12" not in tok.get_vocab()


def test_vocab_size_too_small_is_rejected():
    with pytest.raises(ValueError, match="at least 262"):
        T.train_tokenizer(["abc"], vocab_size=100)


# ---------------------------------------------------------------- literal special-token text in user input

def test_literal_special_text_in_query_is_plain_text(tok):
    """Decision: user text can never inject control ids; '<tools>' typed in a query stays ordinary bytes."""
    for text in ["list <tools> please", "<tool_call>", "a</s>b<pad><s><unk>"]:
        ids = tok(text)["input_ids"]
        assert not set(ids) & {0, 1, 2, 3, 4, 5}
        assert tok.decode(ids) == text
        assert tok.decode(ids, skip_special_tokens=True) == text  # not special ids, so nothing is dropped
    ids, cut = T.build_encoder_ids(tok, "show my <tools>", '[{"name":"x"}]')
    assert ids.count(5) == 1 and cut == 0
    # explicit opt-in to v1-like matching still works
    assert 5 in tok("a <tools> b", split_special_tokens=False)["input_ids"]
    # ... and the special tokens themselves are still special when converted by name
    assert tok.convert_tokens_to_ids("<tools>") == 5


# ---------------------------------------------------------------- lossless round trip

def _roundtrip(tok, s: str) -> None:
    ids = tok(s)["input_ids"]
    assert tok.decode(ids) == s
    assert tok.decode(ids, skip_special_tokens=True) == s
    assert 3 not in ids  # never <unk>


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(s=st.text(max_size=200))
def test_lossless_random_unicode(tok, s):
    _roundtrip(tok, s)


@FAST
@given(s=st.lists(st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "a", "Paris", ".", "7"]),
                  max_size=40).map("".join))
def test_lossless_whitespace_runs(tok, s):
    _roundtrip(tok, s)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(['He said "hi"\\n', "tab\there", "emoji 🎉👍🏽👨‍👩‍👧", "C:\\path\\x", "<tools>", "  spaced  "]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FAST
@given(v=json_values, ensure_ascii=st.booleans(), compact=st.booleans())
def test_lossless_json(tok, v, ensure_ascii, compact):
    sep = (",", ":") if compact else (", ", ": ")
    _roundtrip(tok, json.dumps(v, ensure_ascii=ensure_ascii, separators=sep))


@pytest.mark.parametrize("s", [
    "", " ", "  leading and trailing  ", "a  b   c\t\td\n\n\ne", "\n", "\x00\x01\x7f", "Zürich 東京 🎉 مرحبا हिन्दी",
    '{"name":"get_weather","arguments":{"location":"Z\\u00fcrich"}}', "e\u0301 combining", "\ud7ff\ue000\U0010ffff",
])
def test_lossless_examples(tok, s):
    _roundtrip(tok, s)


# ---------------------------------------------------------------- save / load

def test_save_load_roundtrip(tok, tmp_path):
    from transformers import AutoTokenizer

    files = T.save_tokenizer(tok, tmp_path / "tok")
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= set(files)
    config = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    # portable across transformers 4.57 and 5.x (v5 would write TokenizersBackend + list extra_special_tokens)
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert config["additional_special_tokens"] == ["<tool_call>", "<tools>"]
    assert "extra_special_tokens" not in config
    assert config["model_max_length"] == 1024 and config["split_special_tokens"] is True
    assert config["clean_up_tokenization_spaces"] is False

    for loaded in (T.load_tokenizer(tmp_path / "tok"), AutoTokenizer.from_pretrained(str(tmp_path / "tok"))):
        assert len(loaded) == len(tok)
        assert loaded.all_special_ids == tok.all_special_ids
        assert (loaded.pad_token_id, loaded.eos_token_id, loaded.bos_token_id, loaded.unk_token_id) == (0, 1, 2, 3)
        assert loaded.model_max_length == 1024
        for text in make_texts(make_rows(10, seed=1)) + ["x <tools> y", "  a\t\nb  "]:
            assert loaded(text)["input_ids"] == tok(text)["input_ids"]
            assert loaded.decode(loaded(text)["input_ids"]) == text


def test_plain_save_pretrained_also_loads(tok, tmp_path):
    tok.save_pretrained(tmp_path / "plain")
    loaded = T.load_tokenizer(tmp_path / "plain")
    assert loaded("a <tools> 12")["input_ids"] == tok("a <tools> 12")["input_ids"]
    assert loaded.all_special_ids == tok.all_special_ids


# ---------------------------------------------------------------- encoder ids

def test_build_encoder_ids_layout(tok):
    q, t = "Set a timer for 5 minutes", _compact(TOOLS)
    q_ids, t_ids = tok(q)["input_ids"], tok(t)["input_ids"]
    ids, cut = T.build_encoder_ids(tok, q, t)
    assert ids == q_ids + [5] + t_ids and cut == 0


@pytest.mark.parametrize("max_length", [2, 3, 10, 25, 1024])
@pytest.mark.parametrize("nq,nt", [(0, 0), (3, 40), (40, 3), (40, 40), (8, 1)])
def test_build_encoder_ids_truncation(tok, max_length, nq, nt):
    q = " ".join(["7"] * nq)  # "7", " ", "7", ... : 2*nq-1 tokens, each char its own token
    t = "8" * nt
    q_ids, t_ids = tok(q)["input_ids"], tok(t)["input_ids"]
    ids, cut = T.build_encoder_ids(tok, q, t, max_length=max_length)
    q_part = q_ids[: max_length - 2]
    t_part = t_ids[: max_length - len(q_part) - 1]
    assert ids == q_part + [5] + t_part
    assert len(ids) <= max_length
    assert cut == len(q_ids) + len(t_ids) - len(q_part) - len(t_part)
    assert ids.count(5) == 1


def test_build_encoder_ids_rejects_tiny_max_length(tok):
    with pytest.raises(ValueError):
        T.build_encoder_ids(tok, "a", "b", max_length=1)


# ---------------------------------------------------------------- llguidance

def test_llguidance_accepts_tokenizer(tok):
    import llguidance
    import llguidance.hf

    ll = llguidance.hf.from_tokenizer(tok)
    assert ll.vocab_size == len(tok)
    assert ll.eos_token == 1
    text = '[{"name":"get_weather","arguments":{"location":"Zürich 🎉"}}]'
    ids = tok(text)["input_ids"]
    assert ll.tokenize_str(text) == ids
    assert ll.decode_str(ids) == text

    schema = {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["name", "arguments"],
        "properties": {"name": {"const": "get_weather"},
                       "arguments": {"type": "object", "additionalProperties": False, "required": ["location"],
                                     "properties": {"location": {"type": "string"}}}}}}
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        schema, defaults={"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"})
    matcher = llguidance.LLMatcher(ll, grammar)
    assert not matcher.is_error(), matcher.get_error()
    for i in ids:  # teacher-force the tokenisation the model is trained on
        assert matcher.consume_token(i), (i, tok.convert_ids_to_tokens(i), matcher.get_error())
    assert matcher.is_accepting()
    assert matcher.consume_token(1) and matcher.is_stopped()


# ---------------------------------------------------------------- corpus and CLI (need needle_hf.tools)

def test_corpus_from_rows():
    tools = pytest.importorskip("needle_hf.tools")
    rows = make_rows(8)
    texts = list(T.corpus_from_rows(rows))
    expected = []
    for r in rows:
        expected += [r["query"], tools.tools_to_text(tools.parse_tools(r["tools"])),
                     tools.answers_to_text(json.loads(r["answers"]))]
    assert texts == expected
    assert "[]" in texts  # a no-call row contributes its answers text too
    with pytest.raises(ValueError, match=r"row 1: field 'tools'"):
        list(T.corpus_from_rows([rows[0], {"query": "q", "tools": "not json", "answers": "[]"}]))
    with pytest.raises(ValueError, match=r"row 0: missing field\(s\) answers"):
        list(T.corpus_from_rows([{"query": "q", "tools": "[]"}]))


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_cli_tokenize(tmp_path, capsys):
    pytest.importorskip("needle_hf.tools")
    from needle_hf.cli import main

    rows = make_rows(80)
    _write_jsonl(tmp_path / "train.jsonl", rows[:60])
    _write_jsonl(tmp_path / "valid.jsonl", rows[60:])
    out = tmp_path / "tok"
    rc = main(["tokenize", "--data", str(tmp_path / "train.jsonl"), "--data", str(tmp_path / "valid.jsonl"),
               "--out", str(out), "--vocab-size", "400"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "vocab size:" in captured.out and "rows: 80" in captured.out and "avg tokens per row" in captured.out
    loaded = T.load_tokenizer(out)
    assert len(loaded) <= 400 and loaded.convert_tokens_to_ids("<tools>") == 5
    assert loaded.decode(loaded(rows[2]["query"])["input_ids"]) == rows[2]["query"]


def test_cli_tokenize_bad_line(tmp_path, capsys):
    pytest.importorskip("needle_hf.tools")
    from needle_hf.cli import main

    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(make_rows(1)[0]) + "\n{not json\n", encoding="utf-8")
    rc = main(["tokenize", "--data", str(path), "--out", str(tmp_path / "tok"), "--vocab-size", "300"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{path}:2" in err and "not valid JSON" in err

    path.write_text(json.dumps({"query": "q", "tools": "[]"}) + "\n", encoding="utf-8")
    rc = main(["tokenize", "--data", str(path), "--out", str(tmp_path / "tok"), "--vocab-size", "300"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{path}:1" in err and "answers" in err


def test_length_summary_counts_tokens_and_truncation(tmp_path):
    tok = T.train_tokenizer(make_texts(make_rows()), vocab_size=400, min_frequency=2)
    rows = [("hi there", "x" * 40, "[]"), ("set a timer", "tool", '[{"name":"t"}]')]
    counts = [[len(tok(t, add_special_tokens=False)["input_ids"]) for t in r] for r in rows]
    s = T.length_summary(tok, rows)
    assert s["rows"] == 2 and s["query"] == (counts[0][0] + counts[1][0]) / 2
    assert s["tokens_per_row"] == sum(map(sum, counts)) / 2 and s["truncated"] == 0
    tok.model_max_length = counts[1][0] + 1 + counts[1][1]    # the second row fits exactly, the first does not
    assert counts[0][0] + 1 + counts[0][1] > tok.model_max_length
    s = T.length_summary(tok, rows)
    assert s["truncated"] == 1 and s["encoder_max"] == tok.model_max_length
