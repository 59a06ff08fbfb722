"""pipeline("tool-calling"): installed vs remote code, batching, constrained validity, retrieval, bad input."""
from __future__ import annotations

import json
import logging
import os
import random
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import pipeline

import needle_hf
from needle_hf.cli import main as cli_main
from needle_hf.inference import load_pipeline
from needle_hf.tools import parse_calls, parse_tools, validate_calls

from .helpers_models import TOOLS, is_copied, save_tiny_model_folder, tiny_needle, tiny_tokenizer
from .test_modeling import BLOCK_NEEDLE_HF

QUERIES = ["What's the weather in Paris?", "set a timer for 10 minutes", "text Anna that I'm late",
           "Wie ist das Wetter in München? 🌧"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model_folder(tmp_path_factory.mktemp("needle") / "tiny-needle")


@pytest.fixture(scope="module")
def pipe(model_dir):
    return pipeline("tool-calling", model=str(model_dir))


def test_model_folder_is_complete(model_dir):
    files = set(os.listdir(model_dir))
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "README.md",
            "configuration_needle.py", "modeling_needle.py", "pipeline_tool_calling.py", "tools.py",
            "constrained.py"} <= files
    config = json.loads((model_dir / "config.json").read_text())
    assert config["custom_pipelines"]["tool-calling"]["impl"] == "pipeline_tool_calling.ToolCallingPipeline"
    assert config["auto_map"]["AutoModelForSeq2SeqLM"] == "modeling_needle.NeedleForConditionalGeneration"


def test_constrained_output_parses_validates_and_restores_names(pipe):
    tools = parse_tools(TOOLS)
    for query in QUERIES:
        out = pipe(query, tools=TOOLS, return_text=True, max_new_tokens=64)
        assert out["errors"] == []
        snake_calls, errors = validate_calls(parse_calls(out["text"]), tools)
        assert errors == []
        names = {c["name"] for c in out["calls"]}
        assert names <= {"get_weather", "setTimer", "send_message"}  # original names restored
        assert all(isinstance(c["arguments"], dict) for c in out["calls"])


def test_batch_equals_one_by_one(pipe):
    batched = pipe(QUERIES, tools=TOOLS, max_new_tokens=48, batch_size=4)
    single = [pipe(q, tools=TOOLS, max_new_tokens=48) for q in QUERIES]
    assert batched == single


def test_per_query_tool_lists(pipe):
    out = pipe(QUERIES[:2], tools=[[TOOLS[0]], [TOOLS[1]]], max_new_tokens=48)
    assert all(c["name"] == "get_weather" for c in out[0]) and all(c["name"] == "setTimer" for c in out[1])


def test_random_tool_lists_always_give_valid_calls(pipe):
    rng = random.Random(0)
    types = ["string", "integer", "number", "boolean"]
    valid = 0
    for trial in range(6):
        tools = []
        for t in range(rng.randint(1, 4)):
            params = {f"p{k}_{rng.choice(['a', 'b'])}": {"type": rng.choice(types), "description": "x",
                                                           "required": rng.random() < 0.5} for k in range(rng.randint(0, 3))}
            tools.append({"name": f"tool{trial}{t}", "description": "does things", "parameters": params})
        out = pipe("do the thing now", tools=tools, return_text=True, max_new_tokens=160)
        if out["errors"]:  # an untrained model can loop until the budget: closing it in time is best effort
            assert out["errors"][0].startswith("unparseable output"), out
            continue
        calls, errors = validate_calls(parse_calls(out["text"]), parse_tools(tools))
        assert errors == [], out
        valid += 1
    assert valid >= 3  # measured: 3 of these 6 random tool lists finish in budget on the untrained tiny model


def test_copy_strings_values_come_from_the_request(pipe, monkeypatch):
    """Copy mode: every free-text string argument is copied from the request; `config.copy_strings` is the default
    and a call-time `copy_strings=` overrides it."""
    queries = QUERIES + ["send Bob 'hello there'", "weather in Oslo, tell Anna", 'text Anna "see you at 5"']
    tools = [TOOLS[0], TOOLS[2]]  # the tools with free-text strings (weather, message)
    copied = pipe(queries, tools=tools, copy_strings=True, max_new_tokens=64)
    free = {"location", "label", "recipient", "body"}
    values = [v for calls in copied for c in calls for k, v in c["arguments"].items() if k in free]
    assert values, copied  # the untrained tiny model does write strings here
    assert any(v in query for query, calls in zip(queries, copied) for c in calls for k, v in c["arguments"].items()
               if k in free and not re.fullmatch("[A-Z]{2,3}", v)), copied  # copies, not only codes
    for query, calls in zip(queries, copied):
        for call in calls:
            for key, value in call["arguments"].items():
                if key in free:
                    assert is_copied(value, query), (query, call)
    plain = pipe(queries, tools=tools, max_new_tokens=64)
    assert plain != copied  # measured: without copy mode the tiny model writes strings that are not in the request
    monkeypatch.setattr(pipe.model.config, "copy_strings", True)
    assert pipe(queries, tools=tools, max_new_tokens=64) == copied
    assert pipe(queries, tools=tools, copy_strings=False, max_new_tokens=64) == plain


def test_installed_and_remote_code_pipelines_agree(model_dir, pipe, tmp_path):
    expected = pipe(QUERIES, tools=TOOLS, max_new_tokens=48)
    script = BLOCK_NEEDLE_HF + textwrap.dedent(f"""
        import json
        from transformers import pipeline
        pipe = pipeline("tool-calling", model={str(model_dir)!r}, trust_remote_code=True)
        assert "needle_hf" not in sys.modules
        print(json.dumps(pipe({QUERIES!r}, tools={TOOLS!r}, max_new_tokens=48)))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_no_tools_returns_empty_without_running_the_model(pipe, monkeypatch):
    monkeypatch.setattr(pipe.model, "generate", lambda *a, **k: pytest.fail("model must not run"))
    assert pipe("anything", tools=[]) == []
    assert pipe(["a", "b"], tools=[]) == [[], []]


def test_unconstrained_runs_and_reports_errors(pipe):
    out = pipe("set a timer", tools=TOOLS, constrained=False, return_text=True, max_new_tokens=16)
    assert set(out) == {"calls", "text", "errors"}
    assert isinstance(out["calls"], list)


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_a_clear_error(pipe, query):
    with pytest.raises(ValueError, match="query 0 is empty"):
        pipe(query, tools=TOOLS)


def test_invalid_tools_are_a_clear_error(pipe):
    with pytest.raises(ValueError, match=r"tools\[0\]"):
        pipe("hi", tools=[{"description": "no name"}])
    with pytest.raises(ValueError, match="not valid JSON"):
        pipe("hi", tools="[{'name': oops")


def test_too_long_input_is_truncated_with_a_warning(model_dir, caplog):
    from transformers.utils import logging as hf_logging

    caplog.set_level(logging.WARNING)
    long_query = "weather " * 1200
    fresh = pipeline("tool-calling", model=str(model_dir))  # transformers warns once per tokenizer instance
    hf_logging.enable_propagation()  # so caplog sees transformers' own records too
    try:
        out = fresh(long_query, tools=TOOLS, max_new_tokens=32)
    finally:
        hf_logging.disable_propagation()
    assert isinstance(out, list)
    assert any("too long for the encoder" in r.message and "cut off" in r.message for r in caplog.records)
    # only the package's warning: not transformers' "will result in indexing errors", which is untrue here
    assert not any("Token indices sequence length" in r.getMessage() for r in caplog.records)


def test_non_ascii_round_trips_through_the_grammar(pipe):
    tool = {"name": "notiz", "description": "Notiz speichern",
            "parameters": {"text": {"type": "string", "description": "Inhalt", "required": True}}}
    out = pipe("Notiz: Grüße aus Köln 🌧", tools=[tool], return_text=True, max_new_tokens=64)
    assert out["errors"] == []
    for call in out["calls"]:
        assert isinstance(call["arguments"]["text"], str)


def test_load_pipeline_rejects_non_needle_folders(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="not a Needle model"):
        load_pipeline(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="not a model folder"):
        load_pipeline(empty)


def test_cli_run_prints_calls(model_dir, tmp_path, capsys):
    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps(TOOLS))
    assert cli_main(["run", "--query", "weather in Paris", "--tools", f"@{tools_file}", "--model",
                     str(model_dir), "--max-new-tokens", "48"]) == 0
    calls = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert isinstance(calls, list)
    # copy mode from the command line gives the pipeline's copy-mode calls (tools with free-text strings)
    query, string_tools = "send Bob 'hello there'", [TOOLS[0], TOOLS[2]]
    tools_file.write_text(json.dumps(string_tools))
    assert cli_main(["run", "--query", query, "--tools", f"@{tools_file}", "--model", str(model_dir),
                     "--max-new-tokens", "48", "--copy-strings"]) == 0
    copied = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    pipe = load_pipeline(str(model_dir))
    assert copied == pipe(query, tools=string_tools, copy_strings=True, max_new_tokens=48)
    assert copied != pipe(query, tools=string_tools, copy_strings=False, max_new_tokens=48)
    # --top-k-tools K decodes with the K tools the retrieval head ranks best, like the pipeline option
    tools_file.write_text(json.dumps(TOOLS))
    assert cli_main(["run", "--query", "weather in Paris", "--tools", f"@{tools_file}", "--model", str(model_dir),
                     "--max-new-tokens", "48", "--top-k-tools", "1"]) == 0
    ranked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ranked == pipe("weather in Paris", tools=TOOLS, top_k_tools=1, max_new_tokens=48)


def test_cli_run_stream_goes_to_stderr(model_dir, capsys):
    """`--stream` shows the decoded text on stderr, so stdout stays one line of JSON (pipe it into jq)."""
    assert cli_main(["run", "--query", "weather in Paris", "--tools", json.dumps(TOOLS), "--model", str(model_dir),
                     "--max-new-tokens", "24", "--stream"]) == 0
    captured = capsys.readouterr()
    assert isinstance(json.loads(captured.out), list) and len(captured.out.strip().splitlines()) == 1
    assert captured.err.strip()  # the streamed text


def test_bad_call_arguments_are_clear_errors(pipe, model_dir, capsys):
    with pytest.raises(ValueError, match="top_k_tools must be a whole number of at least 1"):
        pipe("weather in Paris", tools=TOOLS, top_k_tools=0)
    with pytest.raises(ValueError, match=r"copy_strings=True\) is part of constrained decoding"):
        pipe("weather in Paris", tools=TOOLS, constrained=False, copy_strings=True)
    with pytest.raises(ValueError, match="takes a request string or a list of them, got NoneType"):
        pipe(None, tools=TOOLS)
    with pytest.raises(ValueError, match="query 1 is a int"):
        pipe(["weather in Paris", 5], tools=TOOLS)
    with pytest.raises(FileNotFoundError, match="no such model folder: ./no/such/model"):
        load_pipeline("./no/such/model")  # not a Hub id either: fails at once, no network retries
    assert cli_main(["run", "--query", "hi", "--tools", json.dumps(TOOLS), "--model", str(model_dir),
                     "--no-constrained", "--copy-strings"]) == 2
    assert "copy mode (--copy-strings / copy_strings=True) is part of constrained decoding" in capsys.readouterr().err


def test_cli_run_bad_tools_json(model_dir, tmp_path, capsys):
    assert cli_main(["run", "--query", "hi", "--tools", "[oops", "--model", str(model_dir)]) == 2
    assert "tools are not valid JSON (line 1, column 2" in capsys.readouterr().err
    assert cli_main(["run", "--query", "hi", "--tools", "@/nonexistent/tools.json", "--model", str(model_dir)]) == 2
    assert "cannot read tools file /nonexistent/tools.json" in capsys.readouterr().err
    assert cli_main(["run", "--query", "hi", "--tools", "@", "--model", str(model_dir)]) == 2
    assert "--tools @ needs a file name after the @" in capsys.readouterr().err
    assert cli_main(["run", "--query", " ", "--tools", json.dumps(TOOLS), "--model", "./no/such/model"]) == 2
    assert "--query is empty" in capsys.readouterr().err  # said before the model is even looked for
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps([{"name": "w", "paramters": {"x": {"type": "string"}}}]))
    assert cli_main(["run", "--query", "hi", "--tools", f"@{typo}", "--model", str(model_dir)]) == 2
    assert f"{typo}: tools[0]: unknown key 'paramters' (did you mean 'parameters'?)" in capsys.readouterr().err


def test_retrieval_ranks_the_planted_tool_first():
    """Train the contrastive head on a toy task, then the matching tool must rank first among distractors."""
    from needle_hf import retrieve_tools

    tok = tiny_tokenizer()
    model = tiny_needle(tok).train()
    tools = parse_tools(TOOLS)
    from needle_hf.tools import tool_to_text
    pairs = [("What's the weather in Paris?", 0), ("weather in Tokyo please", 0), ("set a timer for 10 minutes", 1),
             ("start a 25 minute timer", 1), ("text Anna that I'm late", 2), ("send Bob a message", 2)]
    def batch(texts):
        ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        width = max(map(len, ids))
        return torch.tensor([x + [0] * (width - len(x)) for x in ids])
    queries = batch([q for q, _ in pairs])
    tool_ids = batch([tool_to_text(tools[i]) for _, i in pairs])
    target = torch.tensor([i for _, i in pairs])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(60):
        q, t = model.encode_contrastive(queries), model.encode_contrastive(batch([tool_to_text(x) for x in tools]))
        loss = torch.nn.functional.cross_entropy(q @ t.T / 0.1, target)
        opt.zero_grad(); loss.backward(); opt.step()
    model.eval()
    ranked = retrieve_tools(model, tok, "how's the weather in Lyon", TOOLS)
    assert ranked[0][0].name == "get_weather"
    ranked = retrieve_tools(model, tok, "set a timer for 3 minutes", TOOLS, k=2)
    assert ranked[0][0].name == "setTimer" and len(ranked) == 2
