"""training_scripts/generate_at_commit.sh: runs the generator of a given commit, never today's (real git + bash).

A throwaway git repository stands in for the project, so the test needs no history of this checkout: its
``needle_hf/cli.py`` writes which version ran and with which arguments.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "training_scripts" / "generate_at_commit.sh"

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                                reason="needs git and bash")

CLI = '''import sys
def main(argv):
    out = argv[argv.index("--out") + 1]
    open(out, "w").write("{version} " + " ".join(argv))
    return 0
'''


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)


def _write_version(repo: Path, version: str):
    (repo / "needle_hf").mkdir(exist_ok=True)
    (repo / "needle_hf" / "__init__.py").write_text("")
    (repo / "needle_hf" / "cli.py").write_text(CLI.replace("{version}", version))


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _write_version(repo, "old")
    (repo / "modeling").mkdir()
    (repo / "modeling" / "__init__.py").write_text("")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "old generator")
    _write_version(repo, "today")  # the working tree moves on; the old commit must still be what runs
    return repo


def _run(repo, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GENERATORS")}
    env.update(env_extra or {})
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=repo, env=env, capture_output=True, text=True)


def test_runs_the_commits_generator_from_a_worktree(repo, tmp_path):
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    out = tmp_path / "rows.jsonl"
    proc = _run(repo, commit, "--out", str(out), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    # run from the repository root, where today's needle_hf is importable, and still the old one ran
    assert out.read_text() == f"old generate-data --out {out} --seed 3"
    tree = repo / "runs" / "generators" / commit
    assert (tree / "needle_hf" / "modeling" / "__init__.py").is_file()  # setup.cfg's package_dir, by hand
    # a second run reuses the worktree
    proc = _run(repo, commit, "--out", str(out), "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().endswith("--seed 4")


def test_generators_folder_and_unknown_commit(repo, tmp_path):
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    out = tmp_path / "rows.jsonl"
    proc = _run(repo, commit, "--out", str(out), env_extra={"GENERATORS": str(tmp_path / "gens")})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "gens" / commit / "needle_hf" / "cli.py").is_file()
    proc = _run(repo, "0" * 40, "--out", str(out))
    assert proc.returncode != 0
    proc = _run(repo)
    assert proc.returncode != 0 and "usage: generate_at_commit.sh COMMIT" in proc.stderr
