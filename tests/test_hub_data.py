"""Publishing datasets: `needle-hf push-data` to the loopback fake Hub, then load_dataset / hf_hub_download back.

Also checks the fake Hub itself on the other paths colleagues reuse it for (model push_to_hub + from_pretrained,
branches, Dataset.push_to_hub through LFS).
"""
from __future__ import annotations

import pytest

from needle_hf.cli import main
from needle_hf.data.splits import build_dataset_dict, save_dataset
from needle_hf.hub import HubError, is_official_hub, push_dataset, push_folder, resolve_token

from .fakehub import FakeHub, fake_hub, fake_hub_no_token  # noqa: F401  (fixtures)
from .helpers_data import make_rows


@pytest.fixture(scope="module")
def dsd():
    return build_dataset_dict(make_rows(n_tools=10, per_tool=4, distractors=1), seed=0)


@pytest.fixture
def folder(dsd, tmp_path):
    return save_dataset(dsd, tmp_path / "needle-synth", generator="tests.helpers_data.make_rows", seed=0,
                        repo_id="Org/needle-synth")


def test_push_data_then_load_dataset_and_card(fake_hub, folder, dsd, capsys):
    import datasets
    from huggingface_hub import DatasetCard, hf_hub_download

    assert main(["push-data", str(folder), "--repo-id", "Org/needle-synth"]) == 0
    out = capsys.readouterr().out
    assert "pushed" in out and 'load_dataset("Org/needle-synth")' in out
    files = fake_hub.files("Org/needle-synth", repo_type="dataset")
    assert "README.md" in files and "data/train-00000-of-00001.parquet" in files

    back = datasets.load_dataset("Org/needle-synth")
    assert set(back) == set(dsd)
    for name in dsd:
        assert back[name].to_list() == dsd[name].to_list()

    readme = hf_hub_download("Org/needle-synth", "README.md", repo_type="dataset")
    with open(readme, encoding="utf-8") as f:
        assert f.read() == (folder / "README.md").read_text(encoding="utf-8")
    card = DatasetCard.load("Org/needle-synth")
    assert card.data.license == "mit" and "tool-calling" in card.data.tags
    assert [s["split"] for s in card.data.configs[0]["data_files"]] == list(dsd)
    card.data.tags.append("edited")
    card.push_to_hub("Org/needle-synth", repo_type="dataset")  # DatasetCard.push_to_hub (validate-yaml + commit)
    assert "edited" in DatasetCard.load("Org/needle-synth").data.tags

    # pushing again is fine (repo exists, unchanged files are skipped); --private creates private repos
    assert main(["push-data", str(folder), "--repo-id", "Org/needle-synth"]) == 0
    assert main(["push-data", str(folder), "--repo-id", "Org/private-synth", "--private"]) == 0
    assert fake_hub.get_repo("Org/private-synth", "dataset").private
    assert not fake_hub.unhandled


def test_push_data_to_a_branch(fake_hub, folder):
    info = push_dataset(folder, "Org/branchy", revision="v2", commit_message="second version")
    assert info.oid == fake_hub.get_repo("Org/branchy", "dataset").branches["v2"]
    assert "data/test-00000-of-00001.parquet" in fake_hub.files("Org/branchy", "dataset", revision="v2")
    assert set(fake_hub.files("Org/branchy", "dataset")) == {".gitattributes"}  # main untouched


def test_push_data_errors(fake_hub, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "data").mkdir(parents=True)
    (empty / "README.md").write_text("# nothing\n")
    assert main(["push-data", str(empty), "--repo-id", "Org/x"]) == 2
    assert "has no data files" in capsys.readouterr().err
    assert main(["push-data", str(tmp_path / "missing"), "--repo-id", "Org/x"]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(HubError, match="ORG/NAME"):
        push_folder(empty, "no-namespace")
    assert ("dataset", "Org/x") not in fake_hub.repos


def test_no_token_for_the_real_hub_is_a_clear_error(folder, monkeypatch, tmp_path, capsys):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    assert is_official_hub()
    with pytest.raises(HubError, match="no Hugging Face token"):
        resolve_token()
    assert main(["push-data", str(folder), "--repo-id", "Org/needle-synth"]) == 2  # fails before any request
    err = capsys.readouterr().err
    assert "no Hugging Face token" in err and "HF_TOKEN" in err and "hf auth login" in err


def test_no_token_on_another_endpoint_reports_the_refusal(fake_hub_no_token, folder, capsys):
    assert not is_official_hub() and resolve_token() is None
    assert main(["push-data", str(folder), "--repo-id", "Org/needle-synth"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "token" in err


# ---------------------------------------------------------------------------------------------- the fake Hub itself
def test_fake_hub_model_push_and_from_pretrained(fake_hub, tmp_path):
    import torch
    from huggingface_hub import HfApi, snapshot_download
    from transformers import AutoModel, BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=8))
    model.push_to_hub("Org/tiny-bert")
    back = AutoModel.from_pretrained("Org/tiny-bert")
    for (k, a), b in zip(model.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), k
    blob = fake_hub.get_repo("Org/tiny-bert").resolve("main").files["model.safetensors"]
    assert blob.lfs  # binaries go through the LFS protocol
    api = HfApi()
    api.create_tag("Org/tiny-bert", tag="v1")
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="extra.json", repo_id="Org/tiny-bert")
    old = snapshot_download("Org/tiny-bert", revision="v1")
    new = snapshot_download("Org/tiny-bert")
    import os

    assert "extra.json" not in os.listdir(old) and "extra.json" in os.listdir(new)
    assert not fake_hub.unhandled


def test_fake_hub_dataset_push_to_hub_and_standalone_use(tmp_path):
    import datasets

    with FakeHub() as hub, hub.patched(token="x", hf_home=tmp_path / "home"):
        ds = datasets.Dataset.from_dict({"query": ["a", "b"], "answers": ["[]", "[]"]})
        ds.push_to_hub("Org/pushed")  # parquet shards through preupload + LFS
        assert datasets.load_dataset("Org/pushed")["train"]["query"] == ["a", "b"]
        assert hub.requests and not hub.unhandled
        url = hub.url
    from huggingface_hub import constants

    assert constants.ENDPOINT != url  # patching undone


@pytest.mark.slow
def test_push_data_cli_subprocess_with_hf_endpoint(folder, tmp_path):
    """The real CLI in a fresh interpreter, pointed at the fake Hub only through environment variables."""
    import os
    import subprocess
    import sys

    with FakeHub() as hub:
        env = {**os.environ, **hub.env(token="x", hf_home=tmp_path / "home")}
        assert env["HF_ENDPOINT"] == hub.url and env["HF_HUB_DISABLE_XET"] == "1"
        proc = subprocess.run([sys.executable, "-m", "needle_hf.cli", "push-data", str(folder),
                               "--repo-id", "Org/from-cli"], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "data/train-00000-of-00001.parquet" in hub.files("Org/from-cli", "dataset")
