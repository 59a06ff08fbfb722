"""The no-call decision threshold: margins, the fit, the pipeline applying it, `needle-hf calibrate`."""
from __future__ import annotations

import json

import pytest
import torch

from needle_hf.cli import main as cli_main
from needle_hf.evaluation.calibration import calibrate_model, decision_margins, fit_no_call_bias
from needle_hf.modeling.pipeline_tool_calling import ToolCallingPipeline
from needle_hf.saving import save_model_folder

from needle_hf.tokenization import train_tokenizer
from needle_hf.tools import answers_to_text, parse_tools, tools_to_text

from .helpers_models import CORPUS_ANSWERS, CORPUS_QUERIES, TOOLS, tiny_needle

ROWS = [{"query": q, "tools": json.dumps(TOOLS), "answers": a}
        for q, a in [("What's the weather in Paris?", '[{"name":"get_weather","arguments":{"location":"Paris"}}]'),
                     ("set a timer for 10 minutes", '[{"name":"set_timer","arguments":{"minutes":10}}]'),
                     ("tell me a joke", "[]"), ("who wrote Hamlet?", "[]")]]


def tiny_tokenizer():
    """Like helpers_models.tiny_tokenizer, with enough `[]` answers that it is one token, as in real tokenizers."""
    texts = CORPUS_QUERIES + [tools_to_text(parse_tools(TOOLS))] + [answers_to_text(a) for a in CORPUS_ANSWERS]
    tok = train_tokenizer(texts * 3 + ["[]"] * 20, vocab_size=400)
    assert len(tok("[]", add_special_tokens=False)["input_ids"]) == 1
    return tok


def test_fit_picks_the_cut_that_makes_most_decisions_right():
    # no-call rows have the higher margins, but all margins sit below 0: bias 0 never answers []
    margins = [-3.0, -2.5, -1.0, -0.8, -0.2]
    no_call = [False, False, True, True, True]
    cal = fit_no_call_bias(margins, no_call)
    assert cal.accuracy_before == pytest.approx(0.4) and cal.accuracy_after == 1.0
    assert -1.0 + cal.bias > 0 > -2.5 + cal.bias and cal.bias == pytest.approx(1.75)
    assert cal.no_call_recall_before == 0.0 and cal.no_call_recall_after == 1.0 and cal.call_recall_after == 1.0
    # already right: the bias stays 0
    assert fit_no_call_bias([-1.0, 2.0], [False, True]).bias == 0.0
    with pytest.raises(ValueError, match="both"):
        fit_no_call_bias([1.0, 2.0], [True, True])


def test_margins_need_a_single_no_call_token():
    from .helpers_models import tiny_tokenizer as few_no_call_answers

    tok = few_no_call_answers()  # too few `[]` in its corpus to merge them
    with pytest.raises(ValueError, match="several tokens"):
        decision_margins(tiny_needle(tok), tok, ROWS)


def test_margins_match_a_manual_forward():
    tok = tiny_tokenizer()
    model = tiny_needle(tok).eval()
    margins = decision_margins(model, tok, ROWS, batch_size=3)  # two batches, padded
    pipe = ToolCallingPipeline(model=model, tokenizer=tok)
    no_call = tok("[]", add_special_tokens=False)["input_ids"][0]
    for row, margin in zip(ROWS, margins):
        ids = pipe.preprocess([{"query": row["query"], "tools": row["tools"]}])["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=ids, decoder_input_ids=torch.tensor([[1, 4]])).logits[0, -1]
        other = torch.cat([logits[:no_call], logits[no_call + 1:]]).max()
        assert margin == pytest.approx((logits[no_call] - other).item(), abs=1e-4)
    with pytest.raises(ValueError, match="offers no tools"):
        decision_margins(model, tok, [{**ROWS[0], "tools": "[]"}])


def test_pipeline_applies_the_bias_and_calibrate_writes_it(tmp_path, capsys):
    tok = tiny_tokenizer()
    model = tiny_needle(tok).eval()
    folder = tmp_path / "model"
    save_model_folder(model, tok, folder)
    for bias, check in ((100.0, lambda calls: calls == []), (-100.0, lambda calls: calls != [])):
        model.config.no_call_bias = bias
        pipe = ToolCallingPipeline(model=model, tokenizer=tok)
        for row in ROWS:
            assert check(pipe(row["query"], tools=TOOLS, max_new_tokens=40)), (bias, row["query"])
    # the fit is written into config.json and the loaded model carries it; --dry-run leaves it alone
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS * 3))
    assert cli_main(["calibrate", "--model", str(folder), "--data", str(data), "--dry-run"]) == 0
    assert json.loads((folder / "config.json").read_text()).get("no_call_bias", 0.0) == 0.0
    assert cli_main(["calibrate", "--model", str(folder), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    written = json.loads((folder / "config.json").read_text())
    assert f"no_call_bias {written['no_call_bias']:+.3f} on 12 rows (6 without a call)" in out
    assert "custom_pipelines" in written and "auto_map" in written  # the rest of the file is kept
    again = calibrate_model(folder, ROWS * 3, write=False)
    assert again.bias == written["no_call_bias"] and again.accuracy_after >= again.accuracy_before
    with pytest.raises(SystemExit):
        cli_main(["calibrate", "--data", str(data)])
    assert cli_main(["calibrate", "--model", str(tmp_path / "nope"), "--data", str(data)]) == 2
    assert "not a model folder with a config.json" in capsys.readouterr().err
