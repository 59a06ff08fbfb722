"""Grammar-constrained decoding: schema, llguidance grammar and NeedleGrammarProcessor (greedy, sampling, beams)."""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("llguidance")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import LogitsProcessor

from needle_hf.constrained import (
    JSON_COMPILE_OPTIONS,
    NeedleGrammarProcessor,
    answer_grammar,
    answer_json_schema,
    answer_lark,
    copy_source,
    get_ll_tokenizer,
    takes_codes,
    takes_dates,
)
from needle_hf.modeling import NeedleConfig, NeedleForConditionalGeneration
from needle_hf.tokenization import train_tokenizer
from needle_hf.tools import (CallParseError, Param, Tool, answers_to_text, parse_calls, parse_tools, tools_to_text,
                             validate_calls)

from .helpers_models import is_copied, other_tools_copy

TOOL_CALL, EOS, PAD, TOOLS = 4, 1, 0, 5

TOOLS_A = [
    Tool("getWeather", "Current weather", [
        Param("location", "string", "city", required=True),
        Param("unit", "string", "unit", enum=["celsius", "fahrenheit"]),
        Param("days", "integer", "days ahead"),
    ]),
    Tool("set_timer", "Start a timer", [
        Param("minutes", "integer", required=True),
        Param("label", "string"),
        Param("tags", "array", items="string"),
        Param("loud", "boolean"),
        Param("meta", "object"),
        Param("ratio", "number"),
        Param("level", "integer", enum=[1, 2, 3]),
        Param("anything", "array"),
    ]),
    Tool("send_message", "Send a text", [Param("to", "string", required=True), Param("body", "string", required=True)]),
    Tool("ping", "No arguments", []),
]

ANSWERS_A = [
    [],
    [{"name": "get_weather", "arguments": {"location": "Paris"}}],
    [{"name": "get_weather", "arguments": {"location": "Zürich 東京 😀 Ελλάδα", "unit": "celsius", "days": -3}}],
    [{"name": "get_weather",
      "arguments": {"location": "quote \" backslash \\ tab \t nl \n ctrl \x01 \x1f \x7f DEL \x80 \u2028"}}],
    [{"name": "set_timer", "arguments": {"minutes": 5, "label": "", "tags": ["a", "b c", "ü"], "loud": True,
                                         "meta": {"k": [1, 2.5, None, False, {"z": "ß"}], "e": {}}, "ratio": 1e-05,
                                         "level": 2, "anything": [1, "x", [True], {"a": None}]}}],
    [{"name": "set_timer", "arguments": {"minutes": 0, "tags": [], "loud": False, "ratio": -2.5e+300}}],
    [{"name": "set_timer", "arguments": {"minutes": 12345678901234567890, "label": None, "level": None}}],
    [{"name": "ping", "arguments": {}}, {"name": "ping", "arguments": {}}],
    [{"name": "send_message", "arguments": {"to": "Bob", "body": "Hi <tool_call> </s> <tools>"}},
     {"name": "get_weather", "arguments": {"location": "Oslo", "days": 2}}],
]


def _corpus() -> list[str]:
    texts = [tools_to_text(TOOLS_A)] + [answers_to_text(a) for a in ANSWERS_A]
    texts += ["What's the weather in Paris tomorrow? Set a timer for five minutes.", "Zürich 東京 Ελλάδα Привет"]
    return texts * 5


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models on a shared 2-core machine: intra-op threads only add contention (30x slower measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(_corpus(), vocab_size=420)


@pytest.fixture(scope="module")
def model(tok):
    torch.manual_seed(0)
    config = NeedleConfig.from_preset("needle-tiny", vocab_size=len(tok), dropout=0.0)
    return NeedleForConditionalGeneration(config).eval()


def _answer_ids(tok, calls, ensure_ascii=False) -> list[int]:
    """What the decoder is trained to produce: <tool_call> + answer tokens + EOS."""
    return [TOOL_CALL] + tok(answers_to_text(calls, ensure_ascii=ensure_ascii), add_special_tokens=False)["input_ids"] \
        + [EOS]


def _teacher_force(proc, tok, target: list[int], n_vocab: int) -> list[torch.Tensor]:
    """Feed target token by token (decoder input starts with the start token 1); return the allowed mask per step."""
    seq, masks = [EOS], []
    for step, t in enumerate(target):
        scores = proc(torch.tensor([seq]), torch.zeros(1, n_vocab))
        allowed = torch.isfinite(scores[0])
        assert allowed[t], (f"gold token {t} {tok.decode([t])!r} rejected at step {step} after "
                            f"{tok.decode(seq[1:], skip_special_tokens=False)!r}")
        masks.append(allowed)
        seq.append(t)
    return masks


def _allowed_after(tok, tools, prefix: str, **kw) -> list[str]:
    """Texts of the tokens allowed after `<tool_call>` + prefix (fed token by token)."""
    proc = NeedleGrammarProcessor(tok, tools, **kw)
    seq = [EOS, TOOL_CALL] + tok(prefix, add_special_tokens=False)["input_ids"]
    for i in range(2, len(seq) + 1):
        scores = proc(torch.tensor([seq[:i]]), torch.zeros(1, len(tok)))
    ids = torch.isfinite(scores[0]).nonzero().flatten().tolist()
    return [tok.decode([i], skip_special_tokens=False) for i in ids]


# ----------------------------------------------------------------------------------------------------------------
# schema
# ----------------------------------------------------------------------------------------------------------------
def test_answer_json_schema_shape():
    schema = answer_json_schema(TOOLS_A)
    assert schema["type"] == "array" and "minItems" not in schema
    variants = schema["items"]["anyOf"]
    assert [v["properties"]["name"] for v in variants] == [
        {"const": "get_weather"}, {"const": "set_timer"}, {"const": "send_message"}, {"const": "ping"}]
    weather = variants[0]
    assert list(weather["properties"]) == ["name", "arguments"]
    assert weather["required"] == ["name", "arguments"] and weather["additionalProperties"] is False
    args = weather["properties"]["arguments"]
    assert list(args["properties"]) == ["location", "unit", "days"]  # the tool's parameter order
    assert args["required"] == ["location"] and args["additionalProperties"] is False
    assert args["properties"]["location"] == {"type": "string"}
    assert args["properties"]["unit"] == {"enum": ["celsius", "fahrenheit", None]}  # optional -> null allowed
    assert args["properties"]["days"] == {"type": ["integer", "null"]}
    timer = variants[1]["properties"]["arguments"]["properties"]
    assert timer["tags"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert timer["meta"] == {"type": ["object", "null"]} and timer["anything"] == {"type": ["array", "null"]}
    assert timer["level"] == {"enum": [1, 2, 3, None]}
    strict = answer_json_schema(TOOLS_A, nullable_optional=False)["items"]["anyOf"][0]["properties"]["arguments"]
    assert strict["properties"]["days"] == {"type": "integer"}
    assert variants[3]["properties"]["arguments"]["properties"] == {}
    # a single tool needs no anyOf; no tools -> only the empty list; any tool format is accepted
    assert answer_json_schema(TOOLS_A[:1])["items"] == variants[0]
    assert answer_json_schema([]) == {"type": "array", "maxItems": 0}
    flat = {"name": "getWeather", "description": "", "parameters": {"location": {"type": "string", "required": True}}}
    assert answer_json_schema(json.dumps([flat]))["items"]["properties"]["name"] == {"const": "get_weather"}


def test_module_imports_only_allowed_packages():
    """Hub remote code: stdlib/torch/transformers at top level, relative imports, llguidance only inside functions."""
    path = Path(__file__).resolve().parents[1] / "modeling" / "constrained.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = set(sys.stdlib_module_names) | {"torch", "transformers", "__future__"}
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [] if node.level else [node.module.split(".")[0]]
        else:
            continue
        assert set(names) <= allowed, f"top-level import of {names} in modeling/constrained.py"
    assert "needle_hf" not in path.read_text(encoding="utf-8").replace("needle_hf.modeling", "")


def test_missing_llguidance_message(tok, monkeypatch):
    monkeypatch.setitem(sys.modules, "llguidance", None)
    monkeypatch.setitem(sys.modules, "llguidance.hf", None)
    assert answer_json_schema(TOOLS_A)["type"] == "array"  # works without llguidance
    with pytest.raises(ImportError, match="pip install llguidance"):
        NeedleGrammarProcessor(tok, TOOLS_A)


# ----------------------------------------------------------------------------------------------------------------
# every valid answer is allowed (teacher forcing)
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("i", range(len(ANSWERS_A)))
def test_teacher_forcing_hand_written(tok, i):
    calls = ANSWERS_A[i]
    assert validate_calls(calls, TOOLS_A)[1] == []
    proc = NeedleGrammarProcessor(tok, TOOLS_A)
    target = _answer_ids(tok, calls)
    masks = _teacher_force(proc, tok, target, len(tok))
    assert masks[0].nonzero().flatten().tolist() == [TOOL_CALL]  # <tool_call> is the only first token
    assert not any(m[EOS] for m in masks[:-1])  # EOS only once the JSON is complete ...
    assert masks[-1].nonzero().flatten().tolist() == [EOS]  # ... and then nothing else
    assert proc.is_complete() == [True] and proc.errors == []


def test_teacher_forcing_ensure_ascii(tok):
    """Models converted from v1 write \\uXXXX escapes (surrogate pairs for emoji): allowed with ensure_ascii=True."""
    calls = ANSWERS_A[2]
    target = _answer_ids(tok, calls, ensure_ascii=True)
    assert "\\u00fc" in tok.decode(target[1:-1]) and "\\ud83d\\ude00" in tok.decode(target[1:-1])
    _teacher_force(NeedleGrammarProcessor(tok, TOOLS_A, ensure_ascii=True), tok, target, len(tok))
    with pytest.raises(AssertionError, match="rejected"):  # native models never saw such escapes
        _teacher_force(NeedleGrammarProcessor(tok, TOOLS_A), tok, target, len(tok))


def _schema_matcher(tok, tools):
    """llguidance's own compilation of answer_json_schema with the training separators (the reference language)."""
    import llguidance

    schema = {**answer_json_schema(tools), "x-guidance": dict(JSON_COMPILE_OPTIONS)}
    return llguidance.LLMatcher(get_ll_tokenizer(tok), llguidance.LLMatcher.grammar_from_json_schema(schema),
                                log_level=0)


def _accepts(matcher, ids) -> bool:
    return matcher.deep_copy().validate_tokens(ids) == len(ids)


def test_lark_grammar_matches_json_schema_language(tok):
    """Our Lark grammar and llguidance's JSON-schema compiler agree on valid answers and on what they reject, except
    for the three documented differences (non-finite numbers, raw DEL, \\uXXXX escapes of printable characters)."""
    import llguidance

    lark = llguidance.LLMatcher(get_ll_tokenizer(tok), answer_grammar(TOOLS_A, None), log_level=0)
    schema = _schema_matcher(tok, TOOLS_A)
    texts = [answers_to_text(a) for a in ANSWERS_A if "\x7f" not in answers_to_text(a)] + [
        '[{"name":"get_weather","arguments":{"unit":"celsius","location":"x"}}]',  # schema order is enforced
        '[{"name":"get_weather","arguments":{"days":1}}]',  # missing required
        '[{"name":"get_weather","arguments":{"location":"x","extra":1}}]',  # unknown key
        '[{"name":"get_weather","arguments":{"location":"x","days":1.5}}]',  # not an integer
        '[{"name":"get_weather","arguments":{"location":"x","unit":"kelvin"}}]',  # not in the enum
        '[{"name":"get_weather","arguments":{"location": "x"}}]',  # whitespace
        '[{"name":"get_weather"}]', '[{"arguments":{},"name":"ping"}]', '[{"name":"other","arguments":{}}]',
        '[{"name":"set_timer","arguments":{"minutes":1,"tags":[1]}}]',  # typed array items
        '[{"name":"set_timer","arguments":{"minutes":1,"loud":"true"}}]', '{}', '[[]]', '',
    ]
    for text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"] + [EOS]
        assert _accepts(lark, ids) == _accepts(schema, ids), text
    differences = {
        '[{"name":"set_timer","arguments":{"minutes":1,"ratio":1e999}}]': (False, True),  # inf in Python
        '[{"name":"set_timer","arguments":{"minutes":1,"ratio":2e308}}]': (False, True),
        '[{"name":"set_timer","arguments":{"minutes":1,"meta":{"a":-1E400}}}]': (False, True),
        '[{"name":"get_weather","arguments":{"location":"a\x7fb"}}]': (True, False),  # json.dumps writes DEL raw
        '[{"name":"get_weather","arguments":{"location":"\\u00fc"}}]': (False, False),  # ensure_ascii only
    }
    for text, expected in differences.items():
        ids = tok(text, add_special_tokens=False)["input_ids"] + [EOS]
        assert (_accepts(lark, ids), _accepts(schema, ids)) == expected, text


def test_teacher_forcing_generated_rows(tok):
    offline = pytest.importorskip("needle_hf.data.offline")
    rows = list(offline.generate_rows(120, seed=0))
    assert len(rows) >= 100
    for row in rows:
        calls = parse_calls(row["answers"])
        tools = row["tools"]
        assert validate_calls(calls, tools)[1] == []
        _teacher_force(NeedleGrammarProcessor(tok, tools), tok, _answer_ids(tok, calls), len(tok))


# ----------------------------------------------------------------------------------------------------------------
# invalid continuations are rejected
# ----------------------------------------------------------------------------------------------------------------
def test_only_tool_names_after_name_key(tok):
    names = [t.snake_name for t in TOOLS_A]
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"')
    assert allowed
    for text in allowed:
        assert any((n + '","arguments":{').startswith(text) for n in names), text
    for n in names:  # every tool name can start
        first = tok.decode(tok(n, add_special_tokens=False)["input_ids"][:1])
        assert any(text.startswith(first) or first.startswith(text) for text in allowed), n
    # per tool list: another list allows other names
    allowed_b = _allowed_after(tok, TOOLS_A[2:3], '[{"name":"')
    assert all("send_message".startswith(t) for t in allowed_b)


def test_invalid_values_and_keys_rejected(tok):
    # enum: only prefixes of the allowed values (or null for an optional argument)
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"get_weather","arguments":{"location":"x","unit":')
    assert allowed and all(any(v.startswith(t) for v in ('"celsius"', '"fahrenheit"', "null")) for t in allowed)
    # integer: digits or minus
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"get_weather","arguments":{"location":"x","days":')
    assert allowed and all(t[0] in "-0123456789n" for t in allowed) and not any("." in t for t in allowed)
    # required argument first, in parameter order; no unknown keys
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"get_weather","arguments":{')
    assert allowed and all('"location"'.startswith(t) or t.startswith('"location"') for t in allowed)
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"get_weather","arguments":{"location":"x",')
    assert allowed and all(any(k.startswith(t) for k in ('"unit"', '"days"')) for t in allowed)
    # after the last parameter the object can only close
    allowed = _allowed_after(tok, TOOLS_A, '[{"name":"get_weather","arguments":{"location":"x","days":3')
    assert allowed and all(t[0] in "0123456789}" for t in allowed)
    # no whitespace between tokens (compact JSON like the training data)
    assert not any(t.startswith(" ") for t in _allowed_after(tok, TOOLS_A, '[{"name":"ping","arguments":{}}'))
    # no tools: only the empty list
    assert set(_allowed_after(tok, [], "")) <= {"[", "[]", "[]</s>"}


# ----------------------------------------------------------------------------------------------------------------
# processor mechanics: batches, finished rows, reordering (beams), vocab sizes, prefixes, caching
# ----------------------------------------------------------------------------------------------------------------
def test_batch_per_row_tools_and_finished_rows(tok):
    short = _answer_ids(tok, [])
    long = _answer_ids(tok, [ANSWERS_A[8][0], {"name": "ping", "arguments": {}}])
    proc = NeedleGrammarProcessor(tok, [TOOLS_A, TOOLS_A[2:]])
    seqs = [[EOS], [EOS]]
    for step in range(len(long) + 2):
        scores = proc(torch.tensor(seqs), torch.zeros(2, len(tok)))
        allowed = torch.isfinite(scores)
        nxt = []
        for r, target in enumerate([short, long]):
            if step < len(target):
                assert allowed[r, target[step]]
                nxt.append(target[step])
            else:  # generate() feeds pad tokens to finished rows; only EOS stays finite there
                assert allowed[r].nonzero().flatten().tolist() == [EOS]
                nxt.append(PAD)
        seqs = [s + [t] for s, t in zip(seqs, nxt)]
    assert proc.errors == [] and proc.is_complete() == [True, True]
    # row 1 was only offered send_message: get_weather is rejected there (row 0 allows it)
    proc = NeedleGrammarProcessor(tok, [TOOLS_A, TOOLS_A[2:]])
    prefix = [EOS, TOOL_CALL] + tok('[{"name":"', add_special_tokens=False)["input_ids"]
    for i in range(1, len(prefix) + 1):
        scores = proc(torch.tensor([prefix[:i]] * 2), torch.zeros(2, len(tok)))
    g = tok("get", add_special_tokens=False)["input_ids"][0]
    assert torch.isfinite(scores[0, g]) and not torch.isfinite(scores[1, g])


def test_rows_follow_reordering_like_a_fresh_replay(tok):
    """Beam search reorders rows between steps: masks must equal those of a processor replaying each row."""
    hist = [_answer_ids(tok, ANSWERS_A[k])[:-1] for k in (1, 7, 2)]
    n = min(map(len, hist))
    proc = NeedleGrammarProcessor(tok, TOOLS_A)
    differ = False
    for i in range(1, n + 1):
        rows = [[EOS] + hist[(k + i) % 3][:i - 1] for k in range(3)]  # rotate the rows every step
        scores = proc(torch.tensor(rows), torch.zeros(3, len(tok)))
        fresh = NeedleGrammarProcessor(tok, TOOLS_A)(torch.tensor(rows), torch.zeros(3, len(tok)))
        assert torch.equal(torch.isfinite(scores), torch.isfinite(fresh)), i
        differ |= not torch.equal(torch.isfinite(fresh[0]), torch.isfinite(fresh[1]))
    assert differ and proc.errors == []
    # two rows extending the same parent (beam split), and a beam that picked a masked token (broken: only EOS)
    rows = [rows[0] + [hist[(0 + n) % 3][n - 1]], rows[0] + [hist[(0 + n) % 3][n - 1]], rows[1] + [PAD]]
    scores = proc(torch.tensor(rows), torch.zeros(3, len(tok)))
    fresh = NeedleGrammarProcessor(tok, TOOLS_A)(torch.tensor(rows[:2]), torch.zeros(2, len(tok)))
    assert torch.equal(torch.isfinite(scores[:2]), torch.isfinite(fresh))
    assert torch.isfinite(scores[2]).nonzero().flatten().tolist() == [EOS]
    assert len(proc.errors) == 1 and proc.errors[0].startswith("row 2:")


def test_wider_model_vocab_and_forced_prefix(tok):
    proc = NeedleGrammarProcessor(tok, TOOLS_A)
    scores = proc(torch.tensor([[EOS, TOOL_CALL]]), torch.zeros(1, len(tok) + 60))  # [1, 4]: 4 is fed
    allowed = torch.isfinite(scores[0])
    assert not allowed[len(tok):].any() and allowed[tok("[", add_special_tokens=False)["input_ids"][0]]
    with pytest.raises(ValueError, match="does not start a valid tool-call answer"):
        NeedleGrammarProcessor(tok, TOOLS_A)(torch.tensor([[EOS, 7]]), torch.zeros(1, len(tok)))
    bare = NeedleGrammarProcessor(tok, TOOLS_A, tool_call_token_id=None)  # grammar without the <tool_call> prefix
    assert not torch.isfinite(bare(torch.tensor([[EOS]]), torch.zeros(1, len(tok)))[0, TOOL_CALL])
    with pytest.raises(ValueError, match="tool list per batch item"):
        NeedleGrammarProcessor(tok, [TOOLS_A, TOOLS_A])(torch.tensor([[EOS]] * 3), torch.zeros(3, len(tok)))


def test_ll_tokenizer_and_grammar_are_cached(tok):
    assert get_ll_tokenizer(tok) is get_ll_tokenizer(tok)
    p1, p2 = NeedleGrammarProcessor(tok, TOOLS_A), NeedleGrammarProcessor(tok, TOOLS_A)
    assert p1._templates[0] is p2._templates[0]
    assert answer_grammar(TOOLS_A).startswith("start: <[4]> answer")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_scores(tok):
    proc = NeedleGrammarProcessor(tok, TOOLS_A)
    scores = proc(torch.tensor([[EOS]], device="cuda"), torch.zeros(1, len(tok), device="cuda"))
    assert scores.device.type == "cuda" and torch.isfinite(scores[0]).nonzero().flatten().tolist() == [TOOL_CALL]


# ----------------------------------------------------------------------------------------------------------------
# generate() on an untrained model: whatever it emits parses and validates
# ----------------------------------------------------------------------------------------------------------------
class _Explore(LogitsProcessor):
    """Test helper: seeded noise so an untrained model walks many paths, plus a bonus for tokens that close strings /
    containers (and EOS) so most answers finish within max_new_tokens. Applied before the grammar mask."""

    def __init__(self, tok, seed: int, scale: float = 4.0, bonus: float = 3.0):
        self.gen = torch.Generator().manual_seed(seed)
        self.scale = scale
        vocab = len(tok)
        self.bonus = torch.zeros(vocab)
        for i in range(vocab):
            text = tok.decode([i], skip_special_tokens=False)
            if i == EOS or any(c in text for c in '"]}'):
                self.bonus[i] = bonus

    def __call__(self, input_ids, scores):
        noise = torch.randn(scores.shape, generator=self.gen) * self.scale
        bonus = torch.nn.functional.pad(self.bonus, (0, max(0, scores.shape[-1] - len(self.bonus))))
        return scores + noise + bonus[: scores.shape[-1]]


def _encoder_ids(tok, query: str, tools) -> list[int]:
    return tok(query, add_special_tokens=False)["input_ids"] + [TOOLS] + \
        tok(tools_to_text(tools), add_special_tokens=False)["input_ids"]


def _generate(model, tok, tools_per_row, seed: int, max_new_tokens: int = 96, **kw):
    rows = [_encoder_ids(tok, "what's the weather, set a timer", tl) for tl in tools_per_row]
    width = max(map(len, rows))
    ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
    mask = (torch.arange(width)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
    proc = NeedleGrammarProcessor(tok, tools_per_row)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                         logits_processor=[_Explore(tok, seed), proc], **kw)
    return out, proc


def _check_output(tok, seq: torch.Tensor, tools) -> bool:
    """Finished outputs parse and validate; unfinished ones are a valid prefix. Returns whether it finished."""
    ids = seq.tolist()
    assert ids[0] == EOS and ids[1] == TOOL_CALL
    if EOS not in ids[1:]:
        proc = NeedleGrammarProcessor(tok, tools)  # replay: every emitted token is allowed by the grammar
        proc(torch.tensor([ids]), torch.zeros(1, len(tok)))
        return False
    body = ids[2:ids.index(EOS, 1)]
    text = tok.decode(body, skip_special_tokens=False)
    try:
        calls = parse_calls(text)
    except CallParseError as err:
        # The one thing a context-free grammar cannot rule out: a repeated key inside a free-form "object" argument.
        assert "duplicate key" in str(err) and any(p.type == "object" for t in tools for p in t.parameters), text
        return True
    _, errors = validate_calls(calls, tools, coerce=False)
    assert errors == [], (text, errors)
    answers_to_text(calls)  # re-serializable (finite numbers)
    return True


_SHOW = False
_names = st.from_regex(r"[a-z]{2,7}(_[a-z]{2,6}){0,2}", fullmatch=True)
_pnames = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)
_enum_values = {
    "string": st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3, unique=True),
    "integer": st.lists(st.integers(-50, 50), min_size=1, max_size=3, unique=True),
}


@st.composite
def _params(draw):
    names = draw(st.lists(_pnames, max_size=4, unique=True))
    params = []
    for name in names:
        ptype = draw(st.sampled_from(["string", "integer", "number", "boolean", "array", "object"]))
        enum = draw(_enum_values[ptype]) if ptype in _enum_values and draw(st.booleans()) else None
        items = draw(st.sampled_from([None, "string", "integer", "number", "boolean"])) if ptype == "array" else None
        params.append(Param(name, ptype, required=draw(st.booleans()), enum=enum, items=items))
    return params


_tool_lists = st.lists(st.builds(Tool, _names, st.just("d"), _params()), min_size=1, max_size=3,
                       unique_by=lambda t: t.snake_name)


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(tools=_tool_lists, seed=st.integers(0, 2**16))
def test_generate_greedy_emits_valid_calls(model, tok, tools, seed):
    out, proc = _generate(model, tok, [tools, tools], seed)
    finished = [_check_output(tok, seq, tools) for seq in out]
    if _SHOW:
        print(finished, [tok.decode(s[2:], skip_special_tokens=True) for s in out])
    assert proc.errors == []
    assert any(finished), [tok.decode(s) for s in out]


def test_generate_batch_sampling_and_beams(model, tok):
    tool_lists = [TOOLS_A, TOOLS_A[2:], TOOLS_A[:1]]
    out, proc = _generate(model, tok, tool_lists, seed=1)  # greedy, per-row tool lists
    assert sum(_check_output(tok, s, tl) for s, tl in zip(out, tool_lists)) >= 2 and proc.errors == []
    out, _ = _generate(model, tok, tool_lists, seed=2, do_sample=True, num_return_sequences=2)
    assert sum(_check_output(tok, s, tool_lists[i // 2]) for i, s in enumerate(out)) >= 3
    out, _ = _generate(model, tok, tool_lists, seed=3, num_beams=3, num_return_sequences=2, max_new_tokens=48)
    for i, s in enumerate(out):
        _check_output(tok, s, tool_lists[i // 2])


# ----------------------------------------------------------------------------------------------------------------
# budget: with max_new_tokens known, rows are steered to close their answer before the budget runs out
# ----------------------------------------------------------------------------------------------------------------
def test_budget_steers_answers_to_close(model, tok):
    """An untrained model never stops by itself; with the budget most rows end with a complete, valid answer (the
    way out is a greedy estimate, so it is best effort: many required keys can still overrun it)."""
    import random as _random

    rng = _random.Random(0)
    finished = {True: 0, False: 0}
    total = 0
    for trial in range(10):
        tools = [Tool(f"tool_{trial}_{k}", "d", [Param(f"p{j}", rng.choice(["string", "integer", "boolean"]),
                                                       required=rng.random() < 0.5) for j in range(rng.randint(0, 3))])
                 for k in range(rng.randint(1, 3))]
        ids = torch.tensor([_encoder_ids(tok, "note: grüße aus köln, set it to 5", tools)] * 2)
        for use_budget in (True, False):
            torch.manual_seed(trial)
            proc = NeedleGrammarProcessor(tok, tools, max_new_tokens=48 if use_budget else None)
            out = model.generate(input_ids=ids, max_new_tokens=48, do_sample=True, top_k=50, logits_processor=[proc])
            finished[use_budget] += sum(_check_output(tok, seq, tools) for seq in out)
            assert proc.errors == []
        total += 2
    assert finished[True] >= 0.8 * total and finished[True] > finished[False], finished


class _FollowGold:
    """Adds a large bonus to the gold next token, so greedy decoding writes the gold answer unless the grammar
    processor after it forbids that token."""

    def __init__(self, gold: list[int]):
        self.gold = gold

    def __call__(self, input_ids, scores):
        scores[:, self.gold[min(input_ids.shape[1] - 1, len(self.gold) - 1)]] += 1e4
        return scores


@pytest.mark.parametrize("calls", [
    # a number followed by another required argument: the way out must end the number with ','
    [{"name": "set_level", "arguments": {"level": 1234567, "zone": "hall"}}],
    [{"name": "set_level", "arguments": {"level": 3, "zone": "b"}}, {"name": "ping", "arguments": {}}],
    [{"name": "lookup_something_long_named", "arguments": {"q": "ab"}}],
])
def test_budget_keeps_answers_that_fit(model, tok, calls):
    """Steering only bites when the answer would not fit: a gold answer with a few tokens to spare stays as it is."""
    tools = [Tool("set_level", "d", [Param("level", "integer", required=True), Param("zone", "string", required=True)]),
             Tool("ping", "d", []), Tool("lookup_something_long_named", "d", [Param("q", "string", required=True)])]
    gold = _answer_ids(tok, calls)
    ids = torch.tensor([_encoder_ids(tok, "please do it", tools)])
    proc = NeedleGrammarProcessor(tok, tools, max_new_tokens=len(gold) + 4)
    out = model.generate(input_ids=ids, max_new_tokens=len(gold) + 4, do_sample=False,
                         logits_processor=[_FollowGold(gold), proc])
    assert out[0, 1:].tolist() == gold


# ----------------------------------------------------------------------------------------------------------------
# copy mode: free-text string arguments are copied from the request
# ----------------------------------------------------------------------------------------------------------------
COPY_QUERY = "Text Bob at 18:00 that the Zürich train is late?! Tags: a, b c"


def _copy_matcher(tok, tools, query: str):
    import llguidance

    return llguidance.LLMatcher(get_ll_tokenizer(tok), answer_grammar(tools, None, copy_from=query), log_level=0)


def _answer(name: str, **arguments) -> list[dict]:
    return [{"name": name, "arguments": arguments}]


# tools whose parameters take codes (`takes_codes`): words in the tool's or the parameter's name or description;
# and one whose parameters take dates and times (`takes_dates`): words in the parameter's name or description
CODE_TOOLS = [Tool("translate_content", "", [Param("text", "string", required=True), Param("target", "string")]),
              Tool("convert", "Convert money", [Param("toCurrency", "string"), Param("note", "string")])]
DATE_TOOLS = [Tool("book_table", "Reserve a table", [Param("guest", "string", required=True), Param("on", "string"),
                                                     Param("slot", "string"), Param("note", "string", "Any time")])]


def test_copy_mode_allows_only_strings_copied_from_the_request(tok):
    tools = TOOLS_A + CODE_TOOLS + DATE_TOOLS
    matcher = _copy_matcher(tok, tools, COPY_QUERY)
    accepted = [
        _answer("send_message", to="Bob", body="the Zürich train is late?"),  # a copy may stop at any punctuation
        _answer("send_message", to="Bob", body="the Zürich train is late?!"),
        _answer("send_message", to="Bob", body="Zürich"), _answer("send_message", to="Bob", body="18:00"),  # copied
        _answer("get_weather", location="Zürich", unit="fahrenheit", days=3),  # enums and numbers are unaffected
        _answer("set_timer", minutes=5, label="late", tags=["a", "b c"], meta={"free": "form JSON"}),
        _answer("book_table", guest="Bob", on="2026-12-02", slot="19:30"),  # ISO date and time where they are taken
        _answer("book_table", guest="Bob", slot="2026-12-31T23:59:59", note="00:00"),  # date-time; "time" described
        _answer("translate_content", text="the Zürich train", target="fr"),  # codes where the parameter takes them
        _answer("convert", toCurrency="EUR", note="late"),
    ]
    rejected = [
        _answer("send_message", to="Bo", body="late"),  # part of a word
        _answer("send_message", to="Rob", body="late"),  # not in the request
        _answer("send_message", to="bob", body="late"),  # case is copied too
        _answer("send_message", to="Bob", body="the train is late"),  # words must be consecutive
        _answer("set_timer", minutes=5, tags=["a", "d"]),  # string array items are copied as well
        _answer("send_message", to="Bob", body="6 pm"),
        _answer("send_message", to="Bob", body="Europe"),  # not a code (and not in the request)
        _answer("send_message", to="Bob", body=""),  # a copy is never empty
        _answer("send_message", to="Bob", body="?!"), _answer("send_message", to="Bob", body=", "),  # nor punctuation
        _answer("send_message", to="EUR", body="late"),  # a code, but not for a parameter that takes codes
        _answer("send_message", to="Bob", body="fr"),
        _answer("convert", toCurrency="EUR", note="US"),
        _answer("send_message", to="Bob", body="2026-12-02"),  # a date, but a message takes no dates
        _answer("set_timer", minutes=5, label="07:00"),
        _answer("book_table", guest="19:30"),
        _answer("book_table", guest="Bob", on="2026-13-01"), _answer("book_table", guest="Bob", on="2026-02-00"),
        _answer("book_table", guest="Bob", slot="24:00"), _answer("book_table", guest="Bob", slot="18:60"),
    ]
    for calls in accepted:
        assert validate_calls(calls, tools)[1] == [] and all(
            is_copied(v, COPY_QUERY, codes=k in ("target", "toCurrency"), dates=k in ("on", "slot", "note"))
            for c in calls for k, v in c["arguments"].items() if isinstance(v, str) and k not in ("unit",)), calls
        assert _accepts(matcher, tok(answers_to_text(calls), add_special_tokens=False)["input_ids"] + [EOS]), calls
    for calls in rejected:
        assert validate_calls(calls, tools)[1] == []  # valid answers: only copy mode rules them out
        assert not _accepts(matcher, tok(answers_to_text(calls), add_special_tokens=False)["input_ids"] + [EOS]), calls


@pytest.mark.parametrize("query, ensure_ascii, value", [
    ('Text Bob "hi there" now', False, '"hi there"'),  # copied in their JSON-escaped form: \"hi there\"
    ("save to C:\\temp\\new please", False, "C:\\temp\\new"), ("tab\there", False, "tab\there"),
    ("weather in Zürich", True, "Zürich"),  # ensure_ascii models write \u00fc
])
def test_copy_mode_copies_text_that_needs_json_escapes(tok, query, ensure_ascii, value):
    import llguidance

    assert copy_source(query) == query
    grammar = answer_grammar(TOOLS_A, None, copy_from=query, ensure_ascii=ensure_ascii)
    matcher = llguidance.LLMatcher(get_ll_tokenizer(tok), grammar, log_level=0)

    def accepts(v):
        text = answers_to_text(_answer("send_message", to=v, body=v), ensure_ascii)
        return _accepts(matcher, tok(text, add_special_tokens=False)["input_ids"] + [EOS])

    assert accepts(value)
    assert not accepts(value[:-1] + "!")  # not in the request
    if '"' in value:
        assert accepts(value[1:-1]) and accepts(value[:-1])  # runs of chunks: the quotes are chunks of their own
        assert not accepts(value[:-2] + '"')  # "hi ther" + quote is not a run of the request's chunks


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_copy_mode_copies_hold_a_letter_digit_or_non_ascii_character(tok, ensure_ascii):
    """Read on the JSON-escaped text: the "n" of an escaped newline or the "u" of \u001f is no letter."""
    import llguidance

    query = 'Text Bob:\n\t"late" \x1f ü , 5 ?'
    matcher = llguidance.LLMatcher(get_ll_tokenizer(tok), answer_grammar(
        TOOLS_A, None, copy_from=query, ensure_ascii=ensure_ascii), log_level=0)

    def accepts(body):
        text = answers_to_text(_answer("send_message", to="Bob", body=body), ensure_ascii)
        return _accepts(matcher, tok(text, add_special_tokens=False)["input_ids"] + [EOS])

    for body in ("\n", "\n\t", ':\n\t"', "\x1f", " , ", " ?", '"'):  # whitespace, controls, punctuation only
        assert not accepts(body), body
        assert not is_copied(body, query)
    for body in ('\n\t"late"', "Bob:\n", "ü", " ü ,", "5", " 5 ?"):  # ü: \u00fc for ensure_ascii models
        assert accepts(body), body
        assert is_copied(body, query)


@pytest.mark.parametrize("query", ["   ", "", "lone \ud800 surrogate"])
def test_copy_mode_falls_back_to_free_strings(query):
    assert copy_source(query) is None
    assert answer_lark(TOOLS_A, copy_from=query) == answer_lark(TOOLS_A)
    assert "COPIED" in answer_lark(TOOLS_A, copy_from="Zürich")


@pytest.mark.parametrize("tool, param, expected", [
    (("translate_content", ""), ("target", ""), True),  # the tool's name says translation
    (("convert", ""), ("toCurrency", ""), True),  # camelCase is split into words
    (("t", ""), ("targetLanguages", ""), True), (("t", ""), ("ISOCode", ""), True),
    (("t", ""), ("body", "ISO 639-1 code of the reply"), True), (("t", ""), ("loc", "locale, e.g. fr_FR"), True),
    (("t", "Exchange rates between currencies"), ("base", ""), True),
    (("get_weather", "Current weather"), ("location", "City name"), False),
    (("add_supervisor", "Add a supervisor"), ("name", "Supervisor name"), False),  # "iso" inside a word is no code
    (("get_headlines", "Top news"), ("country", "Country to get news for"), False),  # country names are copied
])
def test_takes_codes(tool, param, expected):
    assert takes_codes(Tool(tool[0], tool[1], []), Param(param[0], "string", param[1])) is expected


@pytest.mark.parametrize("param, expected", [
    (("date", ""), True), (("dueDate", ""), True), (("start_time", ""), True), (("showtime", ""), True),
    (("publishat", ""), True), (("newtime", ""), True),  # parts of a name, also in names joined without a separator
    (("at", ""), True), (("On", ""), True), (("ends_on", ""), True), (("checkIn", ""), True), (("endson", ""), True),
    (("to", ""), True), (("from", ""), True),  # recipients and units too, but dates in days_between(from, to)
    (("leave", "Last day, YYYY-MM-DD"), True), (("wake", ""), True), (("x", "Time of day (24h)"), True),
    (("fecha", ""), True), (("Datum", ""), True), (("heure_debut", ""), True),  # a few other languages' words
    (("x", "Día de la cita"), True), (("x", "Uhrzeit der Erinnerung"), True), (("nachricht", "Text"), False),
    (("check_out", ""), True), (("checkout", ""), True), (("created_after", ""), True), (("expires", ""), True),
    (("día", ""), True), (("x", "Di\u0301a de la cita"), True),  # decomposed accents are normalised (NFC)
    (("body", "Message text"), False), (("location", "City name"), False), (("rename_to", "New title"), False),
    (("to_city", "Destination"), False), (("contract_id", "Contract to schedule"), False),  # "id": never dates
    (("id", "Time entry to approve"), False), (("station", "where it stops"), False),  # "at" inside a word
])
def test_takes_dates(param, expected):
    # the tool's name and description are not read: a scheduling tool's message takes no dates
    tool = Tool("schedule_message", "Schedule a message for a date and time", [])
    assert takes_dates(tool, Param(param[0], "string", param[1])) is expected


@pytest.mark.parametrize("name, fmt, expected", [
    ("remind_for", "date-time", True), ("x", "date", True), ("x", "time", True), ("x", "datetime", True),
    ("contract_id", "date", True),  # the format is enough on its own, even for an id
    ("x", "email", False), ("start", "email", True),  # any other format leaves the name / description rules
])
def test_takes_dates_reads_the_json_schema_format(name, fmt, expected):
    (tool,) = parse_tools([{"name": "t", "parameters": {"type": "object", "properties": {
        name: {"type": "string", "format": fmt}}}}])
    assert takes_dates(tool, tool.parameters[0]) is expected


def test_copy_mode_accepts_every_generated_answer(tok):
    """Copy mode must never rule out what the training data teaches: every answer of the offline generator (its
    values copied from the request, or dates, times and codes it normalised) stays possible."""
    offline = pytest.importorskip("needle_hf.data.offline")
    rows = list(offline.generate_rows(300, seed=3))
    copied = 0
    for row in rows:
        calls = parse_calls(row["answers"])
        matcher = _copy_matcher(tok, row["tools"], row["query"])
        assert _accepts(matcher, tok(answers_to_text(calls), add_special_tokens=False)["input_ids"] + [EOS]), row
        copied += any(isinstance(v, str) for c in calls for v in c["arguments"].values())
    assert copied >= 150  # the check covered many string values


def test_copy_mode_per_item_texts_and_generation(model, tok):
    """One text per batch item (a shared tool list); whatever an untrained model writes in copy mode is copied."""
    queries = ["text Anna that dinner is ready", "weather in Oslo and Köln, tags x y"]
    with pytest.raises(ValueError, match="copy_from texts"):
        NeedleGrammarProcessor(tok, [TOOLS_A, TOOLS_A, TOOLS_A], copy_from=queries)
    rows = [_encoder_ids(tok, q, TOOLS_A) for q in queries]
    width = max(map(len, rows))
    ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
    mask = (torch.arange(width)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
    strings = 0
    for seed in range(6):
        proc = NeedleGrammarProcessor(tok, TOOLS_A, copy_from=queries, max_new_tokens=64)
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=64,
                             logits_processor=[_Explore(tok, seed), proc])
        assert proc.errors == []
        for seq, query in zip(out, queries):
            if not _check_output(tok, seq, TOOLS_A):
                continue
            text = tok.decode(seq.tolist()[2:seq.tolist().index(EOS, 1)], skip_special_tokens=False)
            for call in parse_calls(text):
                tool = next(t for t in TOOLS_A if t.snake_name == call["name"])
                free = {p.name for p in tool.parameters if p.type in ("string", "array") and not p.enum}
                for key, value in call["arguments"].items():
                    values = value if isinstance(value, list) else [value]
                    for v in values:
                        if key in free and isinstance(v, str):
                            strings += 1
                            param = next(p for p in tool.parameters if p.name == key)
                            assert is_copied(v, query, dates=takes_dates(tool, param)), (v, query)
    assert strings >= 3


def test_foreign_tools_keep_their_json_schema_format():
    """Tools of the Hub remote-code copy of tools.py reach the grammar with their "format" (copy mode reads it)."""
    from needle_hf.modeling.constrained import _as_tools

    with other_tools_copy() as other:
        foreign = other.parse_tools({"name": "d", "parameters": {"x": {"type": "string", "format": "date"}}})[0]
        (tool,) = _as_tools([foreign])
        assert type(foreign) is not Tool and tool.parameters[0].format == "date"
        assert takes_dates(tool, tool.parameters[0]) and "copy_dated" in answer_lark([foreign], copy_from="on Monday")
