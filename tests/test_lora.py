"""LoRA adapters per tool set: finetune raises call F1, per-request routing, merge, mismatched adapters, CLI.

A tiny base (tests/helpers_lora.py) is trained for a few seconds on the "base" tool set (weather, timer, notes);
adapters are trained on two other, disjoint tool sets ("home", "media") it has never been asked to call.
"""
from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from needle_hf.cli import main as cli_main
from needle_hf.data.io import write_jsonl
from needle_hf.inference import load_pipeline
from needle_hf.lora import AdapterError, AdapterRouter, finetune_lora, load_adapter, load_base
from needle_hf.tools import tools_fingerprint

from .helpers_lora import BASE_TOOLS, HOME, LIGHTS, MEDIA, THERMOSTAT, make_rows, trained_base_dir
from .helpers_lora import one_torch_thread  # noqa: F401  (autouse fixture)

FAST = dict(rank=16, alpha=32, epochs=15, learning_rate=1e-2, batch_size=8, val_per_tool=4, test_per_tool=10,
            max_new_tokens=24, progress=False)


@pytest.fixture(scope="module")
def base_dir():
    return trained_base_dir()


@pytest.fixture(scope="module")
def adapters(base_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    out = {}
    for name, tools, seed in (("home", HOME, 5), ("media", MEDIA, 6)):
        torch.manual_seed(0)
        out[name] = finetune_lora(make_rows(tools, 60, seed=seed), str(base_dir), root / name, seed=42, **FAST)
    return out


def test_finetune_raises_call_f1_and_writes_a_standard_adapter_folder(adapters):
    for name, tools in (("home", HOME), ("media", MEDIA)):
        result = adapters[name]
        base_f1, tuned_f1 = result.base_metrics["call_f1"], result.finetuned_metrics["call_f1"]
        assert tuned_f1 >= base_f1 + 0.3, (name, result.table())
        assert tuned_f1 >= 0.7, (name, result.table())
        assert result.splits == {"train": 92, "validation": 8, "test": 20}
        # best adapter = first epoch with the best validation call F1
        f1s = [h["val_call_f1"] for h in result.history]
        assert len(f1s) == FAST["epochs"] and result.best_epoch == f1s.index(max(f1s)) + 1
        assert result.best_val_call_f1 == max(f1s)

        folder = result.adapter_dir
        names = {p.name for p in folder.iterdir()}
        assert {"adapter_config.json", "adapter_model.safetensors", "tools.json", "README.md",
                "finetune_report.json", "finetune_report.md"} <= names
        cfg = json.loads((folder / "adapter_config.json").read_text())
        assert cfg["task_type"] == "SEQ_2_SEQ_LM" and cfg["peft_type"] == "LORA"
        assert cfg["r"] == 16 and cfg["lora_alpha"] == 32
        assert set(cfg["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
        assert tools_fingerprint(json.loads((folder / "tools.json").read_text())) == tools_fingerprint(tools)
        card = (folder / "README.md").read_text()
        assert "library_name: peft" in card and "| call_f1 |" in card and tools[0]["name"] in card
        report = json.loads((folder / "finetune_report.json").read_text())
        assert report["base"]["metrics"]["call_f1"] == base_f1
        assert report["finetuned"]["metrics"]["call_f1"] == tuned_f1


def test_lora_touches_only_the_attention_projections(adapters, base_dir):
    from safetensors import safe_open

    with safe_open(str(adapters["home"].adapter_dir / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and all(".lora_A." in k or ".lora_B." in k for k in keys)
    modules = {k.split(".lora_")[0].rsplit(".", 2)[-2] + "." + k.split(".lora_")[0].rsplit(".", 1)[-1] for k in keys}
    assert {m.split(".")[0] for m in modules} == {"self_attn", "cross_attn"}
    assert {m.split(".")[1] for m in modules} == {"q_proj", "k_proj", "v_proj", "o_proj"}


def test_pipeline_with_adapter_folder(adapters, base_dir):
    pipe = load_pipeline(str(base_dir), adapter=str(adapters["home"].adapter_dir))
    assert type(pipe.model).__name__ == "PeftModelForSeq2SeqLM"
    rows = make_rows([THERMOSTAT], 4, seed=21)
    for row in rows:
        assert pipe(row["query"], tools=HOME, max_new_tokens=24) == json.loads(row["answers"])


def test_router_picks_the_adapter_per_request_without_reloading(adapters, base_dir, caplog):
    router = AdapterRouter(str(base_dir))
    router.add("home", adapters["home"].adapter_dir).add("media", adapters["media"].adapter_dir)
    assert router.names == ["home", "media"]
    assert router.select(HOME) == "home" and router.select(list(reversed(MEDIA))) == "media"
    assert router.select([LIGHTS]) == "home"  # a subset of one adapter's tool set
    lights_openai = {"type": "function", "function": {  # the same tool in another schema format
        "name": "turn_on_lights", "description": LIGHTS["description"],
        "parameters": {"type": "object", "required": ["room"], "properties": {
            "room": {"type": "string", "description": "Room", "enum": LIGHTS["parameters"]["room"]["enum"]}}}}}
    assert router.select([THERMOSTAT, lights_openai]) == "home"
    assert router.select(BASE_TOOLS) is None and router.select(HOME + MEDIA) is None

    home_rows, media_rows = make_rows(HOME, 6, seed=31), make_rows(MEDIA, 6, seed=32)
    queries = [r["query"] for r in home_rows + media_rows]
    tools = [HOME] * len(home_rows) + [MEDIA] * len(media_rows)
    expected = [json.loads(r["answers"]) for r in home_rows + media_rows]
    model_before = router.model
    with mock.patch("peft.PeftModel.from_pretrained", side_effect=AssertionError("reloaded")), \
            mock.patch("peft.PeftModel.load_adapter", side_effect=AssertionError("reloaded")):
        mixed = router(queries, tools=tools, max_new_tokens=24)          # one batch, two adapters
        one_by_one = [router(q, tools=t, max_new_tokens=24) for q, t in zip(queries, tools)]
        forced_base = router(queries, tools=tools, adapter=False, max_new_tokens=24)
    assert router.model is model_before
    assert mixed == one_by_one
    correct = sum(got == want for got, want in zip(mixed, expected))
    assert correct >= 0.8 * len(expected), list(zip(queries, mixed, expected))
    # each adapter changes what the base model does on its own tool set
    assert sum(got != base for got, base in zip(mixed, forced_base)) >= 2
    assert sum(base == want for base, want in zip(forced_base, expected)) < correct

    # the same calls as a pipeline holding only that adapter
    home_pipe = load_pipeline(str(base_dir), adapter=str(adapters["home"].adapter_dir))
    assert [home_pipe(r["query"], tools=HOME, max_new_tokens=24) for r in home_rows] == mixed[:len(home_rows)]

    # no adapter for these tools: the base model answers, and the log says so
    base_pipe = load_pipeline(str(base_dir))
    with caplog.at_level(logging.INFO, logger="needle_hf.lora"):
        out = router("weather in Paris", tools=BASE_TOOLS, max_new_tokens=24)
    assert out == base_pipe("weather in Paris", tools=BASE_TOOLS, max_new_tokens=24)
    assert any("no adapter matches" in r.getMessage() and "using the base model" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(ValueError, match="no adapter named 'nope'"):
        router("x", tools=HOME, adapter="nope")


def test_merge_cli_gives_a_plain_model_with_the_same_logits(adapters, base_dir, tmp_path):
    adapter_dir = adapters["media"].adapter_dir
    out = tmp_path / "merged"
    assert cli_main(["merge", str(base_dir), str(adapter_dir), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "modeling_needle.py", "pipeline_tool_calling.py",
            "tools.json", "README.md"} <= names and "adapter_config.json" not in names
    assert "tool-calling" in json.loads((out / "config.json").read_text())["custom_pipelines"]

    merged = AutoModelForSeq2SeqLM.from_pretrained(out).eval()
    base, tok = load_base(str(base_dir))
    peft_model = load_adapter(base, adapter_dir)
    ids = torch.tensor([tok("call Anna please <tools> [..]", add_special_tokens=False)["input_ids"]] * 2)
    dec = torch.tensor([[1, 4, 10, 20, 30], [1, 4, 11, 21, 31]])
    with torch.no_grad():
        want = peft_model(input_ids=ids, decoder_input_ids=dec).logits
        got = merged(input_ids=ids, decoder_input_ids=dec).logits
        with peft_model.disable_adapter():
            plain = peft_model(input_ids=ids, decoder_input_ids=dec).logits
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(plain, want, atol=1e-3)  # the adapter does change the model


def test_adapter_for_another_base_is_refused(adapters, tmp_path):
    from peft import get_peft_model

    from needle_hf.lora import lora_config

    from .helpers_models import tiny_needle

    other = tmp_path / "other-base-adapter"
    get_peft_model(tiny_needle(d_model=32), lora_config(rank=4, alpha=8)).save_pretrained(other)
    (other / "tools.json").write_text(json.dumps(HOME))
    base, _ = load_base(str(trained_base_dir()))
    with pytest.raises(AdapterError, match="does not fit this base model.*d_model 64.*expects 32"):
        load_adapter(base, other)
    router = AdapterRouter(str(trained_base_dir()))
    with pytest.raises(AdapterError, match="does not fit this base model"):
        router.add("other", other)
    assert router.names == []
    with pytest.raises(AdapterError, match="not a LoRA adapter folder"):
        load_adapter(base, adapters["home"].adapter_dir.parent)


def test_too_little_data_is_refused_with_counts(tmp_path):
    rows = make_rows([LIGHTS], 2, seed=1)
    with pytest.raises(ValueError, match=r"2 valid example\(s\).*at least 3.*turn_on_lights: 2"):
        finetune_lora(rows, "unused-model-path", tmp_path / "x", progress=False)
    path = tmp_path / "tiny.jsonl"
    write_jsonl(rows, path)
    code = cli_main(["finetune", str(path), "--lora", "--model", "unused", "--output-dir", str(tmp_path / "y")])
    assert code == 2


def test_finetune_lora_refuses_full_finetune_options(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    write_jsonl(make_rows(HOME, 8, seed=7), path)
    code = cli_main(["finetune", str(path), "--lora", "--max-steps", "5", "--bf16", "--output-dir", str(tmp_path / "y")])
    err = capsys.readouterr().err
    assert code == 2 and "finetune --lora does not use --bf16, --max-steps" in err and "leave out --lora" in err
    assert not (tmp_path / "y").exists()


def test_routing_ignores_tool_and_parameter_order():
    from needle_hf.lora import routing_fingerprint

    a = {"name": "f", "description": "d", "parameters": {"x": {"type": "string", "required": True},
                                                         "y": {"type": "integer"}}}
    b = {"name": "f", "description": "d", "parameters": {"y": {"type": "integer"},
                                                         "x": {"type": "string", "required": True}}}
    assert tools_fingerprint([a]) != tools_fingerprint([b])  # the model sees the order...
    assert routing_fingerprint([a, LIGHTS]) == routing_fingerprint([LIGHTS, b])  # ...routing does not care
    assert routing_fingerprint([a]) != routing_fingerprint([LIGHTS])


def test_warning_for_tools_under_120_examples():
    from needle_hf.lora import check_finetune_data

    warnings = check_finetune_data(make_rows(HOME, 5, seed=1))
    assert len(warnings) == 1 and "2 tool(s) have fewer than 120 examples" in warnings[0]
    assert "turn_on_lights: 5" in warnings[0]
    assert check_finetune_data(make_rows(HOME, 5, seed=1), min_per_tool=5) == []
    rows = make_rows(HOME, 1, seed=1)[:1] + [{**make_rows(HOME, 1, seed=2)[0], "answers": "[]"}]
    with pytest.raises(ValueError, match=r"too little data to finetune: 2 valid example\(s\) \(need at least 3; "
                                         r"examples per tool: .*no call: 1"):
        check_finetune_data(rows)


def test_copy_mode_without_the_grammar_is_refused_before_training(base_dir, tmp_path):
    with pytest.raises(ValueError, match="copy mode .* is part of constrained decoding"):
        finetune_lora(make_rows(HOME, 4, seed=1), str(base_dir), tmp_path / "x", constrained=False, copy_strings=True,
                      progress=False, max_new_tokens=8)
    assert not (tmp_path / "x").exists()


def test_bad_targets_are_a_clear_error(base_dir, tmp_path):
    with pytest.raises(AdapterError, match="do not match the model.*q_proj"):
        finetune_lora(make_rows(HOME, 4, seed=1), str(base_dir), tmp_path / "x", target="mlp.fc1", progress=False,
                      max_new_tokens=8)


def test_finetune_cli_lora_flags(base_dir, tmp_path, capsys):
    path = tmp_path / "home.jsonl"
    write_jsonl(make_rows(HOME, 8, seed=7), path)
    out = tmp_path / "adapter"
    code = cli_main(["finetune", str(path), "--lora", "--model", str(base_dir), "--output-dir", str(out),
                     "--rank", "4", "--alpha", "8", "--target", "cross_attn.q_proj,cross_attn.v_proj",
                     "--epochs", "1", "--batch-size", "8", "--val-per-tool", "2", "--test-per-tool", "2",
                     "--copy-strings"])
    assert code == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "finetune_report.json").read_text())
    assert report["base"]["copy_strings"] and report["finetuned"]["copy_strings"]  # the base config says False
    assert report["settings"]["copy_strings"] is True
    assert "| call_f1 |" in printed and "adapter saved to" in printed
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and cfg["lora_alpha"] == 8
    assert set(cfg["target_modules"]) == {"cross_attn.q_proj", "cross_attn.v_proj"}
    assert json.loads((out / "tools.json").read_text())[0]["name"] in {"turn_on_lights", "set_thermostat"}
