"""Tool-call accuracy for Needle-style tool-calling models, as an `evaluate` metric.

A thin wrapper: every number comes from `needle_hf.evaluation.metrics.score_tool_calls`, so
`evaluate.load(<this folder>)`, the plain function and the Trainer's `compute_metrics` always agree.
Load it offline with `evaluate.load(needle_hf.evaluation.metrics.metric_path())`.
"""

import datasets
import evaluate

from needle_hf.evaluation.metrics import score_tool_calls

_CITATION = """\
@misc{needle-hf,
  title  = {needle-hf: the Needle tool-calling model as a Hugging Face ecosystem package},
}
"""

_DESCRIPTION = """\
Scores generated tool calls (JSON arrays of {"name", "arguments"} objects) against reference answers:
order-insensitive multiset exact match, JSON parse rate, tool-name and whole-call micro precision/recall/F1,
argument and value accuracy, hallucinated/missing parameter rates and no-call precision/recall, with a breakdown
by call type (no_call, single, multiple, parallel) and, given the offered tools, by number of tools.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): model outputs, each a JSON array of calls. Stripped first; "" and anything that is
        not a list of {"name": str, "arguments": object} is unparseable (zero predicted calls). One bare call object
        is accepted as a one-call list.
    references (`list` of `str`): reference answers, JSON arrays of calls; "[]" means no call.
    tools (`list` of `str`, *optional*): each example's offered tools as a JSON array of tool schemas. A compute()
        keyword in the default config; a batched input (add_batch(tools=...)) with config_name="with_tools".
    breakdown (`bool`, defaults to True): add "by_call_type" and (with tools) "by_num_tools" sub-dicts.
Returns:
    exact_match, json_parse_rate, name_precision, name_recall, name_f1, call_precision, call_recall, call_f1,
    argument_accuracy, value_accuracy, hallucinated_param_rate, missing_param_rate, no_call_precision,
    no_call_recall, no_call_f1 (floats in [0, 1], 4 dp) and counts n, n_unparseable, n_pred_calls, n_ref_calls,
    n_pred_no_call, n_ref_no_call, n_name_matched, n_matched_keys, n_checked_pred_keys, n_matched_ref_keys (ints).
Examples:
    >>> metric = evaluate.load(metric_path())
    >>> r = metric.compute(predictions=['[{"name":"set_timer","arguments":{"minutes":5}}]'],
    ...                    references=['[{"name":"set_timer","arguments":{"minutes":5.0}}]'])
    >>> r["exact_match"], r["call_f1"]
    (1.0, 1.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ToolCallAccuracy(evaluate.Metric):
    def _info(self):
        features = {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
        if self.config_name == "with_tools":
            features["tools"] = datasets.Value("string")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(features),
            reference_urls=["https://gorilla.cs.berkeley.edu/leaderboard.html"],
        )

    def _compute(self, predictions, references, tools=None, breakdown=True):
        return score_tool_calls(predictions, references, tools=tools, breakdown=breakdown)
