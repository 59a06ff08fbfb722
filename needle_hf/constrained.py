"""Grammar-constrained decoding (llguidance) for Needle: re-exports `needle_hf.modeling.constrained`.

The implementation lives in `modeling/constrained.py` because it also ships as Hub remote code.
"""
from .modeling.constrained import (  # noqa: F401
    COPY_FORMATS,
    JSON_COMPILE_OPTIONS,
    NeedleGrammarProcessor,
    answer_grammar,
    answer_json_schema,
    answer_lark,
    build_logits_processor,
    copy_source,
    get_ll_tokenizer,
    param_json_schema,
    takes_codes,
    takes_dates,
)
from .modeling.constrained import __all__  # noqa: F401
