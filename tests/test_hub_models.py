"""`needle-hf push` for model, adapter and dataset folders, loading each back by repo id from the loopback fake Hub
and then offline from the HF cache (HF_HUB_OFFLINE=1), the README snippets, and the no-token error for the real Hub.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, pipeline

import needle_hf  # noqa: F401  (registers the model type and the pipeline)
from needle_hf.cli import main as cli_main
from needle_hf.hub import HubError, folder_kind
from needle_hf.inference import load_pipeline
from needle_hf.lora import AdapterRouter, adapter_card, finetune_lora, lora_config, save_adapter_folder

from .fakehub import fake_hub, fake_hub_no_token  # noqa: F401  (fixtures)
from .helpers_lora import HOME, make_rows
from .helpers_lora import one_torch_thread  # noqa: F401  (autouse fixture)
from .helpers_models import TOOLS, save_tiny_model_folder, tiny_tokenizer
from .test_modeling import BLOCK_NEEDLE_HF

QUERIES = ["What's the weather in Paris?", "set a timer for 10 minutes", "text Anna that I'm late"]
# unconstrained raw text: on a random tiny model the grammar hides most weight differences, the raw text does not
GEN = dict(max_new_tokens=16, constrained=False, return_text=True)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model_folder(tmp_path_factory.mktemp("hub") / "needle-tiny")


@pytest.fixture(scope="module")
def adapter_dir(model_dir):
    """A LoRA adapter with non-zero random weights (so it changes the outputs), tools.json and a card."""
    from peft import get_peft_model

    path = model_dir.parent / "needle-tiny-tools-lora"
    base = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    peft_model = get_peft_model(base, lora_config(rank=4, alpha=8))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    card = adapter_card(path.name, str(model_dir), TOOLS, {"rank": 4, "alpha": 8})
    save_adapter_folder(peft_model, path, tools=TOOLS, card=card)
    return path


@pytest.fixture(scope="module")
def dataset_dir(model_dir):
    from needle_hf.data.splits import build_dataset_dict, save_dataset

    path = model_dir.parent / "home-data"
    save_dataset(build_dataset_dict(make_rows(HOME, 15, seed=2), seed=0), path)
    return path


def _calls(pipe):
    return [pipe(q, tools=TOOLS, **GEN)["text"] for q in QUERIES]


def _push(folder, repo_id, *extra) -> int:
    return cli_main(["push", str(folder), "--repo-id", repo_id, *extra])


def test_folder_kind_detection(model_dir, adapter_dir, dataset_dir, tmp_path):
    assert folder_kind(model_dir) == "model"
    assert folder_kind(adapter_dir) == "adapter"
    assert folder_kind(dataset_dir) == "dataset"
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(HubError, match="cannot tell what"):
        folder_kind(tmp_path)
    assert cli_main(["push", str(tmp_path), "--repo-id", "Org/x"]) == 2


def test_push_model_adapter_dataset_and_load_back_online_then_offline(fake_hub, model_dir, adapter_dir, dataset_dir,
                                                                      tmp_path, capsys):
    # --- model folder
    assert _push(model_dir, "Org/needle-tiny") == 0
    assert "pushed model folder" in capsys.readouterr().out
    files = fake_hub.files("Org/needle-tiny")
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "README.md",
            "configuration_needle.py", "modeling_needle.py", "pipeline_tool_calling.py", "tools.py",
            "constrained.py"} <= set(files)
    local = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    remote = AutoModelForSeq2SeqLM.from_pretrained("Org/needle-tiny")
    for (n1, p1), (n2, p2) in zip(local.state_dict().items(), remote.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    expected_model = _calls(load_pipeline(str(model_dir)))
    assert _calls(pipeline("tool-calling", model="Org/needle-tiny", trust_remote_code=True)) == expected_model

    # --- adapter folder (its adapter_config.json names the local base: --base-model-id publishes the Hub id)
    assert _push(adapter_dir, "Org/needle-tiny-tools-lora", "--base-model-id", "Org/needle-tiny") == 0
    files = fake_hub.files("Org/needle-tiny-tools-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "tools.json", "README.md"} <= set(files)
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "Org/needle-tiny"
    assert json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"] == str(model_dir)
    expected_adapter = _calls(load_pipeline(str(model_dir), adapter=str(adapter_dir)))
    assert expected_adapter != expected_model  # the adapter matters
    assert _calls(load_pipeline("Org/needle-tiny", adapter="Org/needle-tiny-tools-lora")) == expected_adapter
    # transformers' own adapter loading: base resolved from adapter_config.json, then the adapter
    assert _calls(pipeline("tool-calling", model="Org/needle-tiny-tools-lora",
                           trust_remote_code=True)) == expected_adapter
    router = AdapterRouter("Org/needle-tiny").add("tools", "Org/needle-tiny-tools-lora")
    assert [router(q, tools=TOOLS, **GEN)["text"] for q in QUERIES] == expected_adapter

    # --- finetune_lora(push_to_hub=True): <account>/<out_dir name>, with the base's Hub id in adapter_config.json
    result = finetune_lora(make_rows(HOME, 4, seed=3), "Org/needle-tiny", tmp_path / "home-lora", epochs=1,
                           val_per_tool=1, test_per_tool=1, max_new_tokens=8, push_to_hub=True,
                           base_model_id="Org/needle-tiny", progress=False)
    files = fake_hub.files(f"{fake_hub.user}/home-lora")
    assert {"adapter_config.json", "adapter_model.safetensors", "tools.json", "README.md"} <= set(files)
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "Org/needle-tiny"
    assert result.commit_url and f"{fake_hub.user}/home-lora" in result.commit_url

    # --- dataset folder
    assert _push(dataset_dir, "Org/home-data") == 0
    assert any(p.startswith("data/") and p.endswith(".parquet") for p in fake_hub.files("Org/home-data", "dataset"))
    import datasets

    local_ds, remote_ds = datasets.load_dataset(str(dataset_dir)), datasets.load_dataset("Org/home-data")
    assert set(remote_ds) == set(local_ds)
    for split in local_ds:
        assert remote_ds[split].to_list() == local_ds[split].to_list()

    # --- offline: everything again from the HF cache filled above, with the Hub unreachable; plus the README
    # snippets against a pre-populated cache entry for "Cactus-Compute/needle" (hf-conventions §6 layout)
    from huggingface_hub import snapshot_download

    snapshot_download("Org/needle-tiny")  # what a user does to prefetch a repo for offline use (+ its remote code)
    hf_home = Path(os.environ["HF_HOME"])
    _populate_cache(hf_home, "Cactus-Compute/needle", model_dir)
    expected = {"model": expected_model, "adapter": expected_adapter,
                "dataset": {s: local_ds[s].num_rows for s in local_ds}}
    _check_offline(hf_home, tmp_path, expected)


def _populate_cache(hf_home: Path, repo_id: str, folder: Path, revision: str = "a" * 40) -> None:
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    shutil.copytree(folder, repo / "snapshots" / revision, dirs_exist_ok=True)


def _check_offline(hf_home: Path, tmp_path: Path, expected: dict) -> None:
    queries, tools = json.dumps(QUERIES), json.dumps(TOOLS)
    script = BLOCK_NEEDLE_HF + textwrap.dedent(f"""
        import json
        import torch
        from transformers import AutoModelForSeq2SeqLM, pipeline
        Q, T = json.loads({queries!r}), json.loads({tools!r})
        calls = lambda p: [p(q, tools=T, max_new_tokens=16, constrained=False, return_text=True)["text"] for q in Q]
        out = {{}}
        # 1. no package installed: remote code + custom pipeline from the cache (README snippet)
        pipe = pipeline("tool-calling", model="Cactus-Compute/needle", trust_remote_code=True)
        assert "needle_hf" not in sys.modules
        out["readme_remote_code"] = calls(pipe)
        out["remote_code_hub"] = calls(pipeline("tool-calling", model="Org/needle-tiny", trust_remote_code=True))
        # 2. with the package
        sys.meta_path.pop(0)
        import needle_hf
        from needle_hf.inference import load_pipeline
        m = AutoModelForSeq2SeqLM.from_pretrained("Cactus-Compute/needle")   # README snippet
        assert type(m).__module__.startswith("needle_hf")
        out["readme_installed"] = calls(pipeline("tool-calling", model="Cactus-Compute/needle"))
        out["adapter"] = calls(load_pipeline("Org/needle-tiny", adapter="Org/needle-tiny-tools-lora"))
        out["adapter_pipeline"] = calls(pipeline("tool-calling", model="Org/needle-tiny-tools-lora",
                                                 trust_remote_code=True))
        import datasets
        ds = datasets.load_dataset("Org/home-data")
        out["dataset"] = {{s: ds[s].num_rows for s in ds}}
        try:
            AutoModelForSeq2SeqLM.from_pretrained("Org/not-in-cache")
            out["missing"] = "loaded?!"
        except OSError as err:
            out["missing"] = "OSError"
        print(json.dumps(out))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_ENDPOINT="http://127.0.0.1:9", HF_MODULES_CACHE=str(tmp_path / "modules"),
               HF_HUB_DISABLE_TELEMETRY="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["readme_remote_code"] == out["readme_installed"] == expected["model"]
    assert out["remote_code_hub"] == expected["model"]
    assert out["adapter"] == out["adapter_pipeline"] == expected["adapter"]
    assert out["dataset"] == expected["dataset"]
    assert out["missing"] == "OSError"


def test_push_repairs_a_model_folder_without_remote_code(fake_hub, model_dir, tmp_path, caplog):
    plain = tmp_path / "plain"
    AutoModelForSeq2SeqLM.from_pretrained(model_dir).save_pretrained(plain)  # no auto_map, pipeline, remote code
    tiny_tokenizer().save_pretrained(plain)
    before = sorted(p.name for p in plain.iterdir())
    (plain / "checkpoint-5").mkdir()
    (plain / "checkpoint-5" / "optimizer.pt").write_bytes(b"x")
    assert _push(plain, "Org/plain") == 0
    assert "pushing a repaired copy" in caplog.text
    files = fake_hub.files("Org/plain")
    config = json.loads(files["config.json"])
    assert "tool-calling" in config["custom_pipelines"] and "AutoModelForSeq2SeqLM" in config["auto_map"]
    assert {"modeling_needle.py", "pipeline_tool_calling.py", "README.md"} <= set(files)
    assert not any(p.startswith("checkpoint-") for p in files)
    assert sorted(p.name for p in plain.iterdir() if p.name != "checkpoint-5") == before  # left unchanged
    assert _calls(pipeline("tool-calling", model="Org/plain", trust_remote_code=True)) == \
        _calls(load_pipeline(str(model_dir)))


def test_no_token_for_the_real_hub_is_a_clear_error(fake_hub_no_token, model_dir, adapter_dir, dataset_dir,
                                                    monkeypatch, capsys, tmp_path):
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "ENDPOINT", "https://huggingface.co")
    for folder in (model_dir, adapter_dir, dataset_dir):
        assert _push(folder, "Org/anything") == 2
        err = capsys.readouterr().err
        assert "no Hugging Face token found for https://huggingface.co" in err and "HF_TOKEN" in err
    with pytest.raises(HubError, match="no Hugging Face token"):  # before any training
        finetune_lora(make_rows(HOME, 3, seed=1), str(model_dir), tmp_path / "a", push_to_hub="Org/a",
                      progress=False)
    assert not (tmp_path / "a").exists()
    assert fake_hub_no_token.requests == []  # nothing was sent anywhere
