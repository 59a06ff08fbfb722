"""`needle-hf eval` (needle_hf.evaluation.runner) on a tiny model and a few generated rows: reports and errors."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from needle_hf.cli import main as cli_main
from needle_hf.data.io import write_jsonl
from needle_hf.data.offline import generate_rows

from .helpers_models import save_tiny_model_folder

pytest.importorskip("llguidance")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model_folder(tmp_path_factory.mktemp("eval") / "tiny-needle")


@pytest.fixture(scope="module")
def rows():
    return list(generate_rows(10, seed=1))


@pytest.fixture(scope="module")
def data_file(rows, tmp_path_factory):
    path = tmp_path_factory.mktemp("eval_data") / "rows.jsonl"
    write_jsonl(rows, path)
    return path


def _eval(model_dir, data, out, *extra) -> int:
    return cli_main(["eval", "--model", str(model_dir), "--data", str(data), "--out", str(out),
                     "--max-new-tokens", "40", *extra])


def test_eval_writes_json_and_markdown_reports(model_dir, data_file, rows, tmp_path, capsys):
    out = tmp_path / "reports" / "report.json"
    assert _eval(model_dir, data_file, out, "--limit", "8") == 0
    printed = capsys.readouterr().out
    assert "| all | 8 |" in printed and f"reports: {out}" in printed
    report = json.loads(out.read_text())
    assert report["n"] == 8 and report["constrained"] is True and report["copy_strings"] is False
    metrics = report["metrics"]
    assert {"exact_match", "json_parse_rate", "call_f1", "no_call_recall", "by_call_type", "by_num_tools"} <= set(metrics)
    assert sum(group["n"] for group in metrics["by_call_type"].values()) == 8
    assert 0 < report["num_failures"] <= 8 and len(report["failures"]) == min(report["num_failures"], 20)
    queries = [r["query"] for r in rows[:8]]
    for failure in report["failures"]:  # an untrained model: every failure names the row and says why
        assert failure["query"] in queries and failure["reason"] and json.loads(failure["expected"]) is not None
    md = out.with_suffix(".md").read_text()
    assert "8 rows, constrained decoding" in md and "| call type:" in md and "| tools offered:" in md
    assert "## Sample of failures" in md and report["failures"][0]["reason"] in md


def test_eval_copy_mode_flag(model_dir, data_file, tmp_path, capsys):
    out = tmp_path / "copy.json"
    assert _eval(model_dir, data_file, out, "--limit", "4", "--copy-strings") == 0
    assert json.loads(out.read_text())["copy_strings"] is True
    assert "4 rows, constrained (copy mode) decoding" in out.with_suffix(".md").read_text()
    # copy mode is part of the grammar: asking for it with --no-constrained is an error (next test); a model whose
    # config.copy_strings is true decodes without it when unconstrained
    model = json.loads((model_dir / "config.json").read_text())
    copy_model = tmp_path / "copy-model"
    shutil.copytree(model_dir, copy_model)
    (copy_model / "config.json").write_text(json.dumps({**model, "copy_strings": True}))
    assert _eval(copy_model, data_file, out, "--limit", "4", "--no-constrained") == 0
    report = json.loads(out.read_text())
    assert report["constrained"] is False and report["copy_strings"] is False
    assert _eval(model_dir, data_file, out, "--limit", "2", "--copy-strings", "--num-beams", "2") == 0
    assert json.loads(out.read_text())["num_beams"] == 2
    assert "2 rows, constrained (copy mode) decoding with 2 beams;" in out.with_suffix(".md").read_text()
    assert _eval(model_dir, data_file, out, "--num-beams", "0") == 2
    assert "num_beams must be at least 1" in capsys.readouterr().err


def test_eval_top_k_tools_decodes_with_the_retrieved_tools(model_dir, data_file, rows, tmp_path, capsys):
    """--top-k-tools K: each row is decoded with its K best-ranked tools, exactly as the pipeline option does."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from needle_hf.evaluation.runner import evaluate_rows
    from needle_hf.modeling.pipeline_tool_calling import retrieve_tools
    from needle_hf.tools import parse_tools, tools_to_text

    out = tmp_path / "topk.json"
    assert _eval(model_dir, data_file, out, "--limit", "6", "--top-k-tools", "1") == 0
    report = json.loads(out.read_text())
    assert report["top_k_tools"] == 1
    assert "6 rows, constrained decoding, the 1 best-ranked tools per request;" in out.with_suffix(".md").read_text()
    model, tok = AutoModelForSeq2SeqLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
    multi = [r for r in rows if len(parse_tools(r["tools"])) > 1][:4]
    assert multi  # the generator offers several tools in most rows
    pruned = [dict(r, tools=tools_to_text([t for t, _ in retrieve_tools(model, tok, r["query"], r["tools"], k=1)]))
              for r in multi]
    kwargs = dict(max_new_tokens=40, progress=False, keep_predictions=True)
    assert evaluate_rows(model, tok, multi, top_k_tools=1, **kwargs)["predictions"] == \
        evaluate_rows(model, tok, pruned, **kwargs)["predictions"]
    assert evaluate_rows(model, tok, multi[:1], **kwargs)["top_k_tools"] is None
    with pytest.raises(SystemExit):
        cli_main(["eval", "--data", str(data_file), "--top-k-tools", "0"])
    assert "argument --top-k-tools:" in capsys.readouterr().err


def test_eval_dataset_folder_split_and_errors(model_dir, rows, tmp_path, capsys):
    folder = tmp_path / "dataset"
    (folder / "data").mkdir(parents=True)
    pd.DataFrame(rows[:3]).to_parquet(folder / "data" / "test-00000-of-00001.parquet")
    out = tmp_path / "folder.json"
    assert _eval(model_dir, folder, out, "--split", "test") == 0
    assert json.loads(out.read_text())["n"] == 3
    assert _eval(model_dir, folder, out, "--split", "test", "--limit", "2") == 0  # the first rows of the split
    assert json.loads(out.read_text())["n"] == 2
    assert _eval(model_dir, folder, out, "--split", "validation") == 2
    assert "has no split 'validation'; it has test" in capsys.readouterr().err
    assert _eval(model_dir, tmp_path / "missing.jsonl", out) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"query": "hi", "tools": "[]"}) + "\n")  # no answers field
    assert _eval(model_dir, bad, out) == 2
    assert f"{bad}:1" in capsys.readouterr().err


def test_eval_bad_flags_are_clear_errors(model_dir, data_file, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _eval(model_dir, data_file, out, "--split", "validation") == 2  # a JSONL file has no splits
    assert "is a JSONL file, which has no splits; drop --split validation" in capsys.readouterr().err
    assert _eval(model_dir, data_file, out, "--no-constrained", "--copy-strings") == 2
    assert "copy mode (--copy-strings / copy_strings=True) is part of constrained decoding" in capsys.readouterr().err
    for flag, value in (("--limit", "0"), ("--limit", "-3"), ("--batch-size", "0"), ("--max-new-tokens", "x")):
        with pytest.raises(SystemExit) as exit_info:  # argparse usage error
            cli_main(["eval", "--data", str(data_file), flag, value])
        assert exit_info.value.code == 2
        assert f"argument {flag}:" in capsys.readouterr().err
    assert _eval(model_dir, "./no/such/folder", out) == 2  # not a Hub id either: no network retries
    assert "no such dataset folder or JSONL file: ./no/such/folder" in capsys.readouterr().err
    assert not out.exists()
