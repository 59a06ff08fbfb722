"""Splits: a ``datasets.DatasetDict`` with an unseen-tools test split, and the reference per-tool finetune split.

* :func:`build_dataset_dict` (= :func:`split_rows` + :func:`to_dataset_dict`): ``train`` / ``validation`` / ``test``
  plus ``test_unseen_tools``, whose rows offer at least one *held-out* tool name (snake_case, over every tool the row
  offers, called or not) that never appears in any row of the other splits. Deterministic for a given seed and row
  order. Nothing is dropped: every input row lands in exactly one split.
* :func:`extend_train`: more training rows for an existing dataset, minus any that would leak its held-out tools or
  evaluation rows (so scores stay comparable).
* :func:`save_dataset`: parquet ``data/{split}-00000-of-00001.parquet`` + ``README.md`` card, loadable with
  ``datasets.load_dataset(folder)`` (and from the Hub once pushed, see :func:`needle_hf.hub.push_dataset`).
* :func:`per_tool_split`: the reference ``needle finetune`` split (spec §7.1), for user finetuning data.
* :func:`check_min_examples`: tools with fewer than ``minimum`` examples.
"""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from .io import DEFAULT_MIN_PER_TOOL, NO_TOOL, PathLike, load_rows, primary_tool, validate_rows

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test", "test_unseen_tools")
TEXT_COLUMNS = ("query", "tools", "answers")


# ---------------------------------------------------------------------------------------------- dataset splits
@dataclass
class SplitResult:
    """Rows per split and how they were chosen (all counts are reported, nothing is dropped)."""

    splits: dict[str, list[dict]]
    held_out_tools: list[str]  # snake_case names only in test_unseen_tools
    target_held_out: int  # how many names unseen_tool_fraction asked for
    n_tools: int  # distinct offered tool names in the input
    skipped_tools: list[str] = field(default_factory=list)  # candidates passed over: too many rows offer them
    seed: int = 0
    max_unseen_fraction: float = 0.2

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.splits.items()}

    def summary(self) -> str:
        c = ", ".join(f"{k} {n}" for k, n in self.counts().items())
        s = (f"splits: {c}; held out {len(self.held_out_tools)} of {self.n_tools} tool names "
             f"(asked for {self.target_held_out})")
        if len(self.held_out_tools) < self.target_held_out:
            s += (f"; {len(self.skipped_tools)} candidate name(s) did not fit: the rows offering them would have "
                  f"taken test_unseen_tools over max_unseen_fraction={self.max_unseen_fraction:g} of all rows "
                  f"(raise it to hold out more names)")
        return s


def _fraction(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0 <= value < 1):
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def _n_for(frac: float, n: int) -> int:
    """Rows for a held-out split: at least 1 when asked for and there are >= 3 rows, so train is never emptied."""
    if frac <= 0 or n < 3:
        return 0
    return max(1, int(round(frac * n)))


def split_rows(rows: Iterable[dict] | PathLike, seed: int = 0, validation_size: float = 0.05,
               test_size: float = 0.05, unseen_tool_fraction: float = 0.1,
               max_unseen_fraction: float = 0.2) -> SplitResult:
    """Assign every row to train / validation / test / test_unseen_tools (see :func:`build_dataset_dict`)."""
    validation_size = _fraction("validation_size", validation_size)
    test_size = _fraction("test_size", test_size)
    unseen_tool_fraction = _fraction("unseen_tool_fraction", unseen_tool_fraction)
    max_unseen_fraction = _fraction("max_unseen_fraction", max_unseen_fraction)
    if validation_size + test_size >= 1:
        raise ValueError(f"validation_size + test_size must be < 1, got {validation_size} + {test_size}")
    loaded = load_rows(rows, strict=True)  # raises on any invalid row (nothing silent)
    meta = loaded._meta  # per row: offered names, called names, (query, tool-set fingerprint)
    rows = list(loaded)
    n = len(rows)

    # 1. held-out tool names: candidates in a seeded random order; a candidate is held out unless that would put
    #    more than max_unseen_fraction of the rows into test_unseen_tools (tools offered everywhere stay seen).
    offered = [set(m[0]) for m in meta]
    rows_by_tool: dict[str, set[int]] = {}
    for i, names in enumerate(offered):
        for name in names:
            rows_by_tool.setdefault(name, set()).add(i)
    all_names = sorted(rows_by_tool)
    target = 0
    if unseen_tool_fraction > 0 and len(all_names) >= 2:
        target = min(len(all_names) - 1, max(1, int(round(unseen_tool_fraction * len(all_names)))))
    order = list(all_names)
    random.Random(f"needle-unseen-tools-{seed}").shuffle(order)
    cap = int(math.floor(max_unseen_fraction * n))
    held: list[str] = []
    skipped: list[str] = []
    affected: set[int] = set()
    for name in order:
        if len(held) >= target:
            break
        grown = affected | rows_by_tool[name]
        if len(grown) > cap:
            skipped.append(name)
            continue
        held.append(name)
        affected = grown
    unseen = [rows[i] for i in sorted(affected)]

    # 2. the rest: groups of identical (query, tool set) rows stay together, so no test row has a twin in train
    groups: dict[tuple, list[dict]] = {}
    for i, row in enumerate(rows):
        if i in affected:
            continue
        groups.setdefault(meta[i][2], []).append(row)
    order_groups = list(groups.values())
    random.Random(f"needle-splits-{seed}").shuffle(order_groups)
    rest = n - len(affected)
    n_test, n_val = _n_for(test_size, rest), _n_for(validation_size, rest)
    test: list[dict] = []
    val: list[dict] = []
    train: list[dict] = []
    for g in order_groups:
        if len(test) < n_test:
            test += g
        elif len(val) < n_val:
            val += g
        else:
            train += g
    random.Random(f"needle-unseen-order-{seed}").shuffle(unseen)
    result = SplitResult({"train": train, "validation": val, "test": test, "test_unseen_tools": unseen},
                         held_out_tools=sorted(held), target_held_out=target, n_tools=len(all_names),
                         skipped_tools=sorted(skipped), seed=seed, max_unseen_fraction=max_unseen_fraction)
    (logger.warning if len(held) < target else logger.info)(result.summary())
    return result


class ExtendResult(NamedTuple):
    splits: dict[str, list[dict]]  # the old splits, train grown by the kept rows
    added: int
    dropped_held_out: int  # offered a tool name that only test_unseen_tools has
    dropped_eval_twin: int  # same (query, tool set) as a validation / test / test_unseen_tools row
    held_out_tools: list[str]

    def summary(self) -> str:
        return (f"added {self.added} rows to train; dropped {self.dropped_held_out} offering one of the "
                f"{len(self.held_out_tools)} held-out tool names and {self.dropped_eval_twin} identical to an "
                f"evaluation row")


def extend_train(dataset, rows: Iterable[dict] | PathLike) -> ExtendResult:
    """Add new rows to an existing dataset's ``train`` split without leaking its evaluation splits.

    ``dataset``: a ``DatasetDict`` (or a dataset folder). The held-out names are the tool names offered in
    ``test_unseen_tools`` and in no other split; a new row offering one of them, or repeating a validation / test /
    test_unseen_tools row (same query and tool set), is dropped and counted. The other splits are unchanged, so
    scores stay comparable with models trained on the original dataset.
    """
    if not hasattr(dataset, "items"):
        import datasets

        if not _has_parquet(Path(dataset) / "data"):
            raise ValueError(f"extend_train: {dataset} is not a dataset folder (no data/*.parquet); give a folder "
                             "written by `needle-hf split-data`")
        dataset = datasets.load_dataset(str(dataset))
    old = {name: [dict(r) for r in ds] for name, ds in dataset.items()}
    if "train" not in old:
        raise ValueError(f"extend_train: the dataset has no train split (splits: {', '.join(old) or 'none'})")
    meta = {name: load_rows(rs, strict=True)._meta for name, rs in old.items()}
    names = {name: set().union(*(set(m[0]) for m in ms)) if ms else set() for name, ms in meta.items()}
    seen = set().union(*(v for k, v in names.items() if k != "test_unseen_tools"))
    held = names.get("test_unseen_tools", set()) - seen
    eval_keys = {m[2] for k, ms in meta.items() if k != "train" for m in ms}
    new = load_rows(rows, strict=True)
    kept, n_held, n_twin = [], 0, 0
    for row, m in zip(new, new._meta):
        if held & set(m[0]):
            n_held += 1
        elif m[2] in eval_keys:
            n_twin += 1
        else:
            kept.append(row)
    old["train"] = old["train"] + kept
    return ExtendResult(old, len(kept), n_held, n_twin, sorted(held))


def _columns(rows: Sequence[dict]) -> list[str]:
    cols = list(TEXT_COLUMNS)
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def to_dataset_dict(splits: dict[str, list[dict]]):
    """``{split: rows}`` -> ``datasets.DatasetDict`` with the same columns and features in every split (empty splits
    included). ``query``/``tools``/``answers`` are strings; other columns are inferred (missing values are null)."""
    import datasets

    all_rows = [r for rs in splits.values() for r in rs]
    cols = _columns(all_rows)
    inferred = datasets.Dataset.from_dict({c: [r.get(c) for r in all_rows] for c in cols}).features if all_rows \
        else {}
    features = datasets.Features({
        c: datasets.Value("string") if c in TEXT_COLUMNS or c not in inferred or
        getattr(inferred[c], "dtype", None) == "null" else inferred[c]
        for c in cols
    })
    return datasets.DatasetDict({
        name: datasets.Dataset.from_dict({c: [r.get(c) for r in rs] for c in cols}, features=features)
        for name, rs in splits.items()
    })


def build_dataset_dict(rows: Iterable[dict] | PathLike, seed: int = 0, validation_size: float = 0.05,
                       test_size: float = 0.05, unseen_tool_fraction: float = 0.1,
                       max_unseen_fraction: float = 0.2):
    """Validated rows (or a JSONL path) -> ``DatasetDict`` with train / validation / test / test_unseen_tools.

    * ``test_unseen_tools``: a seeded random choice of ``unseen_tool_fraction`` of the distinct tool names (at least
      one when there are >= 2 names) is held out; every row *offering* one of them (called or as a distractor) goes
      to this split, so those names never appear in train, validation or test. A candidate name is passed over
      (and the next one tried) when holding it out would move more than ``max_unseen_fraction`` of all rows into
      this split: data where one tool is offered everywhere still keeps most of its rows for training.
    * validation / test: ``validation_size`` / ``test_size`` of the remaining rows (at least one each when there
      are >= 3), drawn as whole groups of duplicate ``(query, tools)`` rows so no evaluation row has a twin in
      train; the rest is train. All splits are shuffled with the seed.

    Invalid rows raise :class:`~needle_hf.data.io.DataValidationError` (load with ``load_rows(path, strict=False)``
    first to skip them with a report). Use :func:`split_rows` for the held-out names and counts.
    """
    result = split_rows(rows, seed=seed, validation_size=validation_size, test_size=test_size,
                        unseen_tool_fraction=unseen_tool_fraction, max_unseen_fraction=max_unseen_fraction)
    return to_dataset_dict(result.splits)


def _has_parquet(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def save_dataset(dsd, out_dir: PathLike, overwrite: bool = False, card: bool = True, **card_kwargs: Any) -> Path:
    """Write ``dsd`` as ``out_dir/data/{split}-00000-of-00001.parquet`` + ``out_dir/README.md`` (dataset card whose
    ``configs`` metadata lists the splits), so ``datasets.load_dataset(out_dir)`` gives the same splits back.

    ``card_kwargs`` go to :func:`needle_hf.data.cards.make_dataset_card` (``generator``, ``seed``, ``license``,
    ``repo_id``, ``pretty_name``, ``description``, ...). An existing ``data/*.parquet`` is only replaced with
    ``overwrite=True`` (old split files are removed then, so no stale split survives). Empty splits are not
    written (``load_dataset`` cannot load an empty split); the card lists them.
    """
    out = Path(out_dir)
    data = out / "data"
    old = _has_parquet(data)
    if old and not overwrite:
        raise FileExistsError(f"{data} already holds parquet files ({', '.join(p.name for p in old)}); "
                              f"pass overwrite=True (CLI: --overwrite) or choose another folder")
    data.mkdir(parents=True, exist_ok=True)
    for p in old:
        p.unlink()
    for name, ds in dsd.items():
        if len(ds) == 0:  # datasets cannot load an empty split; the card lists it as empty
            logger.warning("split %r is empty: not written to %s", name, data)
            continue
        ds.to_parquet(str(data / f"{name}-00000-of-00001.parquet"))
    if card:
        from .cards import make_dataset_card

        make_dataset_card(dsd, **card_kwargs).save(str(out / "README.md"))
    return out


# ---------------------------------------------------------------------------------------------- per-tool (spec §7.1)
class PerToolSplit(NamedTuple):
    train: list[dict]
    validation: list[dict]
    test: list[dict]


def per_tool_split(rows: Sequence[dict], val: int = 10, test: int = 10, seed: int = 42) -> PerToolSplit:
    """The reference finetune split (``_per_tool_split``, spec §7.1), returned as ``(train, validation, test)``.

    Rows are grouped by primary tool (first call's name, snake_case; ``"__no_tool__"`` for rows without a call), in
    order of first appearance; each group is shuffled with one shared ``random.Random(seed)``. Per group of n rows:
    n >= val + test (20) -> ``test`` rows to test, ``val`` to validation, the rest to train; n == 1 -> test;
    n == 2 -> 1 test + 1 validation; otherwise test = max(1, n // 3), validation = max(1, (n - test) // 3), rest
    train. If train ends up empty, validation + test are pooled, shuffled with ``random.Random(seed)`` and split
    20% test, 20% validation (at least 1 each), the rest train.
    """
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(primary_tool(row), []).append(row)
    rng = random.Random(seed)
    tr: list[dict] = []
    va: list[dict] = []
    te: list[dict] = []
    for items in groups.values():
        items = list(items)
        rng.shuffle(items)
        n = len(items)
        if n >= val + test:
            te += items[:test]
            va += items[test:test + val]
            tr += items[test + val:]
        elif n == 1:
            te += items
        elif n == 2:
            te += items[:1]
            va += items[1:]
        else:
            nt = max(1, n // 3)
            nv = max(1, (n - nt) // 3)
            te += items[:nt]
            va += items[nt:nt + nv]
            tr += items[nt + nv:]
    if not tr:
        pool = va + te
        random.Random(seed).shuffle(pool)
        n = len(pool)
        nt = max(1, int(n * 0.2))
        nv = max(1, int(n * 0.2))
        te, va, tr = pool[:nt], pool[nt:nt + nv], pool[nt + nv:]
    return PerToolSplit(tr, va, te)


def check_min_examples(rows: Iterable[dict] | PathLike, minimum: int = DEFAULT_MIN_PER_TOOL) -> dict[str, int]:
    """Tools with fewer than ``minimum`` examples, as ``{snake_name: count}`` (fewest first).

    An example of a tool is a valid row whose answers call it (a row calling two tools counts for both); tools that
    are offered but never called are listed with 0. Rows without a call are not a tool and are not listed.
    """
    return validate_rows(rows).under_minimum(minimum)


def primary_counts(rows: Iterable[dict]) -> dict[str, int]:
    """Rows per primary tool (the :func:`per_tool_split` groups), including ``"__no_tool__"``."""
    counts: dict[str, int] = {}
    for row in rows:
        k = primary_tool(row)
        counts[k] = counts.get(k, 0) + 1
    return counts


__all__ = ["SPLITS", "SplitResult", "split_rows", "to_dataset_dict", "build_dataset_dict", "save_dataset",
           "PerToolSplit", "per_tool_split", "check_min_examples", "primary_counts", "NO_TOOL"]
