#!/usr/bin/env bash
# Runs `needle-hf generate-data` with the offline generator as it was at COMMIT, to rebuild the exact rows a recorded
# recipe used (the generator changes between commits; the same seed then writes other rows).
#   training_scripts/generate_at_commit.sh COMMIT [generate-data arguments ...]
# The commit is checked out once as a git worktree under $GENERATORS (default runs/generators/COMMIT) and its
# package is imported first: the `needle-hf` command of an installed (editable) package, or a Python started in the
# repository root, would import today's code instead. The installed dependencies are used as they are.
set -euo pipefail
commit=${1:?usage: generate_at_commit.sh COMMIT [generate-data arguments ...]}; shift
root=$(git rev-parse --show-toplevel)
tree=${GENERATORS:-$root/runs/generators}/$commit
if [ ! -d "$tree/needle_hf" ]; then
    git -C "$root" worktree add --force --detach "$tree" "$commit" >/dev/null
    # setup.cfg maps modeling/ to needle_hf.modeling; without an install the worktree needs it in place
    if [ -d "$tree/modeling" ] && [ ! -e "$tree/needle_hf/modeling" ]; then cp -r "$tree/modeling" "$tree/needle_hf/modeling"; fi
fi
python - "$tree" "$@" <<'PY'
import sys
tree, args = sys.argv[1], sys.argv[2:]
sys.path[:] = [tree] + [p for p in sys.path if p not in ("", ".")]  # '' (the cwd) may hold today's needle_hf
import needle_hf
if not needle_hf.__file__.startswith(tree):  # the whole point: never silently run today's generator
    sys.exit(f"generate_at_commit: imported needle_hf from {needle_hf.__file__}, not from {tree}")
from needle_hf.cli import main
sys.exit(main(["generate-data", *args]))
PY
