"""ONNX export (needle_hf.onnx_export) and ONNX Runtime decoding (needle_hf.onnx_runner) against the torch model."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from needle_hf.cli import main as cli_main  # noqa: E402
from needle_hf.constrained import NeedleGrammarProcessor  # noqa: E402
from needle_hf.evaluation.runner import evaluate_rows  # noqa: E402
from needle_hf.inference import load_pipeline  # noqa: E402
from needle_hf.onnx_export import MANIFEST, export_onnx  # noqa: E402
from needle_hf.onnx_runner import OnnxNeedleModel, load_onnx_pipeline  # noqa: E402
from needle_hf.tools import parse_tools  # noqa: E402

from .fakehub import fake_hub  # noqa: E402,F401  (fixture)
from .helpers_models import TOOLS, save_tiny_model_folder  # noqa: E402
from .test_pipeline import QUERIES  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model_folder(tmp_path_factory.mktemp("onnx") / "tiny-needle")


@pytest.fixture(scope="module")
def export(model_dir, tmp_path_factory):
    return export_onnx(model_dir, tmp_path_factory.mktemp("onnx") / "fp32")


@pytest.fixture(scope="module")
def int8_dir(model_dir, tmp_path_factory):
    """Made through the CLI, so `needle-hf export --int8` is covered too."""
    out = tmp_path_factory.mktemp("onnx") / "int8"
    assert cli_main(["export", "--model", str(model_dir), "--out", str(out), "--int8"]) == 0
    return out


@pytest.fixture(scope="module")
def torch_pipe(model_dir):
    return load_pipeline(str(model_dir))


@pytest.fixture(scope="module")
def onnx_pipe(export):
    return load_pipeline(str(export.out_dir))


def test_export_folder_and_manifest(export):
    assert {"encoder.onnx", "decoder.onnx", "config.json", "generation_config.json", "tokenizer.json", MANIFEST,
            "README.md"} <= set(export.files)
    manifest = json.loads((export.out_dir / MANIFEST).read_text())
    assert manifest["format"] == "needle-onnx" and manifest["quantization"] is None
    assert manifest["decoder_inputs"] == ["decoder_input_ids", "encoder_attention_mask", "cross_key_values",
                                          "past_key_values"]
    assert manifest["encoder_outputs"] == ["cross_key_values", "retrieval_embedding"]
    assert manifest["check"]["greedy_tokens_match"] is True and manifest["check"]["max_abs_diff"] < 1e-4
    assert not any(name.endswith(".py") for name in export.files)  # no remote code: the graphs are the model


def test_graphs_match_torch_step_by_step(model_dir, export):
    """Encoder K/V, first-step and cached-step logits against the torch model's own forward."""
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    runner = OnnxNeedleModel(export.out_dir)
    ids = torch.randint(5, model.config.vocab_size, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    dec = torch.randint(5, model.config.vocab_size, (3, 5))
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, use_cache=False).logits
    cross = runner.encode(ids.numpy(), mask.numpy())
    logits_a, past = runner.decode(dec[:, :2].numpy(), mask.numpy(), cross, runner.empty_past(3))
    logits_b, past = runner.decode(dec[:, 2:].numpy(), mask.numpy(), cross, past)
    assert past.shape[4] == 5  # (layers, 2, batch, kv heads, length, head dim)
    got = np.concatenate([logits_a, logits_b], axis=1)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=1e-4)


def test_constrained_generate_matches_torch_token_for_token(model_dir, export, torch_pipe):
    tok = torch_pipe.tokenizer
    tools = parse_tools(TOOLS)
    from needle_hf.modeling.pipeline_tool_calling import build_encoder_ids
    from needle_hf.tools import tools_to_text

    rows = [build_encoder_ids(tok, q, tools_to_text(tools))[0] for q in QUERIES]
    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])

    def processor():
        return [NeedleGrammarProcessor(tok, tools, copy_from=QUERIES, max_new_tokens=40)]

    expected = torch_pipe.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=40, do_sample=False,
                                         num_beams=1, logits_processor=processor())
    got = OnnxNeedleModel(export.out_dir).generate(input_ids=ids, attention_mask=mask, max_new_tokens=40,
                                                   logits_processor=processor())
    assert torch.equal(got, expected)


@pytest.mark.parametrize("options", [{}, {"copy_strings": True}, {"constrained": False}])
def test_onnx_pipeline_answers_like_the_torch_pipeline(torch_pipe, onnx_pipe, options):
    kwargs = dict(tools=TOOLS, return_text=True, max_new_tokens=48, **options)
    assert onnx_pipe(QUERIES, **kwargs) == torch_pipe(QUERIES, **kwargs)
    assert onnx_pipe(QUERIES[0], **kwargs) == torch_pipe(QUERIES[0], **kwargs)  # batch of one


def test_retrieval_head_and_top_k_tools_on_onnx(model_dir, export, torch_pipe, onnx_pipe, tmp_path):
    from needle_hf.modeling.pipeline_tool_calling import retrieve_tools

    for query in QUERIES:
        got = retrieve_tools(onnx_pipe.model, onnx_pipe.tokenizer, query, TOOLS)
        expected = retrieve_tools(torch_pipe.model, torch_pipe.tokenizer, query, TOOLS)
        assert [t.name for t, _ in got] == [t.name for t, _ in expected]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)
    kwargs = dict(tools=TOOLS, top_k_tools=1, return_text=True, max_new_tokens=48)
    assert onnx_pipe(QUERIES, **kwargs) == torch_pipe(QUERIES, **kwargs)

    # an export made before the encoder had the retrieval output: decoding works, ranking says what to do
    import shutil

    import onnx

    old = shutil.copytree(export.out_dir, tmp_path / "old")
    graph = onnx.load(str(old / "encoder.onnx"))
    kept = [o for o in graph.graph.output if o.name != "retrieval_embedding"]
    del graph.graph.output[:]
    graph.graph.output.extend(kept)
    onnx.save(graph, str(old / "encoder.onnx"))
    old_pipe = load_onnx_pipeline(old)
    assert old_pipe(QUERIES[0], tools=TOOLS, return_text=True, max_new_tokens=48) == \
        onnx_pipe(QUERIES[0], tools=TOOLS, return_text=True, max_new_tokens=48)
    with pytest.raises(ValueError, match="exported without the retrieval head .* export the model again"):
        old_pipe(QUERIES[0], **kwargs)


def test_eval_runner_takes_an_onnx_model(model_dir, export, torch_pipe):
    from needle_hf.data.offline import generate_rows

    rows = list(generate_rows(6, seed=3))
    onnx_pipe = load_onnx_pipeline(export.out_dir)
    a = evaluate_rows(onnx_pipe.model, onnx_pipe.tokenizer, rows, max_new_tokens=40, progress=False,
                      keep_predictions=True)
    b = evaluate_rows(torch_pipe.model, torch_pipe.tokenizer, rows, max_new_tokens=40, progress=False,
                      keep_predictions=True)
    assert len(a["predictions"]) == 6 and a["predictions"] == b["predictions"]
    assert a["metrics"] == b["metrics"] and a["failures"] == b["failures"]
    assert "predictions" not in evaluate_rows(torch_pipe.model, torch_pipe.tokenizer, rows[:1], max_new_tokens=8,
                                              progress=False)
    with pytest.raises(ValueError, match="decodes greedily"):
        evaluate_rows(onnx_pipe.model, onnx_pipe.tokenizer, rows[:1], num_beams=2, progress=False)


def test_pipeline_defaults_pass_through_like_torch(model_dir, export):
    """load_pipeline's keyword arguments are pipeline defaults for an export too."""
    kwargs = dict(constrained=False, max_new_tokens=24, batch_size=2)
    onnx_pipe, torch_pipe = load_pipeline(str(export.out_dir), **kwargs), load_pipeline(str(model_dir), **kwargs)
    assert onnx_pipe(QUERIES, tools=TOOLS, return_text=True) == torch_pipe(QUERIES, tools=TOOLS, return_text=True)


def test_eval_report_says_what_was_evaluated(model_dir, export, int8_dir, tmp_path, capsys):
    from needle_hf.data.io import write_jsonl
    from needle_hf.data.offline import generate_rows

    data = tmp_path / "rows.jsonl"
    write_jsonl(list(generate_rows(3, seed=4)), data)
    out = tmp_path / "report.json"
    for model, backend, quantization in ((model_dir, "torch", None), (int8_dir, "onnxruntime",
                                                                      "int8-dynamic-per-channel")):
        assert cli_main(["eval", "--model", str(model), "--data", str(data), "--out", str(out), "--limit", "2",
                         "--max-new-tokens", "24"]) == 0
        report = json.loads(out.read_text())
        assert (report["model"], report["backend"], report["quantization"]) == (str(model), backend, quantization)
        assert (report["data"], report["split"], report["limit"]) == (str(data), None, 2)
        assert f"Model `{model}` ({backend}" in out.with_suffix(".md").read_text()
    capsys.readouterr()
    assert cli_main(["eval", "--model", str(export.out_dir), "--data", str(data), "--num-beams", "2",
                     "--out", str(tmp_path / "beams.json")]) == 2
    err = capsys.readouterr().err
    assert "--num-beams 2: an ONNX export decodes greedily" in err and "evaluating" not in err


def test_commands_that_need_torch_weights_refuse_an_export(export, tmp_path, capsys):
    for argv in (["calibrate", "--model", str(export.out_dir), "--data", "x.jsonl"],
                 ["train", "x.jsonl", "--model", str(export.out_dir), "--output-dir", str(tmp_path / "t")],
                 ["finetune", "x.jsonl", "--lora", "--model", str(export.out_dir), "--output-dir", str(tmp_path)],
                 ["merge", str(export.out_dir), str(tmp_path), "--out", str(tmp_path / "m")]):
        assert cli_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{export.out_dir} is an ONNX export, which `needle-hf {argv[0]}` cannot use" in err, err
        assert "pass the model folder it was exported from" in err
    manifest = json.loads((export.out_dir / MANIFEST).read_text())
    assert manifest["source_model"] == "tiny-needle"  # the folder's name, not this machine's path
    assert str(export.out_dir.parent) not in (export.out_dir / "README.md").read_text()


def test_int8_export_is_smaller_and_still_gives_valid_calls(export, int8_dir):
    manifest = json.loads((int8_dir / MANIFEST).read_text())
    assert manifest["quantization"] == "int8-dynamic-per-channel" and manifest["check"] is not None
    for name in ("encoder.onnx", "decoder.onnx"):
        assert (int8_dir / name).stat().st_size < (export.out_dir / name).stat().st_size
    assert not list(int8_dir.glob("*.fp32.onnx*"))  # the float graphs it was quantized from are gone
    out = load_pipeline(str(int8_dir))(QUERIES, tools=TOOLS, return_text=True, max_new_tokens=48)
    assert all(o["errors"] == [] for o in out)  # the grammar still holds with INT8 weights


def test_cli_run_on_an_export_in_a_fresh_process(int8_dir, tmp_path):
    """The real `needle-hf` console script, as a user runs it."""
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(TOOLS))
    done = subprocess.run([sys.executable, "-m", "needle_hf.cli", "run", "--model", str(int8_dir), "--query",
                           "weather in Paris", "--tools", f"@{tools}", "--max-new-tokens", "32"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout.strip().splitlines()[-1]), list)


def test_export_errors_name_the_problem(model_dir, export, tmp_path, capsys):
    assert cli_main(["export", "--model", str(model_dir), "--out", str(export.out_dir)]) == 2
    assert "is not empty; choose a new folder or pass --overwrite" in capsys.readouterr().err
    assert cli_main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "is not a model folder (no config.json)" in capsys.readouterr().err
    assert cli_main(["export", "--model", str(export.out_dir), "--out", str(tmp_path / "y")]) == 2
    assert "is already an ONNX export" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli_main(["export", "--model", str(model_dir), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_broken_export_folders_are_clear_errors(export, tmp_path):
    import shutil

    broken = shutil.copytree(export.out_dir, tmp_path / "broken")
    (broken / "decoder.onnx").unlink()
    with pytest.raises(FileNotFoundError, match="the decoder graph decoder.onnx named in needle_onnx.json is missing"):
        OnnxNeedleModel(broken)
    manifest = json.loads((export.out_dir / MANIFEST).read_text())
    (broken / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="version 99 is not 'needle-onnx' version 1"):
        OnnxNeedleModel(broken)
    (broken / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match="needle_onnx.json: not valid JSON"):
        OnnxNeedleModel(broken)
    with pytest.raises(ValueError, match="adapters apply to torch models"):
        load_pipeline(str(export.out_dir), adapter=str(tmp_path))
    with pytest.raises(ValueError, match="runs on ONNX Runtime's CPU provider here; drop device='cuda'"):
        load_pipeline(str(export.out_dir), device="cuda")


def test_unsupported_generate_options_are_errors(export):
    runner = OnnxNeedleModel(export.out_dir)
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(ValueError, match="decodes greedily"):
        runner.generate(input_ids=ids, do_sample=True)
    with pytest.raises(ValueError, match="unsupported generate\\(\\) options for an ONNX export: temperature"):
        runner.generate(input_ids=ids, temperature=0.5)
    with pytest.raises(ValueError, match="cannot be trained"):
        runner.train()


def test_push_an_export_and_load_it_back_by_repo_id(fake_hub, export, onnx_pipe, caplog, capsys, tmp_path):
    assert cli_main(["push", str(export.out_dir), "--repo-id", "Org/needle-onnx"]) == 0
    assert "pushed model folder" in capsys.readouterr().out
    assert "repaired" not in caplog.text and "no model.safetensors" not in caplog.text  # an export is complete
    files = fake_hub.files("Org/needle-onnx")
    assert {"encoder.onnx", "decoder.onnx", MANIFEST, "config.json", "tokenizer.json", "README.md"} <= set(files)
    remote = load_pipeline("Org/needle-onnx")
    assert isinstance(remote.model, OnnxNeedleModel)
    kwargs = dict(tools=TOOLS, return_text=True, max_new_tokens=32)
    assert remote(QUERIES, **kwargs) == onnx_pipe(QUERIES, **kwargs)
    # then offline, from the HF cache alone, through the real CLI
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "-m", "needle_hf.cli", "run", "--model", "Org/needle-onnx", "--query",
                           QUERIES[0], "--tools", json.dumps(TOOLS), "--max-new-tokens", "32"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == onnx_pipe(QUERIES[0], tools=TOOLS, max_new_tokens=32)
