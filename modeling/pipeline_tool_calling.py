"""The "tool-calling" pipeline: a request + a tool list in, validated tool calls out.

Self-contained Hub remote code (torch/transformers + sibling files). Flow (design.md, data flow 2):
tools (any format) -> canonical Tools -> compact JSON with snake_case names -> encoder ids
[query, <tools>, tools] -> generate (grammar-constrained by default) -> parse -> validate -> original names.
"""
from __future__ import annotations

import logging
from typing import Any

import torch
from transformers import LogitsProcessorList, Pipeline

from .constrained import NeedleGrammarProcessor
from .tools import CallParseError, parse_calls, parse_tools, restore_names, tool_to_text, tools_to_text, validate_calls

logger = logging.getLogger(__name__)


def build_encoder_ids(tokenizer, query: str, tools_text: str, max_length: int = 1024) -> tuple[list[int], int]:
    """Encoder input `query[:max-2] + [<tools>] + tools[:max - len(query part) - 1]` (spec §2.3).

    Query and tools are tokenised separately with no special tokens. Returns `(ids, n_cut)`, where n_cut counts
    the tokens dropped by truncation; `len(ids) <= max_length` always.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    tools_id = tokenizer.convert_tokens_to_ids("<tools>")
    if tools_id is None or tools_id == tokenizer.unk_token_id:
        raise ValueError("the tokenizer has no <tools> token: it is not a Needle tokenizer")
    # verbose=False: no "longer than the maximum" notice; the cut is made (and reported) here
    q = tokenizer(query, add_special_tokens=False, verbose=False)["input_ids"]
    t = tokenizer(tools_text, add_special_tokens=False, verbose=False)["input_ids"]
    q_kept = q[: max_length - 2]
    t_kept = t[: max_length - len(q_kept) - 1]
    return q_kept + [tools_id] + t_kept, (len(q) - len(q_kept)) + (len(t) - len(t_kept))


def retrieve_tools(model, tokenizer, query: str, tools, k: int | None = None, max_length: int = 256):
    """Rank tools for a query with the contrastive head (cosine similarity); returns [(Tool, score)], best first."""
    tools = parse_tools(tools)
    if not tools:
        return []
    ensure_ascii = bool(getattr(model.config, "ensure_ascii_json", False))
    texts = [query] + [tool_to_text(t, ensure_ascii=ensure_ascii) for t in tools]
    ids = [tokenizer(x, add_special_tokens=False, verbose=False)["input_ids"][:max_length] or [tokenizer.unk_token_id]
           for x in texts]
    width = max(len(x) for x in ids)
    pad = model.config.pad_token_id
    batch = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=model.device)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=model.device)
    with torch.no_grad():
        emb = model.encode_contrastive(batch, mask)
    scores = (emb[1:] @ emb[0]).tolist()
    ranked = sorted(zip(tools, scores), key=lambda pair: -pair[1])
    return ranked[:k] if k else ranked


class NoCallBias:
    """Adds ``config.no_call_bias`` to the logit of the ``[]`` token at the step right after ``<tool_call>``: the one
    step where the model decides between no call and a call. A decision threshold fitted on validation data
    (``needle_hf.evaluation.calibration``); 0 leaves decoding unchanged."""

    def __init__(self, bias: float, no_call_token_id: int, tool_call_token_id: int = 4):
        self.bias, self.no_call_token_id, self.tool_call_token_id = float(bias), no_call_token_id, tool_call_token_id

    @classmethod
    def for_model(cls, model, tokenizer) -> "NoCallBias | None":
        bias = float(getattr(model.config, "no_call_bias", 0.0) or 0.0)
        if not bias:
            return None
        token = cls.no_call_token_id(tokenizer)
        if token is None:
            logger.warning("config.no_call_bias is set but '[]' is not one token in this tokenizer; ignoring it")
            return None
        return cls(bias, token, getattr(model.config, "tool_call_token_id", 4))

    @staticmethod
    def no_call_token_id(tokenizer) -> "int | None":
        """Id of the single token `[]`; None when the tokenizer splits it (the decision then spans two tokens, and
        '[' also starts a call: no clean threshold)."""
        ids = tokenizer("[]", add_special_tokens=False)["input_ids"]
        return ids[0] if len(ids) == 1 else None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        at_decision = input_ids[:, -1] == self.tool_call_token_id
        if bool(at_decision.any()):
            scores = scores.clone()
            scores[at_decision, self.no_call_token_id] += self.bias
        return scores


class ToolCallingPipeline(Pipeline):
    """`pipe(query, tools=...)` -> `[{"name": ..., "arguments": {...}}, ...]`.

    Accepts one query or a list of queries; `tools` is one tool list for all queries or one list per query, in any
    format `parse_tools` accepts. Options: `constrained` (default True), `copy_strings` (copy mode of constrained
    decoding: free-text string arguments are words copied from the request, or ISO dates/times / short codes where
    the parameter takes them; default `config.copy_strings`), `max_new_tokens`, `return_text`, `top_k_tools` (keep the k tools the retrieval head ranks
    best before decoding), `batch_size`.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def _sanitize_parameters(self, tools=None, constrained=None, copy_strings=None, max_new_tokens=None,
                             return_text=None, top_k_tools=None, streamer=None, **generate_kwargs):
        if top_k_tools is not None and (isinstance(top_k_tools, bool) or not isinstance(top_k_tools, int)
                                        or top_k_tools < 1):
            raise ValueError(f"top_k_tools must be a whole number of at least 1 (or None: keep every tool), got "
                             f"{top_k_tools!r}")
        if copy_strings and constrained is False:
            raise ValueError("copy mode (--copy-strings / copy_strings=True) is part of constrained decoding; drop it "
                             "or drop unconstrained decoding (--no-constrained / constrained=False)")
        preprocess = {k: v for k, v in dict(tools=tools, top_k_tools=top_k_tools, constrained=constrained,
                                            copy_strings=copy_strings).items() if v is not None}
        forward = dict(generate_kwargs)
        if max_new_tokens is not None:
            forward["max_new_tokens"] = max_new_tokens
        if streamer is not None:
            forward["streamer"] = streamer
        postprocess = {"return_text": return_text} if return_text is not None else {}
        return preprocess, forward, postprocess

    def __call__(self, inputs, tools=None, batch_size: int | None = None, **kwargs):
        single = isinstance(inputs, str)
        try:
            queries = [inputs] if single else list(inputs)
        except TypeError:
            raise ValueError(f"tool-calling takes a request string or a list of them, got {type(inputs).__name__}"
                             ) from None
        if not queries:
            return []
        if tools is None:
            raise ValueError("tool-calling needs `tools=`: a list of tool schemas (or callables) to choose from.")
        per_query = (not single and isinstance(tools, (list, tuple)) and len(tools) == len(queries)
                     and all(isinstance(t, (list, tuple)) for t in tools))
        tool_lists = [parse_tools(t) for t in tools] if per_query else [parse_tools(tools)] * len(queries)
        pre, fwd, post = self._sanitize_parameters(**kwargs)
        pre.pop("tools", None)
        size = batch_size or self._batch_size or 8
        results = []
        for start in range(0, len(queries), size):
            items = [{"query": q, "tools": t} for q, t in zip(queries[start:start + size], tool_lists[start:start + size])]
            model_inputs = self.preprocess(items, **pre)
            outputs = self.forward(model_inputs, **fwd)
            results.extend(self.postprocess(outputs, **post))
        return results[0] if single else results

    def preprocess(self, items: list[dict], top_k_tools: int | None = None, constrained: bool = True,
                   copy_strings: bool | None = None):
        config = self.model.config
        if copy_strings is None:
            copy_strings = bool(getattr(config, "copy_strings", False))
        ensure_ascii = bool(getattr(config, "ensure_ascii_json", False))
        rows, id_rows = [], []
        for i, item in enumerate(items):
            query, tools = item["query"], parse_tools(item["tools"])
            if not isinstance(query, str):
                raise ValueError(f"query {i} is a {type(query).__name__}: give the request as a non-empty string.")
            if not query.strip():
                raise ValueError(f"query {i} is empty: give the request as a non-empty string.")
            if top_k_tools and len(tools) > top_k_tools:
                tools = [t for t, _ in retrieve_tools(self.model, self.tokenizer, query, tools, k=top_k_tools)]
            rows.append({"query": query, "tools": tools})
            if not tools:
                continue  # nothing to call: answered with [] without running the model
            ids, cut = build_encoder_ids(self.tokenizer, query, tools_to_text(tools, ensure_ascii=ensure_ascii),
                                         max_length=getattr(config, "max_encoder_length", 1024))
            if cut:
                logger.warning("query %d: the request and tools are %d tokens too long for the encoder (max %d); "
                               "the end was cut off. Pass fewer tools or use top_k_tools=.", i, cut,
                               getattr(config, "max_encoder_length", 1024))
            id_rows.append(ids)
            rows[-1]["row"] = len(id_rows) - 1
        pad = config.pad_token_id
        width = max((len(x) for x in id_rows), default=0)
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in id_rows], dtype=torch.long)
        attention_mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in id_rows], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "rows": rows, "constrained": constrained,
                "copy_strings": copy_strings}

    def _forward(self, model_inputs: dict, **generate_kwargs):
        rows = model_inputs["rows"]
        run_rows = [r for r in rows if "row" in r]
        if not run_rows:
            return {"rows": rows, "sequences": None, "closed_early": None}
        kwargs = {"max_new_tokens": min(256, getattr(self.model.config, "max_decoder_length", 512)),
                  "do_sample": False, "num_beams": 1}
        kwargs.update(generate_kwargs)
        bias = NoCallBias.for_model(self.model, self.tokenizer)
        if bias is not None:  # before the grammar: it shifts the call / no-call decision, the grammar only masks
            kwargs["logits_processor"] = LogitsProcessorList([bias, *kwargs.get("logits_processor", [])])
        if model_inputs["constrained"]:
            copy_from = [r["query"] for r in run_rows] if model_inputs.get("copy_strings") else None
            processor = NeedleGrammarProcessor(self.tokenizer, [r["tools"] for r in run_rows], copy_from=copy_from,
                                               tool_call_token_id=getattr(self.model.config, "tool_call_token_id", 4),
                                               eos_token_id=self.model.config.eos_token_id,
                                               ensure_ascii=bool(getattr(self.model.config, "ensure_ascii_json", False)),
                                               max_new_tokens=kwargs["max_new_tokens"])
            kwargs["logits_processor"] = LogitsProcessorList([processor, *kwargs.get("logits_processor", [])])
        sequences = self.model.generate(input_ids=model_inputs["input_ids"],
                                        attention_mask=model_inputs["attention_mask"], **kwargs)
        closed_early = None
        if model_inputs["constrained"] and kwargs.get("num_beams", 1) == 1 and sequences.shape[0] == len(run_rows):
            closed_early = processor.closed_early()  # one grammar row per request (greedy / one sample each)
        return {"rows": rows, "sequences": sequences, "closed_early": closed_early,
                "max_new_tokens": kwargs["max_new_tokens"]}

    def postprocess(self, outputs: dict, return_text: bool = False) -> list[Any]:
        results = []
        for row in outputs["rows"]:
            text, calls, errors = "[]", [], []
            if "row" in row:
                text = self.tokenizer.decode(outputs["sequences"][row["row"], 1:], skip_special_tokens=True).strip()
                try:
                    parsed = parse_calls(text)
                    calls, errors = validate_calls(parsed, row["tools"], coerce=True)
                    if errors:  # unconstrained output can be invalid: keep only the calls that validate
                        valid_only, _ = validate_calls([c for c in calls if not _call_errors(c, row["tools"])],
                                                       row["tools"], coerce=True)
                        calls = valid_only
                except CallParseError as err:
                    errors = [f"unparseable output: {err}"]
                if errors:
                    logger.warning("query %r: dropped invalid model output: %s", row["query"][:60], "; ".join(errors))
                if outputs.get("closed_early") and outputs["closed_early"][row["row"]]:
                    logger.warning("query %r: the answer was closed early to fit max_new_tokens=%d, so it may be "
                                   "incomplete; raise max_new_tokens", row["query"][:60], outputs["max_new_tokens"])
                calls = restore_names(calls, row["tools"])
            results.append({"calls": calls, "text": text, "errors": errors} if return_text else calls)
        return results


def _call_errors(call: dict, tools) -> list[str]:
    return validate_calls([call], tools, coerce=True)[1]


__all__ = ["ToolCallingPipeline", "build_encoder_ids", "retrieve_tools"]
