"""The model shipped in the package: loads every way a user would, and answers fixed example requests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from transformers import AutoModelForSeq2SeqLM, pipeline

import needle_hf
from needle_hf import DEFAULT_MODEL, NeedleForConditionalGeneration

from .test_modeling import BLOCK_NEEDLE_HF

TOOLS = json.loads((Path(__file__).resolve().parents[1] / "examples" / "tools.json").read_text())
EXAMPLES = [
    ("What's the weather like in Paris today?", [{"name": "get_weather", "arguments": {"location": "Paris"}}]),
    ("Set a timer for 10 minutes", [{"name": "set_timer", "arguments": {"minutes": 10}}]),
    ("Who painted the Mona Lisa?", []),  # an unrelated request: no call
    ("Text Anna that I'm running late",  # a name to copy, not recall (phase 4 wrote "Ana")
     [{"name": "send_message", "arguments": {"recipient": "Anna", "message": "I'm running late"}}]),
]


@pytest.fixture(scope="module")
def pipe():
    return pipeline("tool-calling")  # no model argument: the shipped default


def test_shipped_folder_is_a_complete_hub_folder():
    files = set(os.listdir(DEFAULT_MODEL))
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "README.md",
            "modeling_needle.py", "configuration_needle.py", "pipeline_tool_calling.py"} <= files
    size = sum(f.stat().st_size for f in Path(DEFAULT_MODEL).iterdir())
    assert size < 60 * 2**20
    config = json.loads(Path(DEFAULT_MODEL, "config.json").read_text())
    assert "custom_pipelines" in config
    assert config["copy_strings"] is True  # decodes in copy mode unless told otherwise (benchmarks/default_model.md)


def test_loads_with_auto_class():
    model = AutoModelForSeq2SeqLM.from_pretrained(DEFAULT_MODEL)
    assert isinstance(model, NeedleForConditionalGeneration)


@pytest.mark.parametrize("copy_strings", [None, False])  # its default (copy mode, config.copy_strings) and off
@pytest.mark.parametrize("query, expected", EXAMPLES)
def test_answers_fixed_examples(pipe, query, expected, copy_strings):
    assert pipe(query, tools=TOOLS, copy_strings=copy_strings) == expected


def test_a_budget_too_small_for_the_answer_is_reported(pipe, caplog):
    """max_new_tokens too small: the grammar still closes a valid answer, and a warning says it was cut short."""
    import logging

    query, expected = EXAMPLES[3]
    caplog.set_level(logging.WARNING)
    assert pipe(query, tools=TOOLS, max_new_tokens=12) != expected  # no room for the call
    assert any("closed early to fit max_new_tokens=12" in r.getMessage() for r in caplog.records)
    caplog.clear()
    assert pipe(query, tools=TOOLS, max_new_tokens=64) == expected
    assert not any("closed early" in r.getMessage() for r in caplog.records)


def test_trust_remote_code_without_the_package(tmp_path):
    script = BLOCK_NEEDLE_HF + textwrap.dedent(f"""
        import json
        from transformers import pipeline
        pipe = pipeline("tool-calling", model={DEFAULT_MODEL!r}, trust_remote_code=True)
        print(json.dumps(pipe({EXAMPLES[0][0]!r}, tools={TOOLS!r})))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == EXAMPLES[0][1]


def test_shipped_remote_code_is_the_package_code():
    """The folder carries copies of modeling/ (it is exactly what gets pushed to the Hub); they must not drift."""
    from needle_hf.saving import REMOTE_CODE_FILES

    source = Path(needle_hf.modeling.__file__).resolve().parent
    stale = [name for name in REMOTE_CODE_FILES
             if Path(DEFAULT_MODEL, name).read_text() != (source / name).read_text()]
    assert stale == [], f"re-save the default model folder (needle_hf.saving.save_model_folder): {stale} changed"
