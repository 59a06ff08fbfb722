"""Tests for needle_hf.evaluation.metrics and the `evaluate` module folder (hand-made cases, offline)."""

import json
import os
import subprocess
import sys

import pytest

from needle_hf.evaluation.metrics import (
    CALL_TYPES,
    call_type,
    explain_failure,
    flatten_metrics,
    make_compute_metrics,
    metric_path,
    parse_prediction,
    score_tool_calls,
    values_equal,
)


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def ans(*calls):
    return json.dumps(list(calls))


def tool(name, *params):
    return {"name": name, "description": "", "parameters": {p: {"type": "string", "description": ""} for p in params}}


def tools_text(*tools):
    return json.dumps(list(tools))


TIMER = call("set_timer", minutes=5)
ALARM = call("set_alarm", time="7:00")
MSG = call("send_message", to="Bob", text="hi")


def score(preds, refs, tools=None):
    return score_tool_calls(preds, refs, tools=tools, breakdown=False)


# ------------------------------------------------------------------------------------------- headline cases
def test_perfect_prediction_scores_one():
    r = score([ans(TIMER)], [ans(TIMER)])
    for k in ("exact_match", "json_parse_rate", "name_f1", "call_f1", "argument_accuracy", "value_accuracy"):
        assert r[k] == 1.0, k
    assert r["hallucinated_param_rate"] == 0.0 and r["missing_param_rate"] == 0.0
    assert r["n"] == 1 and r["n_pred_calls"] == r["n_ref_calls"] == 1


def test_duplicate_parallel_calls_count_as_a_multiset():
    # reference makes the same call twice, the model once: recall 0.5 (v1's set semantics said 1.0)
    r = score([ans(TIMER)], [ans(TIMER, TIMER)])
    assert r["call_recall"] == 0.5 and r["call_precision"] == 1.0
    assert r["call_f1"] == pytest.approx(0.6667)
    assert r["name_recall"] == 0.5 and r["exact_match"] == 0.0
    # and the other way round: one extra duplicate is a false positive
    r = score([ans(TIMER, TIMER)], [ans(TIMER)])
    assert r["call_precision"] == 0.5 and r["call_recall"] == 1.0 and r["exact_match"] == 0.0
    # two vs two is exact
    assert score([ans(TIMER, TIMER)], [ans(TIMER, TIMER)])["exact_match"] == 1.0


def test_order_insensitive():
    r = score([ans(MSG, TIMER, ALARM)], [ans(ALARM, TIMER, MSG)])
    assert r["exact_match"] == 1.0 and r["call_f1"] == 1.0
    # argument key order does not matter either
    pred = '[{"name":"send_message","arguments":{"text":"hi","to":"Bob"}}]'
    assert score([pred], [ans(MSG)])["exact_match"] == 1.0


def test_each_prediction_matched_to_its_own_reference_call():
    # v1 compared every predicted set_timer with the FIRST reference set_timer
    ref = ans(call("set_timer", minutes=5), call("set_timer", minutes=10))
    pred = ans(call("set_timer", minutes=10), call("set_timer", minutes=6))
    r = score([pred], [ref])
    assert r["call_precision"] == 0.5 and r["call_recall"] == 0.5
    assert r["name_f1"] == 1.0
    assert r["argument_accuracy"] == 0.5  # 10<->10 equal, 6<->5 not
    assert r["value_accuracy"] == 0.5
    assert r["n_name_matched"] == 2 and r["n_matched_keys"] == 2


def test_greedy_best_match_by_argument_agreement():
    ref = ans(call("f", a=1, b=2, c=3), call("f", a=9, b=9, c=9))
    pred = ans(call("f", a=9, b=9, c=0), call("f", a=1, b=2, c=0))  # each agrees 2/3 with a different ref call
    r = score([pred], [ref])
    assert r["value_accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert r["argument_accuracy"] == 0.0 and r["call_f1"] == 0.0


def test_no_call_precision_and_recall():
    preds = ["[]", ans(TIMER), "[]", ans(TIMER), "  [] \n"]
    refs = ["[]", "[]", ans(TIMER), ans(TIMER), "[]"]
    r = score(preds, refs)
    assert r["n_pred_no_call"] == 3 and r["n_ref_no_call"] == 3
    assert r["no_call_precision"] == pytest.approx(0.6667) and r["no_call_recall"] == pytest.approx(0.6667)
    assert r["exact_match"] == 0.6  # [] vs [] (x2) and the matching call
    # an unparseable output is never "no call", even when none was expected
    r = score(["", "oops"], ["[]", "[]"])
    assert r["n_pred_no_call"] == 0 and r["no_call_recall"] == 0.0 and r["exact_match"] == 0.0


# ------------------------------------------------------------------------------------------- values and types
def test_value_equality_rules():
    assert values_equal(5, 5.0)
    assert not values_equal("5", 5)  # a string where the schema wants an integer is a value error
    assert not values_equal(True, 1) and not values_equal(False, 0)
    assert values_equal("  Paris ", "Paris")
    assert not values_equal("paris", "Paris")  # case-sensitive
    assert values_equal([1, 2.0], [1.0, 2]) and not values_equal([1, 2], [2, 1])
    assert values_equal({"a": [" x "]}, {"a": ["x"]})
    assert values_equal(None, None) and not values_equal(None, "")


def test_wrong_type_is_a_value_error():
    r = score([ans(call("set_timer", minutes="5"))], [ans(TIMER)])
    assert r["name_f1"] == 1.0
    assert r["call_f1"] == 0.0 and r["exact_match"] == 0.0
    assert r["argument_accuracy"] == 0.0 and r["value_accuracy"] == 0.0
    # int vs float of the same value is fine
    assert score([ans(call("set_timer", minutes=5.0))], [ans(TIMER)])["exact_match"] == 1.0


def test_hallucinated_and_missing_parameters_against_reference():
    pred = ans(call("send_message", to="Bob", urgent=True))  # missing "text", extra "urgent"
    r = score([pred], [ans(MSG)])
    assert r["hallucinated_param_rate"] == 0.5  # 1 of 2 predicted keys
    assert r["missing_param_rate"] == 0.5  # 1 of 2 reference keys
    assert r["value_accuracy"] == 1.0 and r["argument_accuracy"] == 0.0


def test_hallucinated_parameters_against_schema_in_any_format():
    # "cc" is an optional parameter of the schema: not hallucinated, although the reference does not use it
    pred = ans(call("send_message", to="Bob", text="hi", cc="Al", foo=1))
    flat = [tool("send_message", "to", "text", "cc")]
    json_schema = [{"name": "send_message", "description": "",
                    "parameters": {"type": "object", "properties": {"to": {}, "text": {}, "cc": {}}}}]
    openai = [{"type": "function", "function": {"name": "sendMessage",  # camelCase original name still found
                                                "parameters": {"type": "object",
                                                               "properties": {"to": {}, "text": {}, "cc": {}}}}}]
    for tools in (flat, json_schema, openai):
        r = score([pred], [ans(MSG)], tools=[json.dumps(tools)])
        assert r["hallucinated_param_rate"] == 0.25, tools
    # a call to a tool that was not offered does not enter the hallucinated-parameter rate
    r = score([ans(call("nope", x=1))], [ans(MSG)], tools=[json.dumps(flat)])
    assert r["hallucinated_param_rate"] == 0.0 and r["name_f1"] == 0.0


# ------------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text", [
    "", "   ", "not json", "[", '"set_timer"', "42", "[1, 2]", '[{"name": "set_timer"}]',
    '[{"name": "set_timer", "arguments": "minutes=5"}]', '[{"name": "", "arguments": {}}]',
    '[{"name": "t", "arguments": {}, "id": 1}]', '{"calls": []}',
])
def test_unparseable_outputs(text):
    assert parse_prediction(text) is None
    r = score([text], [ans(TIMER)])
    assert r["json_parse_rate"] == 0.0 and r["n_unparseable"] == 1
    assert r["n_pred_calls"] == 0 and r["call_recall"] == 0.0 and r["exact_match"] == 0.0
    assert explain_failure(text, ans(TIMER)).startswith("unparseable output")


def test_parsing_accepts_whitespace_and_a_bare_call_object():
    assert parse_prediction('  [{"name":"t","arguments":{}}]\n') == [call("t")]
    assert parse_prediction('{"name":"t","arguments":{"a":1}}') == [call("t", a=1)]
    assert score(['{"name":"set_timer","arguments":{"minutes":5}}'], [ans(TIMER)])["exact_match"] == 1.0
    assert parse_prediction("[]") == []


def test_parse_rate_mixes_parsed_and_unparseable():
    r = score([ans(TIMER), "garbage", "[]", ""], [ans(TIMER)] * 4)
    assert r["json_parse_rate"] == 0.5 and r["n_unparseable"] == 2 and r["n"] == 4


def test_invalid_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"references\[1\]"):
        score([ans(TIMER), ans(TIMER)], [ans(TIMER), "not json"])
    with pytest.raises(ValueError, match="predictions but"):
        score([ans(TIMER)], [])
    with pytest.raises(ValueError, match=r"tools\[0\]"):
        score([ans(TIMER)], [ans(TIMER)], tools=["{bad"])
    with pytest.raises(ValueError, match="tools entries"):
        score([ans(TIMER)], [ans(TIMER)], tools=[])


# ------------------------------------------------------------------------------------------- output shape
def _walk(d):
    for v in d.values():
        if isinstance(v, dict):
            yield from _walk(v)
        else:
            yield v


def test_plain_python_numbers_rounded_to_4dp():
    r = score_tool_calls([ans(TIMER), "[]", ans(ALARM)], [ans(TIMER), ans(TIMER), ans(TIMER)],
                         tools=[tools_text(tool("set_timer", "minutes"))] * 3)
    assert r["exact_match"] == 0.3333
    for v in _walk(r):
        assert type(v) in (float, int), (v, type(v))
    for k, v in r.items():
        if k == "n" or k.startswith("n_"):
            assert type(v) is int, k
        elif not isinstance(v, dict):
            assert type(v) is float and 0.0 <= v <= 1.0 and round(v, 4) == v, k
    json.dumps(r)  # serialisable


# ------------------------------------------------------------------------------------------- breakdowns
def test_call_type_definitions():
    one = tools_text(tool("set_timer", "minutes"))
    two = tools_text(tool("set_timer", "minutes"), tool("set_alarm", "time"))
    assert call_type("[]", two) == "no_call"
    assert call_type(ans(TIMER, ALARM), one) == "parallel"
    assert call_type(ans(TIMER), two) == "multiple"
    assert call_type(ans(TIMER), one) == "single"
    assert call_type(ans(TIMER)) == "single"  # tools unknown
    assert CALL_TYPES == ("no_call", "single", "multiple", "parallel")


def test_undefined_rates_are_known_and_shown_as_a_dash():
    """A rate with a zero denominator is 0.0 in the result (documented) and '-' in the eval tables."""
    from needle_hf.evaluation.metrics import DENOMINATORS, is_defined
    from needle_hf.evaluation.runner import metrics_table

    one = tools_text(tool("set_timer", "minutes"))
    r = score_tool_calls(["[]", ans(TIMER)], ["[]", ans(TIMER)], tools=[one, one])
    no_call, single = r["by_call_type"]["no_call"], r["by_call_type"]["single"]
    assert no_call["name_f1"] == 0.0 and not is_defined(no_call, "name_f1")  # no call predicted or expected
    assert not is_defined(no_call, "value_accuracy") and not is_defined(no_call, "hallucinated_param_rate")
    assert is_defined(no_call, "no_call_recall") and no_call["no_call_recall"] == 1.0
    assert not is_defined(single, "no_call_precision") and not is_defined(single, "no_call_recall")
    assert is_defined(single, "missing_param_rate") and single["n_matched_ref_keys"] == 1
    assert is_defined(r, "no_call_precision") and is_defined(r, "call_f1")
    assert set(DENOMINATORS) <= set(r)  # every rate of the result has its counts
    assert all(c in r for counts in DENOMINATORS.values() for c in counts)
    assert is_defined({"exact_match": 0.5}, "exact_match")  # results without counts: shown as they are
    table = metrics_table({"metrics": r}, keys=("exact_match", "name_f1", "no_call_recall"))
    assert "| all | 2 | 1.000 | 1.000 | 1.000 |" in table
    assert "| call type: no_call | 1 | 1.000 | - | 1.000 |" in table
    assert "| call type: single | 1 | 1.000 | 1.000 | - |" in table


def test_breakdown_by_call_type_and_number_of_tools():
    many = tools_text(*[tool(f"tool_{i}", "x") for i in range(11)], tool("set_timer", "minutes"))  # 12 tools
    one = tools_text(tool("set_timer", "minutes"))
    two = tools_text(tool("set_timer", "minutes"), tool("set_alarm", "time"))
    refs = ["[]", ans(TIMER), ans(TIMER), ans(TIMER, ALARM), ans(TIMER)]
    preds = ["[]", ans(TIMER), ans(ALARM), ans(ALARM, TIMER), "nope"]
    tools = [two, one, two, two, many]
    r = score_tool_calls(preds, refs, tools=tools)
    by_type = r["by_call_type"]
    assert list(by_type) == ["no_call", "single", "multiple", "parallel"]
    assert {t: v["n"] for t, v in by_type.items()} == {"no_call": 1, "single": 1, "multiple": 2, "parallel": 1}
    assert by_type["no_call"]["exact_match"] == 1.0 and by_type["no_call"]["no_call_recall"] == 1.0
    assert by_type["single"]["exact_match"] == 1.0
    assert by_type["multiple"]["exact_match"] == 0.0 and by_type["multiple"]["json_parse_rate"] == 0.5
    assert by_type["parallel"]["exact_match"] == 1.0 and by_type["parallel"]["call_f1"] == 1.0
    by_tools = r["by_num_tools"]
    assert list(by_tools) == ["1", "2", "10+"]
    assert {b: v["n"] for b, v in by_tools.items()} == {"1": 1, "2": 3, "10+": 1}
    assert by_tools["2"]["exact_match"] == pytest.approx(0.6667)
    assert by_tools["10+"]["json_parse_rate"] == 0.0
    assert sum(v["n"] for v in by_type.values()) == r["n"] == 5
    # without tools: no #tools breakdown, and one-call examples are all "single"
    r = score_tool_calls(preds, refs)
    assert "by_num_tools" not in r and r["by_call_type"]["single"]["n"] == 3
    flat = flatten_metrics(r, keys=["n", "call_f1"])
    assert flat["call_type/single/n"] == 3 and "call_type/single/exact_match" not in flat
    assert flat["exact_match"] == r["exact_match"]


# ------------------------------------------------------------------------------------------- explain_failure
@pytest.mark.parametrize("pred, ref, expected", [
    (ans(TIMER), ans(TIMER), ""),
    ("", ans(TIMER), "unparseable output: empty output"),
    (ans(call("set_alarm", minutes=5)), ans(TIMER), "wrong tool: expected set_timer, got set_alarm"),
    (ans(TIMER), ans(TIMER, MSG), "missing call: send_message"),
    (ans(TIMER, ALARM), ans(TIMER), "extra call: set_alarm"),
    (ans(call("set_timer", minutes=10)), ans(TIMER), "wrong value for key 'minutes': expected 5, got 10"),
    (ans(call("set_timer", minutes="5")), ans(TIMER), "wrong value for key 'minutes': expected 5, got \"5\""),
    (ans(call("set_timer")), ans(TIMER), "missing argument 'minutes'"),
    (ans(call("set_timer", minutes=5, x=1)), ans(TIMER), "unexpected argument 'x'"),
    (ans(TIMER), "[]", "predicted a call but none expected: set_timer"),
    ("[]", ans(TIMER), "no call predicted: expected set_timer"),
    (ans(TIMER, call("send_message", to="Al", text="hi")), ans(MSG, TIMER),
     "send_message: wrong value for key 'to': expected \"Bob\", got \"Al\""),
])
def test_explain_failure(pred, ref, expected):
    assert explain_failure(pred, ref) == expected


def test_explain_failure_joins_several_reasons():
    msg = explain_failure(ans(call("set_alarm", minutes=5), call("set_timer", minutes=7)),
                          ans(call("set_timer", minutes=5), MSG))
    assert msg == "wrong tool: expected send_message, got set_alarm; set_timer: wrong value for key 'minutes': " \
                  "expected 5, got 7"


# ------------------------------------------------------------------------------------------- evaluate module
PREDS = ["[]", ans(TIMER), ans(call("set_timer", minutes="5")), ans(TIMER, TIMER), "oops", ans(ALARM, MSG)]
REFS = ["[]", ans(TIMER), ans(TIMER), ans(TIMER), ans(TIMER, TIMER), ans(MSG, ALARM)]
TOOLS = [tools_text(tool("set_timer", "minutes"), tool("set_alarm", "time"))] * 3 + [
    tools_text(tool("set_timer", "minutes"))] * 2 + [tools_text(tool("send_message", "to", "text"),
                                                                tool("set_alarm", "time"))]

_EVALUATE_SCRIPT = r"""
import json, sys
import evaluate
from needle_hf.evaluation.metrics import metric_path
preds, refs, tools = json.load(sys.stdin)
out = {}
out["compute"] = evaluate.load(metric_path()).compute(predictions=preds, references=refs)
out["compute_tools"] = evaluate.load(metric_path()).compute(predictions=preds, references=refs, tools=tools)
m = evaluate.load(metric_path(), config_name="with_tools")
for i in range(0, len(preds), 4):
    m.add_batch(predictions=preds[i:i + 4], references=refs[i:i + 4], tools=tools[i:i + 4])
out["add_batch_with_tools"] = m.compute()
print(json.dumps(out))
"""


def test_evaluate_load_offline_matches_function(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_EVALUATE_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf_home"), HF_MODULES_CACHE=str(tmp_path / "modules"))
    proc = subprocess.run([sys.executable, "-c", _EVALUATE_SCRIPT], input=json.dumps([PREDS, REFS, TOOLS]),
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["compute"] == score_tool_calls(PREDS, REFS)
    expected = score_tool_calls(PREDS, REFS, tools=TOOLS)
    assert out["compute_tools"] == expected
    assert out["add_batch_with_tools"] == expected
    assert expected["by_call_type"]["parallel"]["n"] == 2 and expected["call_recall"] == pytest.approx(4 / 7, abs=1e-4)


def test_metric_folder_layout():
    path = metric_path()
    assert os.path.isabs(path)
    assert os.path.isfile(os.path.join(path, "tool_call_accuracy.py"))
    assert os.path.isfile(os.path.join(path, "README.md"))


# ------------------------------------------------------------------------------------------- Trainer glue
SPECIALS = ["<pad>", "</s>", "<s>", "<unk>", "<tool_call>", "<tools>"]


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(PREDS + REFS + TOOLS, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", bos_token="<s>",
                                   unk_token="<unk>", additional_special_tokens=["<tool_call>", "<tools>"])
    assert [fast.convert_tokens_to_ids(t) for t in SPECIALS] == list(range(6))
    return fast


def _pad(rows, value):
    width = max(len(r) for r in rows)
    return [r + [value] * (width - len(r)) for r in rows]


def test_make_compute_metrics_decodes_generated_ids(tiny_tokenizer):
    import numpy as np
    from transformers.trainer_utils import EvalPrediction

    tok = tiny_tokenizer
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    # labels: [<tool_call>] + answer + [</s>], padded with -100; generated: [</s>(start), <tool_call>, ..., </s>],
    # padded with <pad> inside a batch and -100 across batches
    labels = np.array(_pad([[4] + enc(r) + [1] for r in REFS], -100))
    gen = _pad([[1, 4] + enc(p) + [1] for p in PREDS], 0)
    gen = np.array(_pad([row + [-100] * 3 for row in gen], -100))
    compute = make_compute_metrics(tok)
    got = compute(EvalPrediction(predictions=gen, label_ids=labels))
    expected = score_tool_calls(PREDS, REFS)
    assert got == flatten_metrics(expected, keys=("n", "exact_match", "json_parse_rate", "name_f1", "call_f1"))
    assert got["exact_match"] == expected["exact_match"] and got["call_type/parallel/n"] == 2
    assert all(type(v) in (float, int) for v in got.values())
    # tuple predictions, explicit references + tools, all breakdown metrics
    compute = make_compute_metrics(tok, tools=TOOLS, references=REFS, breakdown_keys=None)
    got = compute(EvalPrediction(predictions=(gen,), label_ids=None))
    assert got == flatten_metrics(score_tool_calls(PREDS, REFS, tools=TOOLS))
    assert "num_tools/2/value_accuracy" in got
    # no breakdown at all
    got = make_compute_metrics(tok, breakdown_keys=())(EvalPrediction(predictions=gen, label_ids=labels))
    assert not any("/" in k for k in got)


def test_make_compute_metrics_rejects_logits(tiny_tokenizer):
    import numpy as np
    from transformers.trainer_utils import EvalPrediction

    logits = np.zeros((2, 3, 7), dtype=np.float32)
    with pytest.raises(ValueError, match="predict_with_generate"):
        make_compute_metrics(tiny_tokenizer)(EvalPrediction(predictions=logits, label_ids=np.zeros((2, 3), int)))
