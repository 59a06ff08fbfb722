"""Dataset cards (README.md with YAML metadata) for Needle tool-calling datasets.

:func:`make_dataset_card` builds a ``huggingface_hub.DatasetCard`` from a ``DatasetDict`` (everything in it is
computed from the data: rows and call types per split, tools, held-out tool names) plus what the data cannot say
(generator, seed, license). Its ``configs`` metadata lists ``data/{split}-*`` so ``load_dataset`` finds the splits,
locally and on the Hub. :func:`save_dataset_card` writes it anywhere, e.g. the published copies in
``dataset_cards/``.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from huggingface_hub import DatasetCard, DatasetCardData

from needle_hf.tools import parse_calls, parse_tools, to_snake_case

from .io import call_type

DEFAULT_TAGS = ("tool-calling", "function-calling", "synthetic", "needle")

COLUMN_DOCS = {
    "query": "the user's request (natural language)",
    "tools": "JSON array (as a string) of the tool schemas offered to the model: "
             "`[{\"name\", \"description\", \"parameters\": {p: {\"type\", \"description\", \"required\"}}}]`",
    "answers": "JSON array (as a string) of the expected calls `[{\"name\", \"arguments\": {...}}]`; "
               "`\"[]\"` means no tool should be called",
    "source": "where the row comes from (generator / template)",
    "model": "model that wrote the row, if any",
    "language": "language of the query",
    "call_type": "none / single / multiple calls",
}

_TEMPLATE = """---
{{ card_data }}
---

# {{ pretty_name }}

{{ description }}

## Usage

```python
from datasets import load_dataset

ds = load_dataset("{{ load_id }}")
row = ds["train"][0]
# tools and answers are JSON strings
import json
tools, calls = json.loads(row["tools"]), json.loads(row["answers"])
```

To train or evaluate a Needle model on it, see the `needle-hf` package (`needle-hf train`, `needle-hf eval`).

## Dataset structure

| column | description |
|---|---|
{% for name, doc in columns %}| `{{ name }}` | {{ doc }} |
{% endfor %}
{% if example %}
Example (train):

```json
{{ example }}
```
{% endif %}
## Splits

| split | rows | no call | single call | multiple calls |
|---|---:|---:|---:|---:|
{% for s in splits %}| {{ s.name }} | {{ s.rows }} | {{ s.none }} | {{ s.single }} | {{ s.multiple }} |
{% endfor %}| **total** | {{ total.rows }} | {{ total.none }} | {{ total.single }} | {{ total.multiple }} |

{% if empty %}Empty splits, not included: {{ empty|join(", ") }}.
{% endif %}{% if unseen %}`test_unseen_tools` holds every row that offers one of the {{ unseen|length }} held-out tool name(s) (called or
offered as a distractor); these names appear in no row of the other splits, so this split measures generalisation
to tools never seen in training: {{ unseen_list }}.
{% endif %}
## Tools

{{ n_tools }} distinct tool names (snake_case) are offered; rows per called tool, all splits together{% if more_tools %} (top {{ tools|length }}){% endif %}:

| tool | rows calling it | rows offering it |
|---|---:|---:|
{% for t in tools %}| `{{ t.name }}` | {{ t.called }} | {{ t.offered }} |
{% endfor %}
## Generation

| | |
|---|---|
{% for k, v in generation %}| {{ k }} | {{ v }} |
{% endfor %}
Validation: every row passed `needle-hf validate-data` (tools parse, answers name offered tools, required arguments
present, argument types match).

## License

{{ license }}
"""


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def _split_stats(ds) -> dict[str, Any]:
    types = Counter(call_type(parse_calls(a)) for a in ds["answers"])
    return {"rows": len(ds), "none": types.get("none", 0), "single": types.get("single", 0),
            "multiple": types.get("multiple", 0)}


def _tool_sets(ds) -> tuple[Counter, Counter, set[str]]:
    called, offered, names = Counter(), Counter(), set()
    for tools, answers in zip(ds["tools"], ds["answers"]):
        offered_names = {t.snake_name for t in parse_tools(tools)}
        offered.update(offered_names)
        names |= offered_names
        called.update({to_snake_case(c["name"]) for c in parse_calls(answers)})
    return called, offered, names


def dataset_card_data(dsd, *, license: str = "mit", language: str | Sequence[str] | None = None,
                      pretty_name: str | None = None, tags: Sequence[str] = DEFAULT_TAGS,
                      **extra: Any) -> DatasetCardData:
    """YAML metadata: license, task, tags, size, ``configs`` (one data_files entry per split) and ``dataset_info``
    (features and rows per split)."""
    from datasets.info import DatasetInfo
    from datasets.splits import SplitDict, SplitInfo

    names = [n for n in dsd if len(dsd[n])]  # an empty split cannot be loaded (datasets: "corresponds to no data")
    total = sum(len(d) for d in dsd.values())
    if language is None and names and "language" in dsd[names[0]].column_names:
        langs = sorted({x for d in dsd.values() for x in d["language"] if isinstance(x, str) and x})
        language = langs or None
    splits = SplitDict()
    for n in names:
        splits.add(SplitInfo(name=n, num_bytes=int(dsd[n].data.nbytes), num_examples=len(dsd[n])))
    info = DatasetInfo(features=dsd[names[0]].features, splits=splits)._to_yaml_dict() if names else None
    return DatasetCardData(
        license=license,
        language=language,
        pretty_name=pretty_name,
        task_categories=["text-generation"],
        tags=list(tags),
        size_categories=[size_category(total)],
        configs=[{"config_name": "default",
                  "data_files": [{"split": n, "path": f"data/{n}-*"} for n in names]}],
        dataset_info=info,
        **extra,
    )


def make_dataset_card(dsd, *, repo_id: str | None = None, generator: str | None = None, seed: int | None = None,
                      license: str = "mit", pretty_name: str | None = None, description: str | None = None,
                      language: str | Sequence[str] | None = None, generation: Mapping[str, Any] | None = None,
                      tags: Sequence[str] = DEFAULT_TAGS, top_tools: int = 50) -> DatasetCard:
    """Dataset card for a Needle ``DatasetDict``: metadata (:func:`dataset_card_data`) + a body with usage, columns,
    an example row, rows and call types per split, the held-out (unseen) tool names, per-tool counts, and how the
    data was generated (``generator``, ``seed`` and any ``generation`` parameters)."""
    pretty_name = pretty_name or (repo_id.split("/")[-1] if repo_id else "Needle tool-calling dataset")
    card_data = dataset_card_data(dsd, license=license, language=language, pretty_name=pretty_name, tags=tags)
    names = [n for n in dsd if len(dsd[n])]
    empty = [n for n in dsd if not len(dsd[n])]
    split_rows = [{"name": n, **_split_stats(dsd[n])} for n in names]
    total = {k: sum(s[k] for s in split_rows) for k in ("rows", "none", "single", "multiple")}

    called, offered, seen_elsewhere = Counter(), Counter(), set()
    unseen_names: set[str] = set()
    for n in names:
        c, o, nm = _tool_sets(dsd[n])
        called.update(c)
        offered.update(o)
        if n == "test_unseen_tools":
            unseen_names = nm
        else:
            seen_elsewhere |= nm
    held_out = sorted(unseen_names - seen_elsewhere)
    all_names = sorted(set(offered) | set(called), key=lambda x: (-called.get(x, 0), -offered.get(x, 0), x))
    tools = [{"name": x, "called": called.get(x, 0), "offered": offered.get(x, 0)} for x in all_names[:top_tools]]

    cols = dsd[names[0]].column_names if names else ["query", "tools", "answers"]
    example = None
    first = next((dsd[n] for n in names if len(dsd[n])), None)
    if first is not None:
        row = first[0]
        example = json.dumps({k: row[k] for k in cols}, ensure_ascii=False, indent=2)
        if len(example) > 2500:
            example = example[:2500] + "\n..."

    gen: dict[str, Any] = {}
    if generator:
        gen["generator"] = f"`{generator}`"
    if seed is not None:
        gen["seed"] = seed
    for k, v in (generation or {}).items():
        gen[k] = v if isinstance(v, (int, float)) else f"`{v}`"
    gen["rows"] = total["rows"]

    if description is None:
        description = ("Synthetic tool-calling data for [Needle](https://huggingface.co/Cactus-Compute/needle), the "
                       "26M-parameter Simple Attention Network that maps a request plus a list of tools to JSON tool "
                       "calls. Each row is a query, the tools offered (JSON) and the expected calls (JSON).")
    license_text = {"mit": "MIT", "apache-2.0": "Apache 2.0"}.get(license, license)
    return DatasetCard.from_template(
        card_data,
        template_str=_TEMPLATE,
        pretty_name=pretty_name,
        description=description,
        load_id=repo_id or "path/to/this/folder",
        columns=[(c, COLUMN_DOCS.get(c, "")) for c in cols],
        example=example,
        splits=split_rows,
        empty=empty,
        total=total,
        unseen=held_out,
        unseen_list=", ".join(f"`{x}`" for x in held_out),
        n_tools=len(all_names),
        tools=tools,
        more_tools=len(all_names) > len(tools),
        generation=list(gen.items()),
        license=f"{license_text}." if license_text else "",
    )


def save_dataset_card(dsd, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`make_dataset_card` to ``path`` (a README.md, or a copy such as
    ``dataset_cards/needle-synthetic-offline.md``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_dataset_card(dsd, **kwargs).save(str(path))
    return path


__all__ = ["DEFAULT_TAGS", "COLUMN_DOCS", "size_category", "dataset_card_data", "make_dataset_card",
           "save_dataset_card"]
