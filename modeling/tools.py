"""Tool schemas in every accepted format -> one canonical form; call parsing, validation and tool names.

Shipped as Hugging Face Hub remote code, so this file uses only the Python standard library.

Accepted tool formats (all become :class:`Tool`):

* Needle's flat v1 schema ``{"name", "description", "parameters": {p: {"type", "description", "required"}}}``
  (optional ``"enum"`` and ``"items"`` per parameter);
* JSON Schema / OpenAI function schemas, bare ``{"name", "description", "parameters": {"type": "object",
  "properties": {...}, "required": [...]}}`` or wrapped ``{"type": "function", "function": {...}}``; Anthropic
  ``input_schema`` and MCP ``inputSchema`` are read like ``parameters``;
* BFCL-style schemas (``"type": "dict"``, ``"float"``, ``"tuple"``, ``"any"``, Java/JS type names, ...);
* Python callables (signature + Google-style or reST docstring), optionally decorated with :func:`tool`;
* :class:`Tool` objects (returned unchanged).

Canonical text (what the encoder sees) is compact JSON of the flat schema with snake_case tool names
(:func:`tools_to_text`); :func:`restore_names` maps the snake names in predicted calls back to the originals.
"""
from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum as _enum
import functools
import hashlib
import inspect
import json
import math
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "PARAM_TYPES",
    "ToolSchemaError",
    "CallParseError",
    "Param",
    "Tool",
    "to_snake_case",
    "tool",
    "parse_tools",
    "tool_to_dict",
    "tools_to_text",
    "tool_to_text",
    "answers_to_text",
    "parse_calls",
    "validate_calls",
    "restore_names",
    "tools_fingerprint",
]

PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")
_TYPES_HINT = ", ".join(PARAM_TYPES)
_SEPARATORS = (",", ":")


class ToolSchemaError(ValueError):
    """A tool schema cannot be read; the message names ``tools[i]`` / the field and what to do."""


class CallParseError(ValueError):
    """Model output (or an ``answers`` string) is not a JSON list of ``{"name": str, "arguments": {...}}``."""


@dataclass
class Param:
    """One tool parameter. ``items`` is the element type of an ``array`` parameter (or None if unknown); ``format``
    is JSON Schema's ``"format"`` of a string ("date", "date-time", "email", ...): read by copy mode, not shown to
    the model (the tool text is unchanged by it)."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    enum: list | None = None
    items: str | None = None
    format: str | None = None


@dataclass
class Tool:
    """Canonical tool: ``name`` is the original name, ``snake_name`` the one the model sees."""

    name: str
    description: str = ""
    parameters: list[Param] = field(default_factory=list)

    @property
    def snake_name(self) -> str:
        return to_snake_case(self.name)


# --------------------------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------------------------

def _keep_char(c: str) -> bool:
    return c == "_" or unicodedata.category(c)[0] in "LMN"


def _snake_pass(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    # 1. runs of characters that are not letters / marks / digits / "_" -> "_"
    out: list[str] = []
    for c in s:
        if _keep_char(c):
            out.append(c)
        elif not out or out[-1] != "\0":
            out.append("\0")
    chars = ["_" if c == "\0" else c for c in out]
    # 2. ([a-z0-9])([A-Z]) -> \1_\2 (Unicode-aware: any lowercase letter or decimal digit, any uppercase letter)
    step: list[str] = []
    for i, c in enumerate(chars):
        if i and c.isupper() and (chars[i - 1].islower() or chars[i - 1].isdecimal()):
            step.append("_")
        step.append(c)
    chars = step
    # 3. ([A-Z]+)([A-Z][a-z]) -> \1_\2 (an acronym followed by a capitalised word: HTTPServer -> HTTP_Server)
    step = []
    n = len(chars)
    for i, c in enumerate(chars):
        step.append(c)
        if i + 2 < n and c.isupper() and chars[i + 1].isupper() and chars[i + 2].islower():
            step.append("_")
    s = "".join(step)
    # 4. collapse "_", lower-case, strip "_"
    s = re.sub(r"_+", "_", s).lower()
    return unicodedata.normalize("NFKC", s).strip("_")


def to_snake_case(name: str) -> str:
    """Tool-name normalisation of Needle v1 (spec §2.2), extended to non-ASCII letters.

    For ASCII names the result is identical to the reference (``getWeather`` -> ``get_weather``, ``HTTPServer`` ->
    ``http_server``, ``sendSMS`` -> ``send_sms``, ``"Get-Weather 2"`` -> ``get_weather_2``). Unlike the reference,
    letters, combining marks and digits of any script are kept (``café_menu`` stays ``café_menu``, ``天気を取得`` stays
    as is) instead of being dropped, so non-English names neither vanish nor collide; the text is NFKC-normalised
    first (as Python does for identifiers), and the camelCase rules use Unicode upper/lower case. Idempotent.
    """
    if not isinstance(name, str):
        raise TypeError(f"tool name must be a string, got {type(name).__name__}")
    return _snake_fixed_point(name)


@functools.lru_cache(maxsize=1 << 16)  # the same tool names recur in every row of a dataset
def _snake_fixed_point(name: str) -> str:
    s = name
    for _ in range(8):  # one pass is enough except for exotic compatibility characters; stop at the fixed point
        t = _snake_pass(s)
        if t == s:
            break
        s = t
    return s


# --------------------------------------------------------------------------------------------------------------
# types
# --------------------------------------------------------------------------------------------------------------

_TYPE_ALIASES = {
    # JSON Schema names, Python / BFCL names, Java / JavaScript names (BFCL java/js categories), Gemini upper-case
    "string": "string", "str": "string", "text": "string", "char": "string", "character": "string",
    "any": "string",  # "any" has no JSON type of its own; the model writes it as a string (documented choice)
    "integer": "integer", "int": "integer", "long": "integer", "short": "integer", "byte": "integer",
    "int32": "integer", "int64": "integer", "bigint": "integer",
    "number": "number", "float": "number", "double": "number", "decimal": "number", "float32": "number",
    "float64": "number",
    "boolean": "boolean", "bool": "boolean",
    "array": "array", "list": "array", "tuple": "array", "set": "array", "arraylist": "array",
    "object": "object", "dict": "object", "map": "object", "hashmap": "object", "dictionary": "object",
}


def _canon_type(t, where: str) -> str:
    if isinstance(t, str):
        canon = _TYPE_ALIASES.get(t.strip().lower())
        if canon is not None:
            return canon
        raise ToolSchemaError(f"{where}: unsupported type {t!r}; use one of {_TYPES_HINT}")
    raise ToolSchemaError(f"{where}: type must be a string such as \"string\", got {_show(t)}; "
                          f"use one of {_TYPES_HINT}")


def _value_type(values: list) -> str:
    """JSON type of a list of enum values (mixed -> string)."""
    kinds = set()
    for v in values:
        if isinstance(v, bool):
            kinds.add("boolean")
        elif isinstance(v, int):
            kinds.add("integer")
        elif isinstance(v, float):
            kinds.add("number")
        elif isinstance(v, str):
            kinds.add("string")
        else:
            kinds.add("other")
    if kinds == {"integer", "number"}:
        return "number"
    if len(kinds) == 1 and "other" not in kinds:
        return kinds.pop()
    return "string"


def _show(v, limit: int = 60) -> str:
    """Type and short repr of a bad value, for messages."""
    return f"{type(v).__name__} {_short(v, limit)}"


def _short(v, limit: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_enum(enum, where: str) -> list | None:
    if enum is None:
        return None
    if not isinstance(enum, (list, tuple)):
        raise ToolSchemaError(f"{where}.enum: must be a list of allowed values, got {_show(enum)}")
    for v in enum:
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise ToolSchemaError(f"{where}.enum: values must be strings, numbers or booleans, got {_show(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ToolSchemaError(f"{where}.enum: values must be finite numbers, got {v!r}")
    return list(enum) if enum else None  # an empty enum means "no restriction"


# --------------------------------------------------------------------------------------------------------------
# dict schemas (flat v1, JSON Schema / OpenAI / BFCL / Anthropic / MCP)
# --------------------------------------------------------------------------------------------------------------

# Keys the dict-schema reader uses, per level. Unknown keys are accepted: real schemas carry many legitimate
# extras (JSON Schema / OpenAPI keywords such as title, default, format, minItems; OpenAI "strict"; Anthropic
# "cache_control"; MCP "annotations", "outputSchema"; vendor "x-..." keys). Only a near-miss of a key that is read
# (see _typo_of) is rejected, because such a typo silently drops a tool's parameters, a type or "required".
_TOOL_KEYS = ("name", "description", "parameters", "input_schema", "inputSchema", "function", "type")
_SCHEMA_KEYS = ("type", "description", "properties", "required", "enum", "const", "items", "anyOf", "oneOf",
                "allOf", "$ref", "$defs", "definitions")
# legitimate keys just outside the rule (one more edit and they would be near-misses): kept accepted even if the
# rule is ever widened. JSON Schema, MCP and ajv-keywords keys.
_LEGIT_KEYS = frozenset({"minProperties", "maxProperties", "outputSchema", "output_schema", "icons", "typeof",
                         "allRequired", "anyRequired", "oneRequired"})


def _edits(a: str, b: str) -> int:
    """Edit distance counting an insertion, deletion, substitution or swap of adjacent characters as one edit."""
    before, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], before[j - 2] + 1)
        before, prev = prev, cur
    return prev[-1]


@functools.lru_cache(maxsize=1 << 12)  # the same keys recur in every tool of a dataset
def _typo_of(key: str, read: tuple) -> str | None:
    """The key in ``read`` that ``key`` is a near-miss of, else None: ignoring case, at most one edit away (two for
    keys longer than five characters), e.g. "typ", "tpye", "Type" for "type"; "paramters", "requird" for the others.
    """
    best = None
    for k in read:
        limit = 1 if len(k) <= 5 else 2
        if abs(len(key) - len(k)) <= limit:
            d = _edits(key.lower(), k.lower())
            if d <= limit and (best is None or d < best[0]):
                best = (d, k)
    return None if best is None else best[1]


def _check_keys(d: dict, read: tuple, where: str) -> None:
    """Reject a key of ``d`` that looks like a misspelling of a key the reader uses at this level (``read``)."""
    for key in d:
        if isinstance(key, str) and key not in read and key not in _LEGIT_KEYS and not key.startswith("x-"):
            near = _typo_of(key, read)
            if near is not None:
                raise ToolSchemaError(f"{where}: unknown key {key!r} (did you mean {near!r}?)")


def _resolve_ref(prop: dict, root: dict, where: str) -> dict:
    seen = 0
    while isinstance(prop, dict) and "$ref" in prop:
        ref = prop["$ref"]
        target = None
        if isinstance(ref, str):
            for prefix, key in (("#/$defs/", "$defs"), ("#/definitions/", "definitions")):
                if ref.startswith(prefix) and isinstance(root.get(key), dict):
                    target = root[key].get(ref[len(prefix):])
        if not isinstance(target, dict) or seen > 16:
            raise ToolSchemaError(f"{where}: cannot resolve $ref {ref!r}; inline the definition or put it in "
                                  f"\"$defs\" of the parameters schema")
        merged = {k: v for k, v in target.items()}
        merged.update({k: v for k, v in prop.items() if k != "$ref"})  # local description wins
        prop = merged
        seen += 1
    return prop


def _schema_type(prop: dict, where: str, root: dict) -> tuple[str, list | None, str | None]:
    """(canonical type, enum, items) of a JSON-Schema-like property or a flat v1 parameter."""
    prop = _resolve_ref(prop, root, where)
    _check_keys(prop, _SCHEMA_KEYS, where)
    t = prop.get("type")
    if isinstance(t, list):  # ["integer", "null"]
        non_null = [x for x in t if not (isinstance(x, str) and x.lower() == "null")]
        if not non_null:
            raise ToolSchemaError(f"{where}: unsupported type {t!r}; use one of {_TYPES_HINT}")
        t = non_null[0]
    enum = prop.get("enum")
    if enum is None and "const" in prop:
        enum = [prop["const"]]
    if t is None:
        for key in ("anyOf", "oneOf", "allOf"):
            options = prop.get(key)
            if isinstance(options, list):
                for opt in options:
                    opt = _resolve_ref(opt, root, where) if isinstance(opt, dict) else opt
                    if isinstance(opt, dict) and str(opt.get("type", "")).lower() != "null":
                        ct, e, it = _schema_type(opt, where, root)
                        return ct, _check_enum(enum if enum is not None else e, where), it
        if isinstance(enum, (list, tuple)) and enum:
            t = _value_type(list(enum))
        elif "items" in prop:
            t = "array"
        elif "properties" in prop:
            t = "object"
        else:
            t = "string"  # no type given = any value; serialised as string (documented choice)
    canon = _canon_type(t, where)
    items = None
    if canon == "array":
        raw = prop.get("items")
        if isinstance(raw, dict):
            items = _schema_type(raw, where + ".items", root)[0] if raw else None
        elif isinstance(raw, str):
            items = _canon_type(raw, where + ".items")
        elif isinstance(raw, list) and raw:  # tuple form: keep the element type only if all agree
            kinds = {_schema_type(x, where + ".items", root)[0] if isinstance(x, dict) else
                     _canon_type(x, where + ".items") for x in raw}
            items = kinds.pop() if len(kinds) == 1 else None
        elif raw is not None and raw != [] and raw is not True:
            raise ToolSchemaError(f"{where}.items: expected an object like {{\"type\": \"string\"}} or a type name, "
                                  f"got {_show(raw)}")
    return canon, _check_enum(enum, where), items


def _description(d: dict, where: str) -> str:
    desc = d.get("description")
    if desc is None:
        return ""
    if not isinstance(desc, str):
        raise ToolSchemaError(f"{where}.description: must be a string, got {_show(desc)}")
    return desc


def _param(pname, prop, required, where: str, root: dict) -> Param:
    if not isinstance(pname, str) or not pname:
        raise ToolSchemaError(f"{where}: parameter names must be non-empty strings, got {_show(pname)}")
    if not isinstance(prop, dict):
        raise ToolSchemaError(f"{where}: expected an object such as {{\"type\": \"string\", \"description\": "
                              f"\"...\", \"required\": true}}, got {_show(prop)}")
    prop = _resolve_ref(prop, root, where)
    ptype, enum, items = _schema_type(prop, where, root)
    fmt = prop.get("format")
    return Param(name=pname, type=ptype, description=_description(prop, where), required=required,
                 enum=enum, items=items, format=fmt if isinstance(fmt, str) and fmt else None)


def _is_json_schema(params: dict) -> bool:
    """JSON Schema ({"type": "object", "properties": ...}) versus Needle's flat {p: {"type": ...}} mapping.

    A flat mapping may have parameters literally called "type" or "properties", but their values are objects,
    whereas JSON Schema has a string "type" and a "properties" object whose entries are not a parameter spec.
    """
    if isinstance(params.get("type"), str):
        return True
    props = params.get("properties")
    return (isinstance(props, dict) and not isinstance(props.get("type"), str)
            and isinstance(params.get("required", []), list))


def _params_from_json_schema(params: dict, where: str) -> list[Param]:
    _check_keys(params, _SCHEMA_KEYS, where)
    t = params.get("type", "object")
    if not isinstance(t, str) or _TYPE_ALIASES.get(t.strip().lower()) != "object":
        raise ToolSchemaError(f"{where}: a JSON Schema \"parameters\" must have \"type\": \"object\", got "
                              f"{_short(t)}; describe the arguments under \"properties\"")
    props = params.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ToolSchemaError(f"{where}.properties: must be an object mapping parameter names to schemas, got "
                              f"{_show(props)}")
    req = params.get("required", [])
    if req is None:
        req = []
    if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
        raise ToolSchemaError(f"{where}.required: must be a list of parameter names, got {_show(req)}")
    for r in req:
        if r not in props:
            raise ToolSchemaError(f"{where}.required: {r!r} is not in properties; add it to \"properties\" or "
                                  f"remove it from \"required\"")
    out = []
    for pname, prop in props.items():
        pwhere = f"{where}.{pname}"
        legacy = isinstance(prop, dict) and prop.get("required") is True  # draft-3 style per-property flag
        out.append(_param(pname, prop, pname in req or legacy, pwhere, params))
    return out


def _flat_required(prop, where: str) -> bool:
    if not isinstance(prop, dict):
        return False
    req = prop.get("required", False)
    if req is None:
        return False
    if not isinstance(req, bool):
        raise ToolSchemaError(f"{where}.required: must be true or false, got {_show(req)}")
    return req


def _params_from_dict_tool(d: dict, where: str) -> list[Param]:
    key = next((k for k in ("parameters", "input_schema", "inputSchema") if k in d), "parameters")
    params = d.get(key)
    pwhere = f"{where}.{key}"
    if params is None:
        return []
    if isinstance(params, list):  # [{"name": "x", "type": "string", ...}, ...]
        out = []
        for j, prop in enumerate(params):
            jwhere = f"{pwhere}[{j}]"
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
                raise ToolSchemaError(f"{jwhere}: expected an object with a \"name\" string, got {_show(prop)}")
            _check_keys(prop, ("name",) + _SCHEMA_KEYS, jwhere)
            out.append(_param(prop["name"], prop, _flat_required(prop, jwhere), f"{pwhere}.{prop['name']}", {}))
        return out
    if not isinstance(params, dict):
        raise ToolSchemaError(f"{pwhere}: expected an object mapping parameter names to {{\"type\", "
                              f"\"description\", \"required\"}}, or a JSON Schema object, got {_show(params)}")
    if _is_json_schema(params):
        return _params_from_json_schema(params, pwhere)
    _check_flat(params, pwhere)
    return [_param(p, prop, _flat_required(prop, f"{pwhere}.{p}"), f"{pwhere}.{p}", params)
            for p, prop in params.items()]


def _check_flat(params: dict, where: str) -> None:
    """Catch a JSON Schema that reads as the flat form because "type" / "properties" is missing or misspelled: its
    "required" list, or its parameter map (an entry mapping names to parameter specs, with no key a parameter spec
    has), would otherwise become parameters called "required" / "propertes"."""
    hint = ('a JSON Schema needs "type": "object" and the parameters under "properties"; the flat form maps each '
            'parameter name to {"type", "description", "required": true/false}')
    required = params.get("required")
    if isinstance(required, list):
        raise ToolSchemaError(f"{where}.required: a list of names, but these parameters have no \"properties\" "
                              f"object; {hint}")
    if isinstance(params.get("properties"), dict) and "required" in params and not isinstance(required, dict):
        raise ToolSchemaError(f"{where}.required: must be a list of parameter names, got {_show(required)}")
    for name, spec in params.items():
        if _looks_like_parameter_map(spec):
            near = _typo_of(name, ("properties",)) if isinstance(name, str) and name != "properties" else None
            guess = f" (did you mean {near!r}?)" if near else ""
            raise ToolSchemaError(f"{where}.{name}: holds parameter-like entries ({', '.join(map(str, spec))}) "
                                  f"but no \"type\" or \"description\"{guess}; {hint}")


# JSON Schema keywords whose value is an object: a flat parameter spec holding them is a spec, not a parameter map
_OBJECT_KEYWORDS = frozenset({"default", "examples", "additionalProperties", "patternProperties", "propertyNames",
                              "unevaluatedProperties", "dependentSchemas", "dependencies", "not", "if", "then",
                              "else", "contains", "additionalItems", "unevaluatedItems", "contentSchema"})


def _looks_like_parameter_map(spec) -> bool:
    """{name: {"type": ...}, ...} where a parameter spec was expected: objects only, none of a spec's own keys or
    JSON Schema keywords, and at least one entry that is itself a parameter spec."""
    if not isinstance(spec, dict) or not spec or not all(isinstance(v, dict) for v in spec.values()):
        return False
    if any(k in _SCHEMA_KEYS or k in _OBJECT_KEYWORDS or str(k).startswith("x-") for k in spec):
        return False
    return any(any(k in _SCHEMA_KEYS for k in v) for v in spec.values())


def _tool_from_dict(d: dict, where: str) -> Tool:
    _check_keys(d, _TOOL_KEYS, where)
    if isinstance(d.get("function"), dict) and (d.get("type") == "function" or "name" not in d):
        d, where = d["function"], f"{where}.function"  # OpenAI {"type": "function", "function": {...}}
        _check_keys(d, _TOOL_KEYS, where)
    if "name" not in d:
        hint = " (OpenAI tools need {\"type\": \"function\", \"function\": {...}})" if d.get("type") == "function" \
            else ""
        raise ToolSchemaError(f"{where}: missing \"name\"; every tool needs a name string such as "
                              f"\"get_weather\"{hint}")
    name = d["name"]
    if not isinstance(name, str):
        raise ToolSchemaError(f"{where}.name: must be a string, got {_show(name)}")
    if not to_snake_case(name):
        raise ToolSchemaError(f"{where}.name: {name!r} has no letters or digits; use a name such as "
                              f"\"get_weather\"")
    tool_obj = Tool(name=name, description=_description(d, where), parameters=_params_from_dict_tool(d, where))
    _check_param_names(tool_obj, where)
    return tool_obj


def _check_param_names(t: Tool, where: str) -> None:
    seen = set()
    for p in t.parameters:
        if p.name in seen:
            raise ToolSchemaError(f"{where}.parameters.{p.name}: duplicate parameter name; rename one of them")
        seen.add(p.name)


def _check_tool(t: Tool, where: str) -> None:
    """Validate a Tool built by hand (parse_tools returns it unchanged when valid)."""
    if not isinstance(t.name, str) or not to_snake_case(t.name):
        raise ToolSchemaError(f"{where}.name: must be a string with letters or digits, got {_show(t.name)}")
    if not isinstance(t.description, str):
        raise ToolSchemaError(f"{where}.description: must be a string, got {_show(t.description)}")
    if not isinstance(t.parameters, list):
        raise ToolSchemaError(f"{where}.parameters: must be a list of Param, got {_show(t.parameters)}")
    for j, p in enumerate(t.parameters):
        pwhere = f"{where}.parameters[{j}]"
        if not isinstance(p, Param):
            raise ToolSchemaError(f"{pwhere}: must be a Param, got {_show(p)}")
        if not isinstance(p.name, str) or not p.name:
            raise ToolSchemaError(f"{pwhere}.name: must be a non-empty string, got {_show(p.name)}")
        pwhere = f"{where}.parameters.{p.name}"
        if p.type not in PARAM_TYPES:
            raise ToolSchemaError(f"{pwhere}: unsupported type {p.type!r}; use one of {_TYPES_HINT}")
        if p.items is not None and p.items not in PARAM_TYPES:
            raise ToolSchemaError(f"{pwhere}.items: unsupported type {p.items!r}; use one of {_TYPES_HINT}")
        if not isinstance(p.description, str):
            raise ToolSchemaError(f"{pwhere}.description: must be a string, got {_show(p.description)}")
        if not isinstance(p.required, bool):
            raise ToolSchemaError(f"{pwhere}.required: must be True or False, got {_show(p.required)}")
        _check_enum(p.enum, pwhere)
    _check_param_names(t, where)


# --------------------------------------------------------------------------------------------------------------
# Python callables
# --------------------------------------------------------------------------------------------------------------

_SECTION_RE = re.compile(
    r"^\s*(args|arguments|parameters|params|keyword args|keyword arguments|kwargs|other parameters|returns?|"
    r"yields?|raises|exceptions?|examples?|notes?|attributes|see also|warnings?|warns|todo|references)\s*:\s*$",
    re.I)
_ARGS_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "kwargs",
                 "other parameters"}
_ARG_RE = re.compile(r"^(\s*)\**(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_REST_PARAM_RE = re.compile(r"^\s*:param\s+(?:([\w\[\], .|]+)\s+)?(\w+)\s*:\s*(.*)$")
_REST_TYPE_RE = re.compile(r"^\s*:type\s+(\w+)\s*:\s*(.*)$")
_NUMPY_ARG_RE = re.compile(r"^\s*\**(\w+)\s*(?::\s*(.*))?$")
_UNDERLINE_RE = re.compile(r"^\s*-{3,}\s*$")
_REST_FIELD_RE = re.compile(r"^\s*:(param|type|returns?|rtype|raises?|yields?|var|ivar|cvar|meta)\b")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_docstring(doc: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Docstring -> (description, {arg: description}, {arg: type text}).

    Google style (``Args:`` sections, continuation lines joined) is the main format; reST ``:param x:`` fields and
    NumPy ``Parameters`` / ``----------`` sections are read too. The description is the text before the first
    section, joined with spaces.
    """
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    n = len(lines)
    args: dict[str, str] = {}
    arg_types: dict[str, str] = {}

    def numpy_header(k: int) -> bool:
        return k + 1 < n and bool(lines[k].strip()) and bool(_UNDERLINE_RE.match(lines[k + 1]))

    def starts_section(k: int) -> bool:
        return bool(_SECTION_RE.match(lines[k]) or _REST_FIELD_RE.match(lines[k])) or numpy_header(k)

    i = 0
    summary: list[str] = []
    while i < n and not starts_section(i):
        summary.append(lines[i].strip())
        i += 1
    current: str | None = None
    while i < n:
        line = lines[i]
        header = _SECTION_RE.match(line)
        if numpy_header(i):  # NumPy: "Parameters\n----------\nx : int\n    description"
            in_args = line.strip().lower() in _ARGS_HEADERS
            base = _indent(line)
            i += 2
            current = None
            while i < n and not numpy_header(i) and not _SECTION_RE.match(lines[i]):
                line = lines[i]
                if line.strip() and _indent(line) <= base:
                    m = _NUMPY_ARG_RE.match(line) if in_args else None
                    current = m.group(1) if m else None
                    if current:
                        args[current] = ""
                        if m.group(2):
                            arg_types[current] = m.group(2).strip()
                elif line.strip() and current:
                    args[current] = (args[current] + " " + line.strip()).strip()
                i += 1
            continue
        if header:  # Google: "Args:" then indented "name (type): description" entries
            in_args = header.group(1).lower() in _ARGS_HEADERS
            base = _indent(line)
            i += 1
            entry_indent = None
            current = None
            while i < n:
                line = lines[i]
                if not line.strip():
                    i += 1
                    continue
                if _indent(line) <= base:
                    break
                m = _ARG_RE.match(line) if in_args else None
                if m and (entry_indent is None or _indent(line) <= entry_indent):
                    entry_indent = _indent(line)
                    current = m.group(2)
                    args[current] = m.group(4).strip()
                    if m.group(3):
                        arg_types[current] = m.group(3)
                elif in_args and current is not None:
                    args[current] = (args[current] + " " + line.strip()).strip()
                i += 1
            continue
        m = _REST_PARAM_RE.match(line)  # reST: ":param [type] name: description"
        if m:
            current = m.group(2)
            args[current] = m.group(3).strip()
            if m.group(1):
                arg_types[current] = m.group(1)
        elif _REST_FIELD_RE.match(line):
            mt = _REST_TYPE_RE.match(line)
            if mt:
                arg_types[mt.group(1)] = mt.group(2).strip()
            current = None
        elif current is not None and line.strip() and line[:1].isspace():
            args[current] = (args[current] + " " + line.strip()).strip()
        else:
            current = None
        i += 1
    description = " ".join(x for x in summary if x)
    return description, args, arg_types


def _hint_targets(fn) -> list:
    if isinstance(fn, type):
        return [fn.__init__]
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return [fn]
    return [fn, getattr(fn, "func", None), getattr(type(fn), "__call__", None)]  # partial, callable objects


def _callable_hints(fn) -> dict:
    """Resolved annotations (``from __future__ import annotations`` too); {} if they cannot all be resolved."""
    for target in _hint_targets(fn):
        if target is None:
            continue
        try:
            return typing.get_type_hints(target, include_extras=True)
        except Exception:
            continue
    return {}


def _eval_annotation(ann: str, fn):
    """Resolve one string annotation when get_type_hints failed on another one (e.g. a local class)."""
    namespace = dict(vars(typing))
    for target in _hint_targets(fn):
        namespace.update(getattr(inspect.unwrap(target), "__globals__", {}) if target is not None else {})
    try:
        return eval(ann, namespace)  # what typing.get_type_hints does, one annotation at a time
    except Exception:
        return ann


_UNION_TYPES = (typing.Union, getattr(types, "UnionType", typing.Union))


def _is_pydantic_model(ann) -> bool:
    return isinstance(ann, type) and hasattr(ann, "model_json_schema")


def _metadata_text(m) -> str | None:
    """Description inside Annotated[...]: a plain string, or an object with .description / .documentation
    (pydantic ``Field(description=...)``, ``annotated_types``/``typing_extensions.Doc``)."""
    if isinstance(m, str):
        return m
    for attr in ("description", "documentation"):
        value = getattr(m, attr, None)
        if isinstance(value, str):
            return value
    return None


def _annotation(ann, where: str):
    """Python annotation -> (type, enum, items, optional, description)."""
    description = None
    optional = False
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(ann)
        t, e, it, opt, d = _annotation(base, where)
        text = next((x for x in map(_metadata_text, meta) if x is not None), None)
        return t, e, it, opt, text if text is not None else d
    if origin in _UNION_TYPES:
        args = typing.get_args(ann)
        non_none = [a for a in args if a is not type(None)]
        optional = len(non_none) < len(args)
        if not non_none:
            raise ToolSchemaError(f"{where}: unsupported type annotation None; use one of str, int, float, bool, "
                                  f"list, dict")
        t, e, it, opt, d = _annotation(non_none[0], where)  # Union[X, Y] -> X (first non-None member)
        return t, e, it, optional or opt, d
    if ann is inspect.Parameter.empty or ann is typing.Any or ann is object:
        return "string", None, None, False, None
    if origin is typing.Literal:
        values = list(typing.get_args(ann))
        values = [v.value if isinstance(v, _enum.Enum) else v for v in values]
        none = None in values
        values = [v for v in values if v is not None]
        return _value_type(values), _check_enum(values, where), None, none, None
    if isinstance(ann, type) and issubclass(ann, _enum.Enum):
        values = [m.value for m in ann]
        return _value_type(values), _check_enum(values, where), None, False, None
    if isinstance(ann, str):  # unresolved forward reference: understand plain names only
        base = ann.strip().split("[", 1)[0].split(".")[-1]
        canon = _TYPE_ALIASES.get(base.lower())
        if canon is None:
            raise ToolSchemaError(f"{where}: cannot resolve type annotation {ann!r} (with `from __future__ import "
                                  f"annotations`, define the type at module level); use str, int, float, bool, "
                                  f"list[...], dict, Literal[...], an Enum, Optional[...] or Annotated[...]")
        return canon, None, None, False, None
    if isinstance(ann, typing.ForwardRef):
        return _annotation(ann.__forward_arg__, where)
    base = origin or ann
    if isinstance(base, type):
        if issubclass(base, bool):
            return "boolean", None, None, False, None
        if issubclass(base, str):
            return "string", None, None, False, None
        if issubclass(base, int):
            return "integer", None, None, False, None
        if issubclass(base, float):
            return "number", None, None, False, None
        if issubclass(base, (dict, cabc.Mapping)) or typing.is_typeddict(base) or dataclasses.is_dataclass(base) \
                or _is_pydantic_model(base):
            return "object", None, None, False, None
        if issubclass(base, (list, tuple, set, frozenset, cabc.Sequence, cabc.Set, cabc.Iterable)) \
                and not issubclass(base, (bytes, bytearray)):
            args = [a for a in typing.get_args(ann) if a is not Ellipsis]
            items = None
            if args:
                kinds = {_annotation(a, where + ".items")[0] for a in args}
                items = kinds.pop() if len(kinds) == 1 else None
            return "array", None, items, False, None
    shown = f"{ann.__module__}.{ann.__qualname__}" if isinstance(ann, type) else repr(ann)
    raise ToolSchemaError(f"{where}: unsupported type annotation {shown!r}; use "
                          f"str, int, float, bool, list[...], dict, Literal[...], an Enum, Optional[...] or "
                          f"Annotated[...] (maps to {_TYPES_HINT})")


def _tool_from_callable(fn, where: str, name: str | None = None, description: str | None = None) -> Tool:
    if name is None:
        name = getattr(fn, "__name__", None)
        if not isinstance(name, str):
            raise ToolSchemaError(f"{where}: this callable has no __name__; wrap it with tool(fn, name=\"...\")")
    if not isinstance(name, str):
        raise ToolSchemaError(f"{where}.name: must be a string, got {_show(name)}")
    if not to_snake_case(name):
        raise ToolSchemaError(f"{where}.name: {name!r} has no letters or digits; use tool(fn, name=\"...\")")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as err:
        raise ToolSchemaError(f"{where}: cannot read the signature of {fn!r} ({err}); pass a JSON schema "
                              f"instead") from None
    doc_desc, doc_args, doc_types = _parse_docstring(inspect.getdoc(fn) or "")
    hints = _callable_hints(fn)
    params = []
    for idx, p in enumerate(sig.parameters.values()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if idx == 0 and p.name in ("self", "cls"):
            continue
        pwhere = f"{where}.parameters.{p.name}"
        ann = hints.get(p.name, p.annotation)
        if isinstance(ann, str):
            ann = _eval_annotation(ann, fn)
        if ann is inspect.Parameter.empty and p.name in doc_types:  # no annotation: use "x (int): ..." if given
            canon = _TYPE_ALIASES.get(doc_types[p.name].split(",")[0].strip().split("[")[0].lower())
            ann = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                   "object": dict}.get(canon, inspect.Parameter.empty)
        ptype, enum, items, optional, ann_desc = _annotation(ann, pwhere)
        pdesc = ann_desc if ann_desc is not None else doc_args.get(p.name, "")
        required = p.default is inspect.Parameter.empty and not optional
        params.append(Param(name=p.name, type=ptype, description=pdesc, required=required, enum=enum, items=items))
    if description is None:
        description = doc_desc
    if not isinstance(description, str):
        raise ToolSchemaError(f"{where}.description: must be a string, got {_show(description)}")
    return Tool(name=name, description=description, parameters=params)


def tool(fn=None, *, name: str | None = None, description: str | None = None):
    """Decorator: read a Python function's signature and docstring into a :class:`Tool`.

    ``@tool``, ``@tool()`` and ``@tool(name=..., description=...)`` all work. The function is returned unchanged
    with the canonical tool attached as ``fn.__needle_tool__`` (so ``parse_tools([fn])`` returns exactly it).
    Errors in the annotations raise :class:`ToolSchemaError` at decoration time.
    """
    def wrap(f):
        if not callable(f):
            raise TypeError(f"@tool expects a function, got {type(f).__name__}")
        where = f"@tool {getattr(f, '__qualname__', None) or name or f!r}"
        t = _tool_from_callable(f, where, name=name, description=description)
        try:
            f.__needle_tool__ = t
        except (AttributeError, TypeError):
            raise TypeError(f"{where}: cannot attach the tool to {f!r}; pass it to parse_tools directly "
                            f"instead") from None
        return f

    return wrap(fn) if fn is not None else wrap


# --------------------------------------------------------------------------------------------------------------
# parse_tools
# --------------------------------------------------------------------------------------------------------------

class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _reject_constant(c):
    raise ValueError(f"{c} is not valid JSON")


def _loads_strict(text: str):
    """json.loads that rejects NaN/Infinity and duplicate keys (raises json.JSONDecodeError / _DuplicateKey)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def _foreign_tool(obj, where: str) -> Tool | None:
    """A Tool of another copy of this module, copied field by field, else None.

    The same file is loaded twice in one process when the Hub remote code (``transformers_modules...tools``) runs
    next to ``needle_hf.modeling.tools``; their Tool classes differ, so isinstance() alone would reject the other's.
    """
    if isinstance(obj, Tool) or type(obj).__name__ != "Tool" or not dataclasses.is_dataclass(obj):
        return None
    try:
        params = [Param(p.name, p.type, p.description, p.required, None if p.enum is None else list(p.enum),
                        p.items, getattr(p, "format", None)) for p in obj.parameters]
        t = Tool(obj.name, obj.description, params)
    except (AttributeError, TypeError):
        return None
    _check_tool(t, where)
    return t


def _one_tool(item, where: str) -> Tool:
    if isinstance(item, Tool):
        _check_tool(item, where)
        return item
    if isinstance(item, dict):
        return _tool_from_dict(item, where)
    foreign = _foreign_tool(item, where)
    if foreign is not None:
        return foreign
    if callable(item):
        t = getattr(item, "__needle_tool__", None)
        if isinstance(t, Tool):
            return t
        foreign = _foreign_tool(t, where)  # decorated by another copy's @tool: keep its name/description
        return foreign if foreign is not None else _tool_from_callable(item, where)
    raise ToolSchemaError(f"{where}: expected a tool schema object, a Python function or a Tool, got "
                          f"{_show(item)}")


def parse_tools(tools) -> list[Tool]:
    """Read tools in any accepted format into canonical :class:`Tool` objects (input order kept).

    ``tools`` may be a JSON string (array or single object), a list/tuple (items may mix formats), a single dict,
    a callable, a :class:`Tool`, or None (no tools). A list of valid Tools is returned unchanged. Raises
    :class:`ToolSchemaError` naming ``tools[i]`` and the field.
    """
    if tools is None:
        return []
    if isinstance(tools, (bytes, bytearray)):
        tools = tools.decode("utf-8")
    if isinstance(tools, str):
        try:
            tools = _loads_strict(tools)
        except json.JSONDecodeError as err:
            raise ToolSchemaError(f"tools: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); pass "
                                  f"a JSON array of tool objects") from None
        except _DuplicateKey as err:
            raise ToolSchemaError(f"tools: duplicate key {err.args[0]!r} in a JSON object; each key may appear only "
                                  f"once") from None
        except ValueError as err:
            raise ToolSchemaError(f"tools: not valid JSON ({err}); pass a JSON array of tool objects") from None
        if not isinstance(tools, (list, dict)):
            raise ToolSchemaError(f"tools: expected a JSON array of tool objects, got "
                                  f"{_json_kind(tools)}")
    if isinstance(tools, (dict, Tool)) or (callable(tools) and not isinstance(tools, (list, tuple))) \
            or _foreign_tool(tools, "tools[0]") is not None:
        tools = [tools]
    if not isinstance(tools, (list, tuple)):
        raise ToolSchemaError(f"tools: expected a list of tools (schema objects, functions or Tool), got "
                              f"{_show(tools)}")
    out: list[Tool] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(tools):
        t = _one_tool(item, f"tools[{i}]")
        snake = t.snake_name
        if snake in seen:
            j = seen[snake]
            raise ToolSchemaError(f"tools[{i}].name: {t.name!r} becomes {snake!r}, the same name as tools[{j}] "
                                  f"({out[j].name!r}); tool names must differ after snake_case, rename one")
        seen[snake] = i
        out.append(t)
    return out


def _json_kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


# --------------------------------------------------------------------------------------------------------------
# canonical text
# --------------------------------------------------------------------------------------------------------------

def tool_to_dict(t: Tool) -> dict:
    """Flat Needle schema with the snake_case name:
    ``{"name", "description", "parameters": {p: {"type", "description", "required"[, "enum"][, "items"]}}}``."""
    if not isinstance(t, Tool):
        (t,) = parse_tools([t])
    params = {}
    for p in t.parameters:
        spec = {"type": p.type, "description": p.description, "required": p.required}
        if p.enum:
            spec["enum"] = list(p.enum)
        if p.items is not None and p.type == "array":
            spec["items"] = p.items
        params[p.name] = spec
    return {"name": t.snake_name, "description": t.description, "parameters": params}


def _dumps(obj, ensure_ascii: bool) -> str:
    return json.dumps(obj, separators=_SEPARATORS, ensure_ascii=ensure_ascii, allow_nan=False)


def tools_to_text(tools, ensure_ascii: bool = False) -> str:
    """Compact JSON array of :func:`tool_to_dict` (what the encoder sees after ``<tools>``). Any accepted format."""
    return _dumps([tool_to_dict(t) for t in parse_tools(tools)], ensure_ascii)


def tool_to_text(t, ensure_ascii: bool = False) -> str:
    """Compact JSON of one tool (retrieval / contrastive inputs)."""
    return _dumps(tool_to_dict(t), ensure_ascii)


def tools_fingerprint(tools) -> str:
    """sha256 hex of the canonical tool set: tool order does not matter, parameter order does (the model sees it).

    Computed over ``tools_to_text`` of the tools sorted by snake name (``ensure_ascii=False``, UTF-8), so it is
    stable across processes and Python versions.
    """
    canonical = sorted(parse_tools(tools), key=lambda t: t.snake_name)
    return hashlib.sha256(tools_to_text(canonical).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# calls
# --------------------------------------------------------------------------------------------------------------

_CALL_SHAPE = 'a call is {"name": "tool_name", "arguments": {...}}'


def _check_call(c, i: int) -> dict:
    where = f"call {i}"
    if not isinstance(c, dict):
        raise CallParseError(f"{where}: expected an object, got {_json_kind(c)}; {_CALL_SHAPE}")
    extra = [k for k in c if k not in ("name", "arguments")]
    if extra:
        raise CallParseError(f"{where}: unexpected key {extra[0]!r}; {_CALL_SHAPE}")
    if "name" not in c:
        raise CallParseError(f"{where}: missing \"name\"; {_CALL_SHAPE}")
    name = c["name"]
    if not isinstance(name, str) or not name:
        raise CallParseError(f"{where}: \"name\" must be a non-empty string, got {_json_kind(name)}")
    args = c.get("arguments")
    if args is None:  # missing or null arguments = no arguments
        args = {}
    if not isinstance(args, dict):
        raise CallParseError(f"{where} ({name}): \"arguments\" must be an object, got {_json_kind(args)}")
    return {"name": name, "arguments": args}


def _normalise_calls(value) -> list[dict]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise CallParseError(f"answer: expected a JSON array of calls, got {_json_kind(value)}; {_CALL_SHAPE}")
    return [_check_call(c, i) for i, c in enumerate(value)]


def parse_calls(text: str) -> list[dict]:
    """Strict parse of model output / an ``answers`` string into ``[{"name": str, "arguments": dict}, ...]``.

    A single call object is wrapped in a list; a leading ``<tool_call>`` marker and surrounding whitespace are
    ignored; missing or null ``arguments`` become ``{}``. Anything else raises :class:`CallParseError`.
    """
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise CallParseError(f"answer: expected a string, got {type(text).__name__}")
    s = text.strip()
    if s.startswith("<tool_call>"):
        s = s[len("<tool_call>"):].strip()
    if not s:
        raise CallParseError("answer: empty output; expected a JSON array of calls such as "
                             "[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}] or []")
    try:
        value = _loads_strict(s)
    except json.JSONDecodeError as err:
        raise CallParseError(f"answer: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}) in "
                             f"{_short(s, 80)}") from None
    except _DuplicateKey as err:
        raise CallParseError(f"answer: duplicate key {err.args[0]!r} in a JSON object") from None
    except ValueError as err:
        raise CallParseError(f"answer: not valid JSON ({err})") from None
    return _normalise_calls(value)


def answers_to_text(calls, ensure_ascii: bool = False) -> str:
    """Compact JSON array of calls, each as ``{"name", "arguments"}`` in that key order (decoder target text)."""
    if isinstance(calls, (str, bytes, bytearray)):
        return _dumps(parse_calls(calls), ensure_ascii)
    return _dumps(_normalise_calls(list(calls) if isinstance(calls, tuple) else calls), ensure_ascii)


_INT_RE = re.compile(r"^[+-]?\d+$")


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _coerce(value, ptype: str, coerce: bool):
    """Returns (ok, value)."""
    if ptype == "string":
        return isinstance(value, str), value
    if ptype == "boolean":
        if isinstance(value, bool):
            return True, value
        if coerce and isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return True, value.strip().lower() == "true"
        return False, value
    if ptype == "integer":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if coerce:
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                return True, int(value)
            if isinstance(value, str):
                s = value.strip()
                if _INT_RE.match(s):
                    return True, int(s)
                try:
                    f = float(s)
                except ValueError:
                    return False, value
                if math.isfinite(f) and f.is_integer():
                    return True, int(f)
        return False, value
    if ptype == "number":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if isinstance(value, float):
            return math.isfinite(value), value
        if coerce and isinstance(value, str):
            s = value.strip()
            if _INT_RE.match(s):
                return True, int(s)
            try:
                f = float(s)
            except ValueError:
                return False, value
            return (True, f) if math.isfinite(f) else (False, value)
        return False, value
    if ptype == "array":
        return isinstance(value, list), value
    if ptype == "object":
        return isinstance(value, dict), value
    return False, value


def validate_calls(calls, tools, coerce: bool = True) -> tuple[list[dict], list[str]]:
    """Check calls against tools; returns (calls with coerced argument values, error reasons).

    Checks: known tool (snake name, or the original name), known argument names, required arguments present,
    argument types (``bool`` is not an integer; integers are valid numbers), enums and array element types. With
    ``coerce`` the string forms ``"5"``/``"2.5"``/``"true"`` become 5 / 2.5 / True where the schema says so (and
    5.0 -> 5 for integers). ``null`` is accepted for an optional argument. The returned list has one call per input
    call, in order; an empty error list means valid. ``calls`` may also be a JSON string (parsed by parse_calls).
    """
    if isinstance(calls, (str, bytes, bytearray)):
        calls = parse_calls(calls)
    elif isinstance(calls, dict):
        calls = [calls]
    by_name: dict[str, Tool] = {}
    parsed = parse_tools(tools)
    for t in parsed:
        by_name[t.snake_name] = t
    for t in parsed:
        by_name.setdefault(t.name, t)
    out: list[dict] = []
    errors: list[str] = []
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            errors.append(f"call {i}: expected an object with a string \"name\", got {_short(call)}")
            out.append(call)
            continue
        name = call["name"]
        args = call.get("arguments", {})
        if args is None:
            args = {}
        t = by_name.get(name)
        if t is None:
            errors.append(f"call {i}: unknown tool {name!r}")
            out.append(dict(call))
            continue
        where = f"call {i} ({name})"
        if not isinstance(args, dict):
            errors.append(f"{where}: arguments must be an object, got {_short(args)}")
            out.append(dict(call))
            continue
        params = {p.name: p for p in t.parameters}
        new_args = {}
        for key, value in args.items():
            p = params.get(key)
            if p is None:
                known = ", ".join(params) or "none"
                errors.append(f"{where}: unknown argument {key!r} (parameters: {known})")
                new_args[key] = value
                continue
            if value is None and not p.required:
                new_args[key] = value
                continue
            ok, value = _coerce(value, p.type, coerce)
            if not ok:
                errors.append(f"{where}: argument {key!r} must be {p.type}, got {_short(value)}")
            elif p.type == "array" and p.items is not None:
                items = []
                for k, item in enumerate(value):
                    item_ok, item = _coerce(item, p.items, coerce)
                    if not item_ok:
                        errors.append(f"{where}: argument {key!r} item {k} must be {p.items}, got {_short(item)}")
                    items.append(item)
                value = items
            if ok and p.enum and not any(_same(value, e) for e in p.enum):
                allowed = ", ".join(_short(e) for e in p.enum)
                errors.append(f"{where}: argument {key!r} must be one of {allowed}, got {_short(value)}")
            new_args[key] = value
        for p in t.parameters:
            if p.required and p.name not in args:
                errors.append(f"{where}: missing required argument {p.name!r}")
        new_call = dict(call)
        new_call["arguments"] = new_args
        out.append(new_call)
    return out, errors


def restore_names(calls, tools) -> list[dict]:
    """Map snake_case tool names in calls back to the original names (unknown names are left as they are).

    Returns new call dicts; the input is not modified. Unlike the v1 reference there is no string-replacement
    fallback on unparseable text (it could rewrite argument values): pass parsed calls (or a JSON string, which is
    parsed with parse_calls).
    """
    if isinstance(calls, (str, bytes, bytearray)):
        calls = parse_calls(calls)
    elif isinstance(calls, dict):
        calls = [calls]
    mapping = {t.snake_name: t.name for t in parse_tools(tools)}
    out = []
    for c in calls:
        if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"] in mapping:
            c = dict(c)
            c["name"] = mapping[c["name"]]
        elif isinstance(c, dict):
            c = dict(c)
        out.append(c)
    return out
