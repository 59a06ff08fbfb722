"""DatasetDict splits (unseen tools held out, deterministic), parquet + card round trip, per-tool split (spec §7.1)."""
from __future__ import annotations

import json
import random

import pytest

from needle_hf.data.io import DataValidationError, primary_tool
from needle_hf.data.splits import (
    build_dataset_dict,
    check_min_examples,
    extend_train,
    per_tool_split,
    save_dataset,
    split_rows,
)
from needle_hf.tools import parse_tools

from .helpers_data import make_rows, primary_rows, tool_schema


def offered(rows) -> set[str]:
    return {t.snake_name for r in rows for t in parse_tools(r["tools"])}


def as_lists(dsd) -> dict[str, list[dict]]:
    return {k: v.to_list() for k, v in dsd.items()}


@pytest.fixture(scope="module")
def rows():
    return make_rows(n_tools=20, per_tool=5, distractors=1)


def test_splits_are_deterministic_and_complete(rows):
    a = build_dataset_dict(rows, seed=3)
    b = build_dataset_dict(list(rows), seed=3)
    assert list(a) == ["train", "validation", "test", "test_unseen_tools"]
    assert as_lists(a) == as_lists(b)
    assert as_lists(build_dataset_dict(rows, seed=4)) != as_lists(a)
    # nothing dropped, nothing duplicated
    all_rows = [r for split in as_lists(a).values() for r in split]
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, all_rows)) == sorted(map(key, rows))
    assert a["train"].column_names == ["query", "tools", "answers"]
    assert len(a["validation"]) == len(a["test"]) == round(0.05 * (len(rows) - len(a["test_unseen_tools"])))


def test_unseen_tool_names_never_appear_in_other_splits(rows):
    result = split_rows(rows, seed=0, unseen_tool_fraction=0.1)
    held = set(result.held_out_tools)
    assert held and len(held) <= result.target_held_out == 2
    unseen = result.splits["test_unseen_tools"]
    assert unseen and all(offered([r]) & held for r in unseen)  # each row offers a held-out name
    for name in ("train", "validation", "test"):
        assert not offered(result.splits[name]) & held, name
    assert len(unseen) <= 0.2 * len(rows)  # max_unseen_fraction
    assert "held out" in result.summary()


def test_tool_offered_everywhere_is_not_held_out():
    # "common" is offered in every row: holding it out would empty train, so it is passed over
    rows = []
    for i in range(10):
        for j in range(4):
            tools = [tool_schema(f"t{i}"), tool_schema("common")]
            rows.append({"query": f"q{i}-{j}", "tools": json.dumps(tools),
                         "answers": json.dumps([{"name": f"t{i}", "arguments": {"value": "x"}}])})
    result = split_rows(rows, unseen_tool_fraction=0.5, max_unseen_fraction=0.3)
    assert "common" not in result.held_out_tools and "common" in result.skipped_tools
    assert len(result.splits["test_unseen_tools"]) <= 12 and result.splits["train"]


def test_duplicate_query_and_tools_stay_in_one_split():
    rows = make_rows(n_tools=6, per_tool=4, distractors=0, no_call_every=0)
    rows = rows + [dict(r) for r in rows[:10]]  # 10 exact twins
    res = split_rows(rows, seed=1, unseen_tool_fraction=0, validation_size=0.2, test_size=0.2)
    where = {}
    for name, split in res.splits.items():
        for r in split:
            where.setdefault((r["query"], r["tools"]), set()).add(name)
    assert all(len(s) == 1 for s in where.values())


def test_invalid_rows_and_bad_fractions_raise(rows):
    with pytest.raises(DataValidationError, match="row 2: missing field 'answers'"):
        build_dataset_dict([rows[0], {"query": "x", "tools": "[]"}])
    with pytest.raises(ValueError, match="test_size"):
        build_dataset_dict(rows, test_size=1.5)
    with pytest.raises(ValueError, match="validation_size \\+ test_size"):
        build_dataset_dict(rows, validation_size=0.6, test_size=0.5)


def test_extend_train_keeps_held_out_tools_and_eval_rows_out(rows, tmp_path, capsys):
    from needle_hf.cli import main as cli_main

    dsd = build_dataset_dict(rows, seed=0)
    held = offered(dsd["test_unseen_tools"].to_list()) - offered(
        [r for s in ("train", "validation", "test") for r in dsd[s].to_list()])
    more = make_rows(n_tools=30, per_tool=3, distractors=1)  # overlaps the old tool names, held-out ones included
    twin = dsd["test"][0]  # an evaluation row offered again
    result = extend_train(dsd, more + [twin])
    leaking = [r for r in more if offered([r]) & held]
    assert leaking and result.dropped_held_out == len(leaking) and result.dropped_eval_twin == 1
    assert result.added == len(more) - len(leaking) and sorted(result.held_out_tools) == sorted(held)
    assert len(result.splits["train"]) == len(dsd["train"]) + result.added
    assert not offered(result.splits["train"]) & held
    for name in ("validation", "test", "test_unseen_tools"):
        assert result.splits[name] == dsd[name].to_list()
    # the CLI: split-data --extend writes the grown dataset and says what it dropped
    save_dataset(dsd, tmp_path / "ds")
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in more))
    assert cli_main(["split-data", str(tmp_path / "more.jsonl"), "--extend", str(tmp_path / "ds"),
                     "--out", str(tmp_path / "ds2")]) == 0
    out = capsys.readouterr().out
    assert f"added {result.added} rows to train; dropped {len(leaking)} offering" in out
    assert f"train: {len(result.splits['train'])}" in out
    # bad input: not a dataset folder, or a dataset without a train split
    assert cli_main(["split-data", str(tmp_path / "more.jsonl"), "--extend", str(tmp_path / "nope"),
                     "--out", str(tmp_path / "ds3")]) == 2
    assert "is not a dataset folder (no data/*.parquet)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no train split"):
        extend_train({"test": dsd["test"]}, more)


def test_save_and_reload_with_load_dataset(rows, tmp_path):
    import datasets

    dsd = build_dataset_dict(rows, seed=0)
    out = save_dataset(dsd, tmp_path / "ds", generator="tests.helpers_data.make_rows", seed=0, repo_id="Org/tiny")
    names = sorted(p.name for p in (out / "data").iterdir())
    assert names == sorted(f"{s}-00000-of-00001.parquet" for s in dsd)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "config_name: default" in card and "path: data/test_unseen_tools-*" in card
    assert "tests.helpers_data.make_rows" in card and "| seed | 0 |" in card
    assert f"| train | {len(dsd['train'])} |" in card
    assert "license: mit" in card and "tool-calling" in card

    back = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(back) == set(dsd)
    for name in dsd:
        assert back[name].to_list() == dsd[name].to_list()

    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_dataset(dsd, out)
    small = build_dataset_dict(rows, seed=0, unseen_tool_fraction=0)
    save_dataset(small, out, overwrite=True)  # stale split files are removed; empty splits are not written
    assert not (out / "data" / "test_unseen_tools-00000-of-00001.parquet").exists()
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Empty splits, not included: test_unseen_tools" in card
    back = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache2"))
    assert set(back) == {"train", "validation", "test"}


# ---------------------------------------------------------------------------------------------- spec §7.1
def reference_split(rows, val=10, test=10, seed=42):
    """Straight transcription of the reference _per_tool_split (spec §7.1), for comparison."""
    groups = {}
    for r in rows:
        groups.setdefault(primary_tool(r), []).append(r)
    rng = random.Random(seed)
    tr, va, te = [], [], []
    for items in groups.values():
        items = list(items)
        rng.shuffle(items)
        n = len(items)
        if n >= 20:
            te += items[:10]
            va += items[10:20]
            tr += items[20:]
        elif n == 1:
            te += items
        elif n == 2:
            te.append(items[0])
            va.append(items[1])
        else:
            t = max(1, n // 3)
            v = max(1, (n - t) // 3)
            te += items[:t]
            va += items[t:t + v]
            tr += items[t + v:]
    if not tr:
        pool = va + te
        random.Random(seed).shuffle(pool)
        n = len(pool)
        t, v = max(1, int(n * 0.2)), max(1, int(n * 0.2))
        te, va, tr = pool[:t], pool[t:t + v], pool[t + v:]
    return tr, va, te


def counts_by_tool(rows):
    out = {}
    for r in rows:
        out[primary_tool(r)] = out.get(primary_tool(r), 0) + 1
    return out


def test_per_tool_split_group_rules():
    rows = primary_rows({"big": 25, "exact": 20, "one": 1, "two": 2, "seven": 7, "three": 3, None: 4})
    train, val, test = per_tool_split(rows)
    assert counts_by_tool(test) == {"big": 10, "exact": 10, "one": 1, "two": 1, "seven": 2, "three": 1,
                                    "__no_tool__": 1}
    assert counts_by_tool(val) == {"big": 10, "exact": 10, "two": 1, "seven": 1, "three": 1, "__no_tool__": 1}
    assert counts_by_tool(train) == {"big": 5, "seven": 4, "three": 1, "__no_tool__": 2}
    assert (train, val, test) == reference_split(rows)
    assert per_tool_split(rows) == per_tool_split(list(rows))  # deterministic
    assert sorted(r["query"] for r in train + val + test) == sorted(r["query"] for r in rows)


def test_per_tool_split_fallback_when_train_is_empty():
    rows = primary_rows({"a": 1, "b": 2, "c": 2, "d": 1, None: 2})  # every group too small to train on
    train, val, test = per_tool_split(rows)
    assert (len(test), len(val), len(train)) == (1, 1, 6)  # 20% / 20% (>= 1 each) of the pooled 8 rows
    assert (train, val, test) == reference_split(rows)
    train, val, test = per_tool_split(primary_rows({"a": 1, "b": 1}))
    assert (len(test), len(val), len(train)) == (1, 1, 0)


def test_per_tool_split_custom_sizes_and_seed():
    rows = primary_rows({"a": 30})
    train, val, test = per_tool_split(rows, val=5, test=3, seed=7)
    assert (len(train), len(val), len(test)) == (22, 5, 3)
    assert per_tool_split(rows, seed=7) != per_tool_split(rows, seed=8)


def test_check_min_examples():
    rows = primary_rows({"a": 5, "b": 2, None: 3})
    rows.append({"query": "q", "tools": json.dumps([tool_schema("a"), tool_schema("never_called")]),
                 "answers": json.dumps([{"name": "a", "arguments": {"value": "v"}}])})
    assert check_min_examples(rows, minimum=6) == {"never_called": 0, "b": 2}
    assert check_min_examples(rows, minimum=2) == {"never_called": 0}
    assert check_min_examples(rows, minimum=0) == {}
