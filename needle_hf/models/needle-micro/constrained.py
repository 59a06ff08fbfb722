"""Grammar-constrained decoding for Needle: only valid tool calls for the given tools can be generated.

Self-contained Hub remote code: stdlib, torch and transformers at import time; `llguidance` is imported lazily
inside functions, so this module imports (and `answer_json_schema` works) without it.

What the decoder must produce is `<tool_call>` (id 4), then the compact JSON answer, then EOS (id 1):

    <tool_call>[{"name":"get_weather","arguments":{"location":"Zürich"}}]</s>

`answer_json_schema(tools)` is the JSON schema of the answer (an array of calls, `anyOf` over the tools), for
documentation and other engines. The processor compiles `answer_lark(tools)`, an llguidance Lark grammar
`start: <[4]> answer` that accepts the same language (checked against llguidance's own compilation of the schema in
the tests) and also rules out what `validate_calls` would reject: the `<tool_call>` special token is part of the
grammar (no forcing logic, the matcher is the single source of truth, so the same code serves greedy, sampling and
beams), and EOS is only allowed once the JSON is complete (llguidance allows the tokenizer's EOS exactly in accepting
states; after the closing `]` it allows nothing but EOS). `NeedleGrammarProcessor` is the `LogitsProcessor`.

Copy mode (`copy_from=<the request>`) also requires free-text string arguments to be copied from the request (runs of
whole words and punctuation, via llguidance's `substring_chunks`) or to be an ISO date/time where the parameter takes
dates, or a short code where it takes codes (`COPY_FORMATS`, `takes_dates`, `takes_codes`): a small model's garbled
copies ("Ria" for "Rania") become impossible. The grammar is then one per request instead of one per tool list
(~1.6 ms to compile).

Facts verified against llguidance 1.9.1 (tests/test_constrained.py):
- Its JSON-schema compiler generates object properties in schema order; optional properties may be skipped,
  required ones may not, unknown ones are rejected. Our grammar does the same: arguments follow the tool's parameter
  order, which is therefore the order the training answers must use (the offline generator does).
- With `whitespace_flexible: False, item_separator ",", key_separator ":"` it accepts only compact JSON, identical
  to `json.dumps(..., separators=(",", ":"))`, the training serialization; our grammar has no whitespace either.
- Its JSON strings accept raw UTF-8 (byte-level tokens that split a character are fine) but reject a raw DEL (U+007F)
  that json.dumps writes raw, and reject `\\uXXXX` escapes of printable characters unless
  `json_allow_general_unicode_escapes` is set; its numbers include `1e999` (inf for Python). Our grammar allows DEL,
  allows `\\uXXXX` (surrogate pairs, no lone surrogates) only with `ensure_ascii=True` (Needle v1 models), and only
  accepts numbers that are finite in Python.
- The one thing a context-free grammar cannot rule out: a repeated key inside a free-form `object` argument.
- A matcher that consumed an invalid token stays in the error state forever (`reset()` does not clear it), and
  consuming anything after EOS is an error: finished rows are therefore tracked here and never fed again.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
import weakref
from collections import OrderedDict
from typing import Any, Iterable, Sequence

import torch
from transformers import LogitsProcessor

from .tools import Param, Tool, parse_tools

logger = logging.getLogger(__name__)

TOOL_CALL_TOKEN_ID = 4
EOS_TOKEN_ID = 1

# Options for llguidance's JSON-schema compiler that reproduce the training serialization (compact JSON as written by
# json.dumps(..., separators=(",", ":"))): use them with `answer_json_schema` to constrain with llguidance directly.
JSON_COMPILE_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
}

_SIMPLE_TYPES = {"string", "integer", "number", "boolean", "array", "object"}


# --------------------------------------------------------------------------------------------------------------------
# JSON schema / grammar of the answer
# --------------------------------------------------------------------------------------------------------------------
def _matches_type(value: Any, type_: str | None) -> bool:
    if type_ is None:
        return True
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "object":
        return isinstance(value, dict)
    return True


def _type_schema(type_: str | None, items: str | None = None) -> dict:
    if type_ not in _SIMPLE_TYPES:
        return {}  # unknown / missing type: any JSON value
    schema: dict[str, Any] = {"type": type_}
    if type_ == "array" and items in _SIMPLE_TYPES:
        schema["items"] = _type_schema(items)
    return schema


def param_json_schema(param: Param, nullable: bool = False) -> dict:
    """JSON schema of one argument value: its enum, or its type (array items typed when known).

    `nullable` also allows `null` (what `validate_calls` accepts for an optional argument).
    """
    if param.enum:
        values = _enum_values(param)
        if nullable and None not in values:
            values.append(None)
        return {"enum": values}
    schema = _type_schema(param.type, param.items)
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def answer_json_schema(tools: Sequence[Tool] | Any, nullable_optional: bool = True) -> dict:
    """JSON schema of a whole answer: an array (possibly empty) of calls to the given tools.

    Each call is `{"name": <snake name const>, "arguments": {...}}` (properties in that order); `arguments` allows only
    the tool's parameters, in the tool's parameter order, with their types/enums, and requires the required ones
    (`additionalProperties: false`). Optional arguments may be `null` unless `nullable_optional=False` (validate_calls
    accepts null for them). `tools` is a list of `Tool` or anything `parse_tools` accepts.
    """
    tools = _as_tools(tools)
    variants = []
    for t in tools:
        props = {p.name: param_json_schema(p, nullable=nullable_optional and not p.required) for p in t.parameters}
        arguments = {
            "type": "object",
            "properties": props,
            "required": [p.name for p in t.parameters if p.required],
            "additionalProperties": False,
        }
        variants.append({
            "type": "object",
            "properties": {"name": {"const": t.snake_name}, "arguments": arguments},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        })
    if not variants:
        return {"type": "array", "maxItems": 0}
    items = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {"type": "array", "items": items}


# Terminals of the Lark grammar (Rust regex syntax, as llguidance reads it).
_INT_RE = r"-?(0|[1-9][0-9]*)"
# JSON numbers whose Python value is finite: integers (Python ints never overflow), decimals below 1e16 (Python's
# repr switches to exponent notation there), and one-digit mantissas with an exponent of at most 307 (as repr
# writes them: 1e-05, -2.5e+300). `json.loads("1e999")` would be inf, which validate_calls rejects.
_NUMBER_RE = "|".join([
    _INT_RE,
    r"-?(0|[1-9][0-9]{0,15})\.[0-9]+",
    r"-?[0-9](\.[0-9]+)?[eE]-[0-9]+",
    r"-?[0-9](\.[0-9]+)?[eE]\+?0*([0-9]{1,2}|[12][0-9]{2}|30[0-7])",
])
# String escapes json.dumps writes with ensure_ascii=False (plus `\/`, valid JSON) ...
_ESCAPES = r'\\["\\\/bfnrt]|\\u00[01][0-9a-fA-F]'  # `\/`: a slash, escaped for Lark's /regex/ syntax
# ... and with ensure_ascii=True: `\uXXXX` of any character, a surrogate pair for characters beyond the BMP.
_ESCAPES_ASCII = _ESCAPES + (r"|\\u([0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}"
                             r"|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})")


def _string_re(ensure_ascii: bool) -> str:
    # Any character but `"`, `\` and the C0 controls (which JSON requires escaped) may appear raw, as UTF-8.
    return r'"([^"\\\x00-\x1f]|' + (_ESCAPES_ASCII if ensure_ascii else _ESCAPES) + r')*"'


_FREE_JSON_RULES = """\
json_value: json_object | json_array | STRING | NUMBER | "true" | "false" | "null"
json_object: "{" (STRING ":" json_value ("," STRING ":" json_value)*)? "}"
json_array: "[" (json_value ("," json_value)*)? "]"
"""


def _lit(text: str) -> str:
    """A Lark string literal matching exactly `text`."""
    return json.dumps(text, ensure_ascii=True)


def _dump(value: Any, ensure_ascii: bool) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii)


def _enum_values(param: Param) -> list:
    values = list(param.enum)
    typed = [v for v in values if v is None or _matches_type(v, param.type if param.type in _SIMPLE_TYPES else None)]
    return typed or values  # an enum whose values all disagree with the declared type keeps them all


def _value_expr(type_: str | None, items: str | None = None, string: str = "STRING") -> str:
    """Lark expression of a JSON value of a parameter type (free-form JSON for object / untyped array / unknown).

    `string` is the expression for typed string values (a `_copy_rule` in copy mode)."""
    if type_ == "string":
        return string
    if type_ == "integer":
        return "INT"
    if type_ == "number":
        return "NUMBER"
    if type_ == "boolean":
        return '("true" | "false")'
    if type_ == "object":
        return "json_object"
    if type_ == "array":
        if items in _SIMPLE_TYPES:
            item = _value_expr(items, string=string)
            return f'("[" ({item} ("," {item})*)? "]")'
        return "json_array"
    return "json_value"


def answer_lark(
    tools: Sequence[Tool] | Any,
    tool_call_token_id: int | None = TOOL_CALL_TOKEN_ID,
    *,
    ensure_ascii: bool = False,
    nullable_optional: bool = True,
    copy_from: str | None = None,
) -> str:
    """The Lark grammar (llguidance dialect) of `<tool_call>` + the compact JSON answer for `tools`.

    It accepts the same calls as `answer_json_schema` compiled by llguidance with compact separators (tool names as
    constants, arguments in parameter order, optional ones skippable, typed values, enums, no other keys, no
    whitespace), with three differences that keep every accepted answer valid for `validate_calls`: numbers must
    be finite as Python floats (no `1e999`), a raw DEL character is allowed in strings (llguidance's JSON string
    rejects it although json.dumps writes it), and the string escapes are those json.dumps writes (see
    `answer_grammar`). A grammar is compiled once per tool list (1-3 ms) and cached.

    `copy_from` (copy mode, the request text): free-text string arguments (typed `string`, no enum; also the items
    of string arrays) must be a run of whole words and punctuation copied from that text (`_copy_chunks`) holding a
    letter, digit or non-ASCII character, or one of the normalised forms in `COPY_FORMATS`: ISO dates and times for
    parameters that take them (`takes_dates`), 2-3 letter codes for parameters that take codes (`takes_codes`); see
    `copy_source` for when the text cannot be used (the grammar is then the ordinary one).
    """
    tools = _as_tools(tools)
    source = copy_source(copy_from) if copy_from is not None else None
    copy_forms = set()  # (takes dates, takes codes) of the free-text parameters: one copy rule each
    lines = []
    start = f"<[{int(tool_call_token_id)}]> answer" if tool_call_token_id is not None else "answer"
    lines.append(f"start: {start}")
    if not tools:
        lines.append('answer: "[" "]"')
    else:
        lines.append('answer: "[" (call ("," call)*)? "]"')
        lines.append("call: " + " | ".join(f"call_{i}" for i in range(len(tools))))
    body = "\n".join(lines) + "\n"
    rules = []
    for i, t in enumerate(tools):
        head = _lit('{"name":' + _dump(t.snake_name, ensure_ascii) + ',"arguments":{')
        params = t.parameters
        n = len(params)
        if n == 0:
            rules.append(f'call_{i}: {head} "}}}}"')
            continue
        optional = [not p.required for p in params]
        for j, p in enumerate(params):
            if p.enum:
                alts = [_lit(_dump(v, ensure_ascii)) for v in _enum_values(p)]
            else:
                string = "STRING"
                if source is not None and "string" in (p.type, p.items):  # free-text strings or string arrays
                    forms = (takes_dates(t, p), takes_codes(t, p))
                    copy_forms.add(forms)
                    string = _copy_rule(*forms)
                alts = [_value_expr(p.type, p.items, string=string)]
            if nullable_optional and optional[j] and '"null"' not in alts:
                alts.append('"null"')
            key = _lit(_dump(p.name, ensure_ascii) + ":")
            rules.append(f"t{i}_p{j}: {key} ({' | '.join(alts)})")
        # t{i}_r{j}: the parameters j.. after at least one was written (each preceded by ",");
        # t{i}_g{j}: the first written parameter is j or a later one.
        for j in range(1, n):
            item = f'"," t{i}_p{j}'
            item = f"({item})?" if optional[j] else item
            rest = f" t{i}_r{j + 1}" if j + 1 < n else ""
            rules.append(f"t{i}_r{j}: {item}{rest}")
        for j in range(n):
            alts = [f"t{i}_p{j}" + (f" t{i}_r{j + 1}" if j + 1 < n else "")]
            if optional[j] and j + 1 < n:
                alts.append(f"t{i}_g{j + 1}")
            rules.append(f"t{i}_g{j}: " + " | ".join(alts))
        args = f"t{i}_g0" + ("?" if all(optional) else "")
        rules.append(f'call_{i}: {head} {args} "}}}}"')
    body += "\n".join(rules) + "\n"
    body += _FREE_JSON_RULES
    body += f"STRING: /{_string_re(ensure_ascii)}/\nINT: /{_INT_RE}/\nNUMBER: /{_NUMBER_RE}/\n"
    if source is not None:
        # chunks as they appear inside a JSON string: json.dumps escapes (\", \\, \n, \uXXXX for ensure_ascii);
        # `& /(punctuation)*(letter...).*/`: a copy holds a letter, digit or non-ASCII character, so it is never
        # empty, bare punctuation or whitespace (no generated answer is; the model wrote "" to dodge a quoted
        # message, "," for a date); read on the escaped text, where the "n" of \n is no letter
        chunks = [json.dumps(c, ensure_ascii=ensure_ascii)[1:-1] for c in _copy_chunks(source)]
        body += (f"COPIED: %regex {json.dumps({'substring_chunks': chunks}, ensure_ascii=False)}"
                 f" & /({_ESCAPED_PUNCTUATION})*({_ESCAPED_LETTER}).*/\n")
        dated = "|".join(v for k, v in COPY_FORMATS.items() if k != CODE_FORMAT)
        body += f"DATED: /{dated}/\nCODE: /{COPY_FORMATS[CODE_FORMAT]}/\n"
        for dates, codes in sorted(copy_forms):
            alts = " | ".join(["COPIED"] + ["DATED"] * dates + ["CODE"] * codes)
            body += f'{_copy_rule(dates, codes)}: "\\"" ({alts}) "\\""\n'
    return body


def _copy_rule(dates: bool, codes: bool) -> str:
    """Name of the copy-mode rule of a free-text string that may also be a date/time (`dates`) or a code (`codes`)."""
    return "copy" + "_dated" * dates + "_code" * codes


# one character of a JSON string body as json.dumps writes it: ASCII space / punctuation / control character (raw,
# or escaped: \" \\ \n \u001f ...), versus a letter, digit or non-ASCII character (raw, or \u00e9 / surrogates);
# no "/" in these (json.dumps does not escape it, and it would end the Lark /regex/)
_ESCAPED_PUNCTUATION = r'[\x20-\x21\x23-\x2f\x3a-\x40\x5b\x5d-\x60\x7b-\x7f]|\\["\\bfnrt]|\\u00[0-7][0-9a-fA-F]'
_ESCAPED_LETTER = (r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"
                   r"|\\u(00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})")


# Copy mode: normalised values a tool may need that are not words of the request (the only kinds the offline
# generator writes; measured on its train split, 92.6% of free-text string values are word spans of the request and
# the other 7.4% are all of these forms). Dates and times only for parameters that take them (`takes_dates`), codes
# only for parameters that take codes (`takes_codes`); months, days, hours and minutes in their ranges.
CODE_FORMAT = "code (language, currency, country)"
_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"
COPY_FORMATS = {
    "ISO date": _DATE,
    "ISO time": _TIME,
    "ISO date-time": f"{_DATE}T{_TIME}",
    CODE_FORMAT: r"[a-z]{2}|[A-Z]{2,3}",
}
_CODE_WORDS = ("iso", "code", "codes")
_CODE_PREFIXES = ("lang", "currenc", "locale", "translat")


def _words(text: str) -> list[str]:
    """Lower-case words of names and descriptions, camelCase and snake_case split ("ISOCode" -> iso, code)."""
    text = re.sub(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", unicodedata.normalize("NFC", text))
    return re.findall(r"[^\W\d_]+", text.lower())  # runs of letters, non-ASCII ones too ("día")


def takes_codes(tool: Tool, param: Param) -> bool:
    """Whether copy mode lets `param` take a 2-3 letter code: the tool's or the parameter's name or description has
    a word for codes, languages, currencies, locales or translation ("iso", "code", "lang...", "currenc...",
    "locale...", "translat..."; camelCase and snake_case are split into words). On 20,000 offline train rows every
    value the code escape was needed for (1.2% of free-text strings) is such a parameter's; elsewhere the escape only
    let a small model write invented codes ("HHH" for a song, "PZ" for "Philippines")."""
    words = _words(" ".join((tool.name, tool.description, param.name, param.description)))
    return any(w in _CODE_WORDS or w.startswith(_CODE_PREFIXES) for w in words)


# `takes_dates`: parts of a parameter's name ("start_time", "dueDate", "showtime", "publishat"), names made only of
# these short words ("at", "on", "ends_on", "checkIn", "check_out", "from", "to": recipients and units too, but
# dates in a `days_between_dates(from, to)` without descriptions), and words of its name or description
# ("created_after", "YYYY-MM-DD", "Time of day")
_DATE_NAME_PARTS = ("date", "time", "day", "when", "until", "deadline", "sched", "clock", "hour", "begin", "start",
                    "slot", "due", "hhmm", "publish", "wake",
                    "datum", "fecha", "heure", "hora", "zeit")  # German / Dutch / Swedish, Spanish, French, Portuguese
_DATE_NAME_WORDS = re.compile(r"(?:at|on|end|ends|check|in|out|from|to)+")
_DATE_FORMAT = re.compile(r"date|time|yyyy|hh:mm")  # JSON Schema "format": date, date-time, time (and looser ones)
# words of the name or the description
_DATE_WORDS = {"date", "dates", "time", "times", "day", "days", "when", "datetime", "timestamp", "yyyy", "hh", "iso",
               "deadline", "clock", "hour", "hours", "until", "since", "after", "before", "schedule", "scheduled",
               "expires", "expiry", "expiration", "departure", "arrival", "dob", "birthday",
               "datum", "fecha", "heure", "hora", "zeit", "uhrzeit", "jour", "giorno", "día", "dia"}


def takes_dates(tool: Tool, param: Param) -> bool:
    """Whether copy mode lets `param` take an ISO date, time or date-time: its name has a part such as "date", "time",
    "day", "when", "start", "due" or is made of "at" / "on" / "end" / "check in/out" / "from" / "to", or its name or
    description has a word for dates or times ("after", "expires", "YYYY-MM-DD", "hora"); never a parameter whose
    name has the word "id" unless its JSON Schema "format" says date or time ("date", "date-time", "time", also
    looser ones such as "datetime"), which is enough on its own. The tool's name and description are not used (a
    `schedule_message` tool's `message` takes no dates). In the 57,600 offline train rows every gold
    date / time is such a parameter's, and they are 12% of the free-text string parameters; elsewhere the escape let
    a small model write invented times ("15:30" for a contract id, "09:00" for a phone number)."""
    fmt = getattr(param, "format", None) or ""  # a Param of an older tools module has none
    if _DATE_FORMAT.search(fmt.lower()):
        return True
    name = param.name.lower()
    name_words = _words(param.name)
    if "id" in name_words:
        return False
    if any(part in name for part in _DATE_NAME_PARTS) or _DATE_NAME_WORDS.fullmatch(re.sub(r"[^a-z]", "", name)):
        return True
    return any(w in _DATE_WORDS for w in name_words + _words(param.description))


def _copy_chunks(text: str) -> list[str]:
    """Units a copied value is made of: whole words (letters, digits, `_`) and single other characters, so a copy can
    end at any punctuation ("cat?" from "the cat?.") but never inside a word ("Ju" from "Juventus")."""
    return re.findall(r"\w+|\W", text)


def copy_source(text: str) -> str | None:
    """The text copy mode copies from, or None when copy mode cannot apply to it (the grammar is then the ordinary
    one): a blank request, or one with a lone surrogate (not encodable as UTF-8). Characters that need a JSON escape
    (`"`, backslash, control characters; non-ASCII for `ensure_ascii` models) are copied in their escaped form."""
    if not isinstance(text, str) or not text.strip():
        return None
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return None
    return text


def answer_grammar(
    tools: Sequence[Tool] | Any,
    tool_call_token_id: int | None = TOOL_CALL_TOKEN_ID,
    *,
    ensure_ascii: bool = False,
    nullable_optional: bool = True,
    copy_from: str | None = None,
) -> str:
    """llguidance grammar (serialized) for `<tool_call>` + compact JSON answer; EOS is allowed once it is complete.

    `tool_call_token_id=None` gives the bare JSON answer (for models trained without the `<tool_call>` prefix).
    Strings allow raw UTF-8 and the escapes json.dumps writes with ensure_ascii=False (`\\" \\\\ \\n ... \\u001f`);
    `ensure_ascii=True` (models converted from Needle v1, `config.ensure_ascii_json`) also allows `\\uXXXX` escapes
    of any character, surrogate pairs for characters beyond the BMP, as `json.dumps(..., ensure_ascii=True)` writes
    them (lone surrogates are rejected). `copy_from`: copy mode for that request text (see `answer_lark`).
    """
    import llguidance  # lazy: optional dependency

    return llguidance.LLMatcher.grammar_from_lark(answer_lark(
        tools, tool_call_token_id, ensure_ascii=ensure_ascii, nullable_optional=nullable_optional,
        copy_from=copy_from))


def _as_tools(tools: Any) -> list[Tool]:
    """Canonical tools from anything `parse_tools` accepts; Tool objects of another copy of this module (the Hub
    remote-code copy vs `needle_hf.modeling`) are converted through their fields."""
    if tools is not None and not isinstance(tools, (str, bytes, bytearray, dict, list, tuple, Tool)) \
            and _tool_like(tools):
        tools = [tools]
    if isinstance(tools, (list, tuple)):
        tools = [_foreign_tool_to_dict(t) if not isinstance(t, Tool) and _tool_like(t) else t for t in tools]
    return parse_tools(tools)


def _tool_like(t: Any) -> bool:
    return type(t).__name__ == "Tool" and hasattr(t, "name") and isinstance(getattr(t, "parameters", None), list)


def _foreign_tool_to_dict(t: Any) -> dict:
    params = {}
    for p in t.parameters:
        spec = {"type": p.type, "description": getattr(p, "description", ""), "required": bool(p.required)}
        if getattr(p, "enum", None):
            spec["enum"] = list(p.enum)
        if getattr(p, "items", None) is not None:
            spec["items"] = p.items
        if getattr(p, "format", None):
            spec["format"] = p.format
        params[p.name] = spec
    return {"name": t.name, "description": getattr(t, "description", ""), "parameters": params}


# --------------------------------------------------------------------------------------------------------------------
# llguidance tokenizer / compiled-grammar caches
# --------------------------------------------------------------------------------------------------------------------
class _TokenizerEntry:
    """LLTokenizer of one HF tokenizer (costs ~75 ms at 8k vocab) + an LRU of compiled grammars (template matchers)."""

    max_grammars = 64

    def __init__(self, ll_tokenizer):
        self.ll_tokenizer = ll_tokenizer
        self.grammars: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def template(self, grammar: str):
        import llguidance

        with self.lock:
            matcher = self.grammars.get(grammar)
            if matcher is not None:
                self.grammars.move_to_end(grammar)
                return matcher
        matcher = llguidance.LLMatcher(self.ll_tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(f"Could not compile the tool-call grammar: {matcher.get_error()}")
        with self.lock:
            self.grammars[grammar] = matcher
            while len(self.grammars) > self.max_grammars:
                self.grammars.popitem(last=False)
        return matcher


_ENTRIES: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()
_ENTRIES_BY_ID: dict[int, tuple[Any, dict]] = {}  # tokenizers that cannot be weak-referenced (kept alive)
_ENTRIES_LOCK = threading.Lock()


def _require_llguidance():
    try:
        import llguidance  # noqa: F401
        import llguidance.hf  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "Constrained decoding needs the `llguidance` package: `pip install llguidance` "
            "(or pass constrained=False to generate without a grammar)."
        ) from e
    return llguidance


def _tokenizer_entry(tokenizer, eos_token_id: int | list[int]) -> _TokenizerEntry:
    llguidance = _require_llguidance()
    key = (len(tokenizer), json.dumps(eos_token_id))
    with _ENTRIES_LOCK:
        try:
            per_tok = _ENTRIES.setdefault(tokenizer, {})
        except TypeError:
            per_tok = _ENTRIES_BY_ID.setdefault(id(tokenizer), (tokenizer, {}))[1]
        entry = per_tok.get(key)
    if entry is None:
        if not hasattr(tokenizer, "backend_tokenizer"):
            raise TypeError(
                f"Constrained decoding needs a fast (tokenizers-backed) tokenizer, got {type(tokenizer).__name__}; "
                "load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
            )
        entry = _TokenizerEntry(llguidance.hf.from_tokenizer(tokenizer, eos_token=eos_token_id))
        with _ENTRIES_LOCK:
            entry = per_tok.setdefault(key, entry)
    return entry


def get_ll_tokenizer(tokenizer, eos_token_id: int | list[int] = EOS_TOKEN_ID):
    """The (cached) `llguidance.LLTokenizer` of a fast HF tokenizer."""
    return _tokenizer_entry(tokenizer, eos_token_id).ll_tokenizer


# --------------------------------------------------------------------------------------------------------------------
# LogitsProcessor
# --------------------------------------------------------------------------------------------------------------------
class _Row:
    """Grammar state of one generated row: its matcher, whether it is finished (EOS seen) or broken, and whether
    the budget forced it off the model's choice (`steered`)."""

    __slots__ = ("matcher", "item", "done", "error", "steered")

    def __init__(self, matcher, item: int):
        self.matcher = matcher
        self.item = item
        self.done = False
        self.error: str | None = None
        self.steered = False

    def copy(self) -> "_Row":
        row = _Row(self.matcher.deep_copy(), self.item)
        row.done, row.error, row.steered = self.done, self.error, self.steered
        return row

    def feed(self, token: int, eos_ids: frozenset) -> None:
        if self.done or self.error is not None:
            return  # finished rows get pad tokens from generate(): never feed them (it would be a grammar error)
        ok = self.matcher.consume_token(int(token))
        if token in eos_ids:
            self.done = True
        if not ok:
            self.error = self.matcher.get_error().split("\n", 1)[0] or f"token {token} rejected by the grammar"


class NeedleGrammarProcessor(LogitsProcessor):
    """Masks the logits so that only `<tool_call>` + a valid JSON answer for the given tools + EOS can be generated.

    Args:
        tokenizer: the model's fast tokenizer (`PreTrainedTokenizerFast`); its llguidance view is cached per object.
        tools: the tools, either one tool list for every row, or one tool list per batch item
            (a list of lists; each element may be anything `parse_tools` accepts). With `num_beams` or
            `num_return_sequences` > 1, generate() expands each batch item into consecutive rows; they share the
            item's tool list.
        tool_call_token_id: token that must come first (`<tool_call>`, 4); None for a bare JSON answer.
        eos_token_id: the EOS id(s) (default: the tokenizer's, else 1); allowed only when the JSON is complete.
        skip_tokens: leading decoder tokens that are not part of the answer (the decoder start token). Tokens present
            after them at the first call (a forced prefix such as `[1, 4]`) are fed to the grammar.
        ensure_ascii: also allow `\\uXXXX` escapes of any character (models trained with ensure_ascii JSON).
        nullable_optional: allow `null` for optional arguments (validate_calls accepts it).
        copy_from: copy mode (see `answer_lark`): the request text, one for every row or one per batch item (a list
            as long as the tool lists; a single tool list is then shared by all items). Free-text string arguments
            must then be word spans of the item's text or ISO dates/times/short codes. None (default): free strings.
        max_new_tokens: the generation budget. When given, a row whose shortest way to a closed answer would no
            longer fit in the tokens left is steered onto that way (closing strings, objects and the list), so a
            model stuck in a loop still ends with a complete, valid answer instead of being cut off mid-JSON.

    Works with greedy search, sampling (also `num_return_sequences` > 1) and beam search: every call maps each row to
    the row of the previous call it extends (by its token prefix), so matchers follow beam reordering; a beam that
    picked a masked (-inf) token is marked broken and only EOS stays allowed for it. Masks are computed on CPU into an
    int32 bitmask, unpacked with plain torch ops (no torch.compile) and moved to the scores' device.
    """

    def __init__(
        self,
        tokenizer,
        tools,
        *,
        tool_call_token_id: int | None = TOOL_CALL_TOKEN_ID,
        eos_token_id: int | list[int] | None = None,
        skip_tokens: int = 1,
        ensure_ascii: bool = False,
        nullable_optional: bool = True,
        copy_from: str | Sequence[str] | None = None,
        max_new_tokens: int | None = None,
    ):
        if eos_token_id is None:
            eos_token_id = getattr(tokenizer, "eos_token_id", None)
            if eos_token_id is None:
                eos_token_id = EOS_TOKEN_ID
        self.eos_ids = frozenset([eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id))
        self.eos_token_id = min(self.eos_ids)
        self.tool_call_token_id = tool_call_token_id
        self.skip_tokens = int(skip_tokens)
        self.tool_lists = self._split_tool_lists(tools)
        copies = self._split_copy_sources(copy_from, len(self.tool_lists))
        if len(self.tool_lists) == 1 and len(copies) > 1:
            self.tool_lists = self.tool_lists * len(copies)
        self._entry = _tokenizer_entry(tokenizer, eos_token_id)
        self.ll_tokenizer = self._entry.ll_tokenizer
        # Compile each distinct grammar once (cached across processors too); rows deep-copy the templates.
        self._grammars = [answer_grammar(tl, tool_call_token_id, ensure_ascii=ensure_ascii,
                                         nullable_optional=nullable_optional, copy_from=c)
                          for tl, c in zip(self.tool_lists, copies)]
        self._templates = [self._entry.template(g) for g in self._grammars]
        self._words = (self.ll_tokenizer.vocab_size + 31) // 32
        self._shifts = torch.arange(32, dtype=torch.int32)
        self._rows: list[_Row] | None = None
        self._prev_ids: torch.Tensor | None = None
        self._rows_per_item = 1
        self.errors: list[str] = []  # rows whose chosen token the grammar rejected (see _record_broken)
        self.max_new_tokens = max_new_tokens
        self._token_texts: list[str] | None = None

    # -- construction helpers ----------------------------------------------------------------------------------------
    @staticmethod
    def _split_tool_lists(tools) -> list[list[Tool]]:
        if isinstance(tools, (list, tuple)) and tools and all(isinstance(t, (list, tuple)) for t in tools):
            return [_as_tools(list(tl)) for tl in tools]
        return [_as_tools(tools)]

    @staticmethod
    def _split_copy_sources(copy_from, n_tool_lists: int) -> list[str | None]:
        if copy_from is None or isinstance(copy_from, str):
            return [copy_from] * n_tool_lists
        copies = list(copy_from)
        if n_tool_lists not in (1, len(copies)):
            raise ValueError(f"NeedleGrammarProcessor got {n_tool_lists} tool lists but {len(copies)} copy_from texts; "
                             "pass one text per tool list (or one tool list for all texts).")
        return copies

    def reset(self) -> None:
        """Forget all row states (the processor can then be reused for a new generate() call)."""
        self._rows = None
        self._prev_ids = None
        self.errors = []

    # -- row tracking ------------------------------------------------------------------------------------------------
    def _fresh_row(self, item: int, tokens: Iterable[int]) -> _Row:
        row = _Row(self._templates[item].deep_copy(), item)
        for t in tokens:
            row.feed(int(t), self.eos_ids)
        return row

    def _start(self, ids: torch.Tensor) -> None:
        n_rows, n_items = ids.shape[0], len(self.tool_lists)
        if n_items == 1:
            self._rows_per_item = max(n_rows, 1)
        elif n_rows % n_items == 0:
            self._rows_per_item = n_rows // n_items
        else:
            raise ValueError(
                f"NeedleGrammarProcessor got {n_items} tool lists but generate() has {n_rows} rows; pass one tool "
                "list per batch item (rows of num_beams/num_return_sequences share their item's list)."
            )
        self._rows = []
        for r, seq in enumerate(ids.tolist()):
            row = self._fresh_row(self._item_of(r), seq[self.skip_tokens:])
            if row.error is not None:
                raise ValueError(
                    f"The decoder prefix {seq!r} does not start a valid tool-call answer ({row.error}). "
                    f"Start decoding with only the decoder start token (skip_tokens={self.skip_tokens})."
                )
            self._rows.append(row)

    def _item_of(self, r: int) -> int:
        return 0 if len(self.tool_lists) == 1 else r // self._rows_per_item

    def _advance(self, ids: torch.Tensor) -> None:
        prev, rows = self._prev_ids, self._rows
        n_rows, length = ids.shape
        if length == prev.shape[1] + 1 and n_rows == prev.shape[0] and torch.equal(ids[:, :-1], prev):
            parents: list[int | None] = list(range(n_rows))  # greedy / sampling: rows stay in place
        elif length == prev.shape[1] + 1:  # beam search: rows were reordered, find each row's parent by prefix
            index = {(self._item_of(p), tuple(seq)): p for p, seq in enumerate(prev.tolist())}
            parents = [index.get((self._item_of(r), tuple(seq[:-1]))) for r, seq in enumerate(ids.tolist())]
        else:
            parents = [None] * n_rows
        children: dict[int, list[int]] = {}
        for r, p in enumerate(parents):
            if p is not None:
                children.setdefault(p, []).append(r)
        new_rows: list[_Row | None] = [None] * n_rows
        for p, rs in children.items():
            for i, r in enumerate(rs):  # copy before feeding; the last child takes the parent's matcher itself
                new_rows[r] = rows[p] if i == len(rs) - 1 else rows[p].copy()
        last = ids[:, -1].tolist()
        for r in range(n_rows):
            if new_rows[r] is None:  # unknown history: replay the whole row (always correct, only slower)
                new_rows[r] = self._fresh_row(self._item_of(r), ids[r, self.skip_tokens:].tolist())
                if new_rows[r].error is not None:
                    self._record_broken(r, new_rows[r])
            else:
                was_broken = new_rows[r].error is not None
                new_rows[r].feed(last[r], self.eos_ids)
                if not was_broken and new_rows[r].error is not None:
                    self._record_broken(r, new_rows[r])
        self._rows = new_rows

    def _record_broken(self, r: int, row: _Row) -> None:
        # In beam search, beams that picked a masked (-inf) token are routine: they carry -inf scores and are never
        # returned. In greedy/sampling it only happens when a later processor overrides the mask (e.g. a forced
        # EOS); the output then fails parse/validation downstream, where it is reported. Kept in `self.errors`.
        msg = f"row {r}: {row.error}"
        self.errors.append(msg)
        logger.debug("Constrained decoding: grammar rejected the chosen token (%s)", msg)

    # -- masking -----------------------------------------------------------------------------------------------------
    def allowed_tokens_mask(self, n_vocab: int) -> torch.Tensor:
        """Bool CPU tensor (rows, n_vocab): the tokens the grammar allows next for each tracked row."""
        rows = self._rows
        bitmask = torch.zeros((len(rows), self._words), dtype=torch.int32)
        nbytes = self._words * 4
        base, stride = bitmask.data_ptr(), bitmask.stride(0) * 4
        eos = self.eos_token_id
        for i, row in enumerate(rows):
            if row.done or row.error is not None:
                bitmask[i, eos // 32] = _bit(eos % 32)  # finished/broken: only EOS (generate pads finished rows)
            else:
                row.matcher.unsafe_compute_mask_ptr(base + i * stride, nbytes)
        allowed = ((bitmask.unsqueeze(-1) >> self._shifts) & 1).bool().reshape(len(rows), -1)
        if allowed.shape[1] >= n_vocab:
            allowed = allowed[:, :n_vocab]
        else:  # model vocab larger than the tokenizer's (padded embedding): extra ids are never allowed
            allowed = torch.cat([allowed, allowed.new_zeros((len(rows), n_vocab - allowed.shape[1]))], dim=1)
        empty = ~allowed.any(dim=1)
        if bool(empty.any()) and eos < n_vocab:  # never leave a row without any finite score (NaN in sampling)
            allowed[empty, eos] = True
        return allowed

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        ids = input_ids.detach().to("cpu")
        if self._rows is None or ids.shape[1] <= self._prev_ids.shape[1]:
            if self._rows is not None:  # a new generate() call reusing this processor
                self.reset()
            self._start(ids)
        else:
            self._advance(ids)
        self._prev_ids = ids
        allowed = self.allowed_tokens_mask(scores.shape[-1])
        if self.max_new_tokens is not None:
            self._steer_to_close(allowed, scores, self.max_new_tokens - (ids.shape[1] - self.skip_tokens))
        allowed = allowed.to(scores.device, non_blocking=True)
        return scores.masked_fill(~allowed, float("-inf"))

    # -- budget: close the answer before max_new_tokens ---------------------------------------------------------------
    CLOSE_WINDOW = 48  # only look for the way out when this few tokens are left (it costs a few mask computations)
    MAX_CLOSING_PATH = 96
    CLOSE_SLACK = 24  # assume one token never lengthens the way out by more than this
    CLOSE_CANDIDATES = 4

    def _texts(self) -> list[str]:
        if self._token_texts is None:
            self._token_texts = [self.ll_tokenizer.decode_bytes([i]).decode("latin-1")
                                 for i in range(self.ll_tokenizer.vocab_size)]  # byte-exact: quotes are ASCII
        return self._token_texts

    @staticmethod
    def _scan(text: str, in_string: bool, escape: bool) -> tuple[bool, bool]:
        """Whether the JSON text so far ends inside a string (and after a backslash)."""
        for c in text:
            if escape:
                escape = False
            elif in_string and c == "\\":
                escape = True
            elif c == '"':
                in_string = not in_string
        return in_string, escape

    def _closing_score(self, text: str, in_string: bool) -> float:
        """How much a token helps to finish the JSON from here: inside a string a leading quote (the string may end
        here), else the longest token (a tool name or enum value the grammar requires: fewest tokens to its end);
        outside, leading closing brackets; then a separator that ends a value (a number must end somewhere when
        required arguments follow); then short tokens (values the grammar requires); last, tokens that open an object
        or array (e.g. '}},{"' closes a call but starts another one)."""
        if in_string:
            if text.startswith('"'):
                return 100.0 + sum(text.count(c) for c in "}]") - len(text)
            return float(len(text))
        lead = len(text) - len(text.lstrip("}]"))
        opens = any(c in text[lead:] for c in "{[")
        if lead:
            return 10.0 * lead - len(text) - (100.0 if opens or "," in text[lead:] else 0.0)
        if opens:
            return -100.0 - len(text)
        return (0.0 if text.startswith(",") else -10.0) - len(text)

    def _closing_path(self, row: _Row, history: list[int], n_vocab: int) -> list[int] | None:
        """Greedy token path from the row's state to EOS that closes the answer (None if not found quickly)."""
        texts = self._texts()
        in_string, escape = self._scan("".join(texts[t] for t in history if t < len(texts)
                                               and t != self.tool_call_token_id), False, False)
        matcher = row.matcher.deep_copy()
        bitmask = torch.zeros((1, self._words), dtype=torch.int32)
        path = []
        for _ in range(self.MAX_CLOSING_PATH):
            bitmask.zero_()
            matcher.unsafe_compute_mask_ptr(bitmask.data_ptr(), self._words * 4)
            allowed = ((bitmask.unsqueeze(-1) >> self._shifts) & 1).bool().reshape(-1)[:min(n_vocab, len(texts))]
            if self.eos_token_id < allowed.shape[0] and allowed[self.eos_token_id]:
                return path + [self.eos_token_id]
            forced = matcher.compute_ff_tokens()  # what the grammar dictates (names, keys), longest tokens first
            if forced:
                token = forced[0]
            else:
                candidates = allowed.nonzero().flatten().tolist()
                if not candidates:
                    return None
                token = max(candidates, key=lambda t: (self._closing_score(texts[t], in_string), -t))
            if not matcher.consume_token(token):
                return None
            in_string, escape = self._scan(texts[token], in_string, escape)
            path.append(token)
        return None

    def _steer_to_close(self, allowed: torch.Tensor, scores: torch.Tensor, remaining: int) -> None:
        """Near the end of the budget, allow only tokens after which a closed answer still fits in what is left.

        Candidates are checked in the model's preference order (so greedy keeps its choice whenever it is safe);
        if none of the first few is safe, the row follows the shortest way out.
        """
        if remaining > self.CLOSE_WINDOW:
            return
        for i, row in enumerate(self._rows):
            if row.done or row.error is not None:
                continue
            history = self._prev_ids[i, self.skip_tokens:].tolist()
            path = self._closing_path(row, history, allowed.shape[1])
            if path is None or len(path) < remaining - self.CLOSE_SLACK:
                continue  # far enough from the limit: one token cannot push the way out past it
            safe = []
            ranked = torch.where(allowed[i], scores[i].float().cpu(), torch.tensor(float("-inf")))
            order = ranked.argsort(descending=True)[: self.CLOSE_CANDIDATES].tolist()
            for token in order:
                if not bool(allowed[i, token]):
                    break
                if token in self.eos_ids:
                    safe.append(token)
                    continue
                trial = _Row(row.matcher.deep_copy(), row.item)
                trial.feed(token, self.eos_ids)
                after = None if trial.error else self._closing_path(trial, history + [token], allowed.shape[1])
                if after is not None and 1 + len(after) <= remaining:
                    safe.append(token)
            allowed[i] = False
            allowed[i, safe or [path[0]]] = True
            if order[0] not in safe:  # the model's own choice would not have fitted: the answer is cut short
                row.steered = True

    # -- introspection -----------------------------------------------------------------------------------------------
    def closed_early(self) -> list[bool]:
        """Per row: did the budget (`max_new_tokens`) make the row close its answer against the model's choice?"""
        return [r.steered for r in self._rows or []]

    def is_complete(self) -> list[bool]:
        """Per row: has the answer been closed (grammar in an accepting state, or EOS consumed)?"""
        return [r.done and r.error is None or (r.error is None and r.matcher.is_accepting()) for r in self._rows or []]


def _bit(i: int) -> int:
    """int32 value with only bit i set (bit 31 is the sign bit)."""
    return (1 << i) - (1 << 32) if i == 31 else 1 << i


def build_logits_processor(tokenizer, tools, **kwargs):
    """A `LogitsProcessorList` holding one `NeedleGrammarProcessor` (for `generate(logits_processor=...)`)."""
    from transformers import LogitsProcessorList

    return LogitsProcessorList([NeedleGrammarProcessor(tokenizer, tools, **kwargs)])


__all__ = [
    "COPY_FORMATS",
    "JSON_COMPILE_OPTIONS",
    "NeedleGrammarProcessor",
    "answer_grammar",
    "answer_json_schema",
    "answer_lark",
    "build_logits_processor",
    "copy_source",
    "get_ll_tokenizer",
    "param_json_schema",
    "takes_codes",
    "takes_dates",
]
