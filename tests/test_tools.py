"""Tests for needle_hf.tools (= modeling/tools.py): formats -> canonical Tool, names, text, calls, validation."""
from __future__ import annotations

import datetime
import enum
import functools
import json
import re
import subprocess
import sys
from typing import Annotated, List, Literal, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import needle_hf.tools as T
from needle_hf.tools import (
    PARAM_TYPES,
    CallParseError,
    Param,
    Tool,
    ToolSchemaError,
    answers_to_text,
    parse_calls,
    parse_tools,
    restore_names,
    to_snake_case,
    tool,
    tool_to_dict,
    tool_to_text,
    tools_fingerprint,
    tools_to_text,
    validate_calls,
)

from .helpers_models import other_tools_copy

# ----------------------------------------------------------------------------------------------------------------
# one tool in every accepted format
# ----------------------------------------------------------------------------------------------------------------

EXPECTED = Tool(
    name="getWeather",
    description="Get the current weather for a city.",
    parameters=[
        Param("location", "string", "City name", required=True),
        Param("unit", "string", "Temperature unit", required=False, enum=["celsius", "fahrenheit"]),
        Param("days", "integer", "Forecast days", required=False),
        Param("tags", "array", "", required=False, items="string"),
        Param("threshold", "number", "", required=True),
        Param("verbose", "boolean", "", required=False),
        Param("filters", "object", "", required=False),
    ],
)

FLAT = {
    "name": "getWeather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "location": {"type": "string", "description": "City name", "required": True},
        "unit": {"type": "string", "description": "Temperature unit", "required": False,
                 "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "description": "Forecast days", "required": False},
        "tags": {"type": "array", "description": "", "required": False, "items": "string"},
        "threshold": {"type": "number", "description": "", "required": True},
        "verbose": {"type": "boolean", "description": "", "required": False},
        "filters": {"type": "object", "description": "", "required": False},
    },
}

JSON_SCHEMA = {
    "name": "getWeather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "description": "Temperature unit", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": ["integer", "null"], "description": "Forecast days"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "threshold": {"type": "number"},
            "verbose": {"type": "boolean"},
            "filters": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
        "required": ["location", "threshold"],
    },
}

OPENAI = {"type": "function", "function": JSON_SCHEMA, "strict": False}

BFCL = {
    "name": "getWeather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "dict",
        "properties": {
            "location": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "description": "Temperature unit", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "description": "Forecast days"},
            "tags": {"type": "tuple", "items": {"type": "str"}},
            "threshold": {"type": "float"},
            "verbose": {"type": "bool"},
            "filters": {"type": "dict"},
        },
        "required": ["location", "threshold"],
    },
}


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@tool
def getWeather(location: str, unit: Unit = Unit.C, days: Optional[int] = None, tags: list[str] | None = None, *,
               threshold: float, verbose: bool = False, filters: dict | None = None) -> str:
    """Get the current weather
    for a city.

    Args:
        location: City name
        unit: Temperature
            unit
        days (int): Forecast days

    Returns:
        A weather report.
    """
    return "sunny"


def _undecorated(location: Annotated[str, "City name"], threshold: float,
                 unit: Literal["celsius", "fahrenheit"] = "celsius",
                 days: Annotated[Optional[int], "Forecast days"] = None, tags: List[str] = (),
                 verbose: bool = False, filters: Optional[dict] = None):
    """Get the current weather for a city.

    :param unit: Temperature unit
    :returns: a report
    """


def _canon(t: Tool) -> Tool:
    """Order-independent comparison helper for the callable whose signature order differs."""
    return Tool(t.name, t.description, sorted(t.parameters, key=lambda p: p.name))


def test_flat_json_schema_openai_bfcl_are_the_same_tool():
    for schema in (FLAT, JSON_SCHEMA, OPENAI, BFCL):
        assert parse_tools(schema) == [EXPECTED]
        assert parse_tools([schema]) == [EXPECTED]
        assert parse_tools(json.dumps([schema])) == [EXPECTED]
        assert parse_tools(json.dumps(schema)) == [EXPECTED]  # a single object as a JSON string


def test_decorated_callable():
    (t,) = parse_tools(getWeather)
    assert getWeather.__needle_tool__ is t
    assert t == EXPECTED
    assert getWeather("Paris", threshold=1.0) == "sunny"  # the function itself is unchanged


def test_undecorated_callable_same_as_schema():
    (t,) = parse_tools([_undecorated])
    assert t.name == "_undecorated"
    assert _canon(Tool("getWeather", t.description, t.parameters)) == _canon(EXPECTED)
    assert [p.name for p in t.parameters][:2] == ["location", "threshold"]  # order as in the signature


def test_decorator_forms_and_overrides():
    @tool(name="lookUp", description="Look something up.")
    def f(query: str, limit: int = 5) -> list:
        """Ignored description.

        Args:
            query (str): What to look for.
                Continues here.
            limit: At most this many.
        """

    t = f.__needle_tool__
    assert t.name == "lookUp" and t.snake_name == "look_up"
    assert t.description == "Look something up."
    assert t.parameters == [Param("query", "string", "What to look for. Continues here.", True),
                            Param("limit", "integer", "At most this many.", False)]

    @tool()
    def g(self, x, *args, y: "int" = 1, **kwargs):
        """No args section at all."""

    assert g.__needle_tool__ == Tool("g", "No args section at all.",
                                     [Param("x", "string", "", True), Param("y", "integer", "", False)])
    assert parse_tools([g, f]) == [g.__needle_tool__, f.__needle_tool__]


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_docstring_styles_and_docstring_types():
    def numpy_style(x, y: str = "a"):
        """Do a thing.
        Over two lines.

        Parameters
        ----------
        x : int
            The x.
            Still x.
        y
            The y.

        Returns
        -------
        int
            Something.
        """

    def rest_style(x, y):
        """Do it.

        :param float x: The x
            continued
        :type y: list
        :param y: The y
        :returns: nothing
        """

    assert parse_tools(numpy_style)[0] == Tool("numpy_style", "Do a thing. Over two lines.", [
        Param("x", "integer", "The x. Still x.", True), Param("y", "string", "The y.", False)])
    assert parse_tools(rest_style)[0] == Tool("rest_style", "Do it.", [
        Param("x", "number", "The x continued", True), Param("y", "array", "The y", True)])


def test_annotated_pydantic_field_description():
    pydantic = pytest.importorskip("pydantic")

    def f(city):
        pass

    f.__annotations__ = {"city": Annotated[str, pydantic.Field(description="City name")]}  # no string annotation

    assert parse_tools(f)[0].parameters == [Param("city", "string", "City name", True)]


def test_callable_types():
    def h(a: list[list[int]], b: tuple[float, ...], c: Color, d: Level, e: Literal[1, 2, 3],
          f: dict[str, int], g: "Optional[str]" = None, k: Annotated[list[bool], "flags"] = None):
        pass

    p = {x.name: x for x in parse_tools(h)[0].parameters}
    assert (p["a"].type, p["a"].items) == ("array", "array")
    assert (p["b"].type, p["b"].items) == ("array", "number")
    assert (p["c"].type, p["c"].enum) == ("string", ["red", "blue"])
    assert (p["d"].type, p["d"].enum) == ("integer", [1, 2])
    assert (p["e"].type, p["e"].enum) == ("integer", [1, 2, 3])
    assert p["f"].type == "object"
    assert p["g"].type == "string" and not p["g"].required
    assert (p["k"].type, p["k"].items, p["k"].description) == ("array", "boolean", "flags")
    assert all(p[n].required for n in "abcdef")


def test_more_schema_variants():
    # anyOf with null, $ref into $defs (pydantic style), const, enum-only type inference, no type -> string,
    # Anthropic input_schema, MCP inputSchema, list-of-params form, Java/JS type names (BFCL java/js)
    schema = {
        "name": "book",
        "input_schema": {
            "type": "object",
            "$defs": {"Seat": {"enum": ["aisle", "window"], "type": "string"}},
            "properties": {
                "seat": {"$ref": "#/$defs/Seat", "description": "Seat kind"},
                "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "mode": {"const": "fast"},
                "level": {"enum": [1, 2]},
                "anything": {"description": "no type"},
                "ids": {"type": "ArrayList", "items": {"type": "long"}},
                "ratio": {"type": "double"},
                "m": {"type": "HashMap"},
                "x": {"type": "any"},
            },
            "required": ["seat"],
        },
    }
    p = {x.name: x for x in parse_tools(schema)[0].parameters}
    assert p["seat"] == Param("seat", "string", "Seat kind", True, ["aisle", "window"])
    assert p["n"] == Param("n", "integer")
    assert p["mode"] == Param("mode", "string", enum=["fast"])
    assert p["level"] == Param("level", "integer", enum=[1, 2])
    assert p["anything"] == Param("anything", "string", "no type")
    assert p["ids"] == Param("ids", "array", items="integer")
    assert (p["ratio"].type, p["m"].type, p["x"].type) == ("number", "object", "string")

    mcp = {"name": "f", "inputSchema": {"type": "object", "properties": {"a": {"type": "string"}}}}
    assert parse_tools(mcp)[0].parameters == [Param("a", "string")]
    listed = {"name": "f", "parameters": [{"name": "a", "type": "int", "required": True}, {"name": "b"}]}
    assert parse_tools(listed)[0].parameters == [Param("a", "integer", required=True), Param("b", "string")]
    assert parse_tools({"name": "noargs"}) == [Tool("noargs", "", [])]
    assert parse_tools({"name": "noargs", "parameters": {"type": "object"}}) == [Tool("noargs", "", [])]


def test_flat_params_named_like_json_schema_keywords():
    flat = {"name": "f", "parameters": {
        "type": {"type": "string", "description": "kind", "required": True},
        "properties": {"type": "object", "description": "", "required": False},
        "required": {"type": "boolean", "description": "", "required": False}}}
    t = parse_tools(flat)[0]
    assert [(p.name, p.type, p.required) for p in t.parameters] == [
        ("type", "string", True), ("properties", "object", False), ("required", "boolean", False)]
    assert parse_tools(json.loads(tools_to_text([t]))) == [t]
    js = {"name": "f", "parameters": {"type": "object", "properties": {"type": {"type": "string"}}}}
    assert parse_tools(js)[0].parameters == [Param("type", "string")]


def test_input_kinds_and_identity():
    tools = parse_tools([FLAT, {"name": "other"}])
    assert parse_tools(tools) == tools and all(a is b for a, b in zip(parse_tools(tools), tools))
    assert parse_tools(tools[0]) == [tools[0]]
    mixed = parse_tools([FLAT, Tool("second"), _undecorated])
    assert [t.name for t in mixed] == ["getWeather", "second", "_undecorated"]
    assert parse_tools(None) == [] and parse_tools("[]") == [] and parse_tools([]) == []
    assert parse_tools(tuple(tools)) == tools


def test_tools_from_another_copy_of_the_module():
    """The Hub remote-code copy of modeling/tools.py and needle_hf.modeling.tools have different Tool classes."""
    with other_tools_copy() as other:
        foreign = other.parse_tools(FLAT)[0]
        assert type(foreign) is not Tool
        assert parse_tools(foreign) == [EXPECTED] and parse_tools([foreign, {"name": "b"}])[0] == EXPECTED

        @other.tool(name="renamed", description="From the other copy.")
        def fn(x: int):
            pass

        assert parse_tools(fn) == [Tool("renamed", "From the other copy.", [Param("x", "integer", "", True)])]
        assert other.parse_tools(EXPECTED)[0] == foreign  # and the other way round
        dated = other.parse_tools({"name": "d", "parameters": {"on": {"type": "string", "format": "date"}}})[0]
        assert parse_tools(dated)[0].parameters[0].format == "date"  # the JSON Schema format crosses over too


def test_parameter_order_kept_and_defaults_empty():
    params = {k: {"type": "string"} for k in ["zeta", "alpha", "mid"]}
    t = parse_tools({"name": "f", "parameters": params})[0]
    assert [p.name for p in t.parameters] == ["zeta", "alpha", "mid"]
    assert t.description == "" and all(p.description == "" and p.required is False for p in t.parameters)
    assert list(tool_to_dict(t)["parameters"]) == ["zeta", "alpha", "mid"]


# ----------------------------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,snake", [
    ("getWeather", "get_weather"), ("HTTPServer", "http_server"), ("sendSMS", "send_sms"),
    ("Get-Weather 2", "get_weather_2"), ("already_snake", "already_snake"), ("__private__", "private"),
    ("v2Api", "v2_api"), ("ABCDeFGHij", "abc_de_fg_hij"), ("parseJSONData", "parse_json_data"),
    ("café_menu", "café_menu"), ("getWetterÜbersicht", "get_wetter_übersicht"), ("天気を取得", "天気を取得"),
    ("получитьПогоду", "получить_погоду"), ("ｇｅｔＷｅａｔｈｅｒ", "get_weather"), ("नमस्ते दुनिया", "नमस्ते_दुनिया"),
])
def test_to_snake_case(name, snake):
    assert to_snake_case(name) == snake


def _reference_snake(name: str) -> str:
    """Needle v1 reference (spec §2.2), ASCII-only."""
    s = re.sub(r"[^a-zA-Z0-9_]+", "_", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"_+", "_", s)
    return s.lower().strip("_")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aAbBzZ09_- .$xXyY"), max_size=16))
def test_snake_matches_reference_on_ascii(name):
    assert to_snake_case(name) == _reference_snake(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=16))
def test_snake_idempotent(name):
    s = to_snake_case(name)
    assert to_snake_case(s) == s
    assert not s.startswith("_") and not s.endswith("_") and "__" not in s


def test_restore_names_round_trip():
    tools = parse_tools([{"name": n} for n in ["getWeather", "HTTPServer", "café_menu", "получитьПогоду", "plain"]])
    text = tools_to_text(tools)
    snake = [t["name"] for t in json.loads(text)]
    assert snake == ["get_weather", "http_server", "café_menu", "получить_погоду", "plain"]
    calls = [{"name": s, "arguments": {"x": s}} for s in snake] + [{"name": "unknown", "arguments": {}}]
    restored = restore_names(calls, tools)
    assert [c["name"] for c in restored] == ["getWeather", "HTTPServer", "café_menu", "получитьПогоду", "plain",
                                            "unknown"]
    assert [c["arguments"] for c in restored] == [c["arguments"] for c in calls]  # values untouched
    assert calls[0]["name"] == "get_weather"  # input not modified
    assert restore_names(answers_to_text(calls[:1]), tools) == [{"name": "getWeather",
                                                                 "arguments": {"x": "get_weather"}}]


def test_non_ascii_text_and_ensure_ascii():
    tools = parse_tools({"name": "caféMenu", "description": "Zürich"})
    assert tools_to_text(tools) == '[{"name":"café_menu","description":"Zürich","parameters":{}}]'
    assert tools_to_text(tools, ensure_ascii=True) == \
        '[{"name":"caf\\u00e9_menu","description":"Z\\u00fcrich","parameters":{}}]'
    assert tool_to_text(tools[0]) == tools_to_text(tools)[1:-1]
    calls = [{"arguments": {"city": "Zürich"}, "name": "café_menu"}]
    assert answers_to_text(calls) == '[{"name":"café_menu","arguments":{"city":"Zürich"}}]'
    assert answers_to_text(calls, ensure_ascii=True) == \
        '[{"name":"caf\\u00e9_menu","arguments":{"city":"Z\\u00fcrich"}}]'
    assert answers_to_text([]) == "[]"


# ----------------------------------------------------------------------------------------------------------------
# bad tool input: messages name the place and what to do
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tools,expected", [
    ('[{"name": "a",}]', r"tools: not valid JSON \(line 1, column 15: Expecting property name"),
    ('[\n{"name": "a"}\n{"name": "b"}]', r"not valid JSON \(line 3, column 1: Expecting ',' delimiter\)"),
    ("", r"tools: not valid JSON \(line 1, column 1"),
    ("42", r"tools: expected a JSON array of tool objects, got a number"),
    ('"get_weather"', r"expected a JSON array of tool objects, got a string"),
    (42, r"tools: expected a list of tools"),
    ([{"name": "a"}, "b"], r"tools\[1\]: expected a tool schema object, a Python function or a Tool, got str"),
    ([{"name": "a"}, {"description": "no name"}], r"tools\[1\]: missing \"name\"; every tool needs a name"),
    ([{"name": 5}], r"tools\[0\]\.name: must be a string, got int 5"),
    ([{"name": "?!"}], r"tools\[0\]\.name: '\?!' has no letters or digits"),
    ([{"type": "function", "function": {"description": "x"}}], r"tools\[0\]\.function: missing \"name\""),
    ([{"name": "a"}, {"name": "b"}, {"name": "c", "parameters": {"when": {"type": "datetime"}}}],
     r"^tools\[2\]\.parameters\.when: unsupported type 'datetime'; use one of string, integer, number, boolean, "
     r"array, object$"),
    ([{"name": "a", "parameters": {"type": "object", "properties": {"w": {"type": "date"}}}}],
     r"tools\[0\]\.parameters\.w: unsupported type 'date'; use one of"),
    ([{"name": "a", "parameters": {"w": {"type": "array", "items": {"type": "timestamp"}}}}],
     r"tools\[0\]\.parameters\.w\.items: unsupported type 'timestamp'"),
    ([{"name": "a", "parameters": {"w": {"type": 3}}}], r"tools\[0\]\.parameters\.w: type must be a string"),
    ([{"name": "a", "parameters": {"w": "string"}}], r"tools\[0\]\.parameters\.w: expected an object such as"),
    ([{"name": "a", "parameters": {"w": {"type": "string", "required": "yes"}}}],
     r"tools\[0\]\.parameters\.w\.required: must be true or false, got str 'yes'"),
    ([{"name": "a", "parameters": {"w": {"type": "string", "enum": "abc"}}}],
     r"tools\[0\]\.parameters\.w\.enum: must be a list"),
    ([{"name": "a", "parameters": "x"}], r"tools\[0\]\.parameters: expected an object mapping parameter names"),
    ([{"name": "a", "parameters": {"type": "string"}}], r"must have \"type\": \"object\", got 'string'"),
    ([{"name": "a", "parameters": {"type": "object", "properties": {}, "required": ["x"]}}],
     r"tools\[0\]\.parameters\.required: 'x' is not in properties"),
    ([{"name": "a", "description": 7}], r"tools\[0\]\.description: must be a string, got int 7"),
    ([{"name": "a", "parameters": {"type": "object", "properties": {"s": {"$ref": "#/$defs/Missing"}}}}],
     r"tools\[0\]\.parameters\.s: cannot resolve \$ref '#/\$defs/Missing'"),
    ('[{"name": "a", "name": "b"}]', r"tools: duplicate key 'name' in a JSON object"),
    ('[{"name": "a", "parameters": {"x": {"type": "number", "enum": [NaN]}}}]', r"tools: not valid JSON"),
    ([Tool("a", "", [Param("x", "float")])], r"tools\[0\]\.parameters\.x: unsupported type 'float'"),
])
def test_bad_tools_messages(tools, expected):
    with pytest.raises(ToolSchemaError, match=expected):
        parse_tools(tools)


_W = "tools[0].parameters"


@pytest.mark.parametrize("tools,expected", [
    # tool level: the tool silently lost its parameters / description / name
    ({"name": "w", "paramters": {"x": {"type": "string"}}}, "tools[0]: unknown key 'paramters' (did you mean "
                                                             "'parameters'?)"),
    ({"nmae": "w"}, "tools[0]: unknown key 'nmae' (did you mean 'name'?)"),
    ({"name": "w", "descripton": "x"}, "tools[0]: unknown key 'descripton' (did you mean 'description'?)"),
    ({"name": "w", "input_schma": {}}, "tools[0]: unknown key 'input_schma' (did you mean 'input_schema'?)"),
    ({"name": "w", "inputschema": {}}, "tools[0]: unknown key 'inputschema' (did you mean 'inputSchema'?)"),
    # OpenAI wrapper: both the wrapper and the function object
    ({"type": "function", "functon": {"name": "w"}}, "tools[0]: unknown key 'functon' (did you mean 'function'?)"),
    ({"type": "function", "function": {"name": "w", "paramters": {}}},
     "tools[0].function: unknown key 'paramters' (did you mean 'parameters'?)"),
    ({"type": "function", "function": {"name": "w", "parameters": {"type": "object", "properties": {
        "x": {"tpye": "string"}}}}}, "tools[0].function.parameters.x: unknown key 'tpye' (did you mean 'type'?)"),
    # flat v1 parameter specs: became optional strings
    ({"name": "w", "parameters": {"location": {"typ": "string"}}},
     f"{_W}.location: unknown key 'typ' (did you mean 'type'?)"),
    ({"name": "w", "parameters": {"location": {"type": "string", "requird": True}}},
     f"{_W}.location: unknown key 'requird' (did you mean 'required'?)"),
    ({"name": "w", "parameters": {"a": {"type": "string", "enums": ["x"]}}},
     f"{_W}.a: unknown key 'enums' (did you mean 'enum'?)"),
    ({"name": "w", "parameters": {"a": {"Type": "integer"}}}, f"{_W}.a: unknown key 'Type' (did you mean 'type'?)"),
    ({"name": "w", "parameters": [{"name": "a", "typ": "int"}]},
     f"{_W}[0]: unknown key 'typ' (did you mean 'type'?)"),
    # JSON Schema (OpenAI / BFCL / Anthropic / MCP): the parameters object, properties, items
    ({"name": "w", "parameters": {"type": "object", "propertis": {"x": {"type": "string"}}}},
     f"{_W}: unknown key 'propertis' (did you mean 'properties'?)"),
    ({"name": "w", "parameters": {"type": "dict", "properties": {"a": {"type": "str"}}, "requried": ["a"]}},
     f"{_W}: unknown key 'requried' (did you mean 'required'?)"),
    ({"name": "w", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}, "requires": ["a"]}},
     f"{_W}: unknown key 'requires' (did you mean 'required'?)"),
    ({"name": "w", "input_schema": {"type": "object", "properties": {"a": {"type": "array", "item": {}}}}},
     "tools[0].input_schema.a: unknown key 'item' (did you mean 'items'?)"),
    ({"name": "w", "inputSchema": {"type": "object", "properties": {"a": {"type": "array", "items": {"typ": "int"}}}}},
     "tools[0].inputSchema.a.items: unknown key 'typ' (did you mean 'type'?)"),
    ({"name": "w", "parameters": {"type": "object", "properties": {"a": {"anyof": [{"type": "integer"}]}}}},
     f"{_W}.a: unknown key 'anyof' (did you mean 'anyOf'?)"),
    ({"name": "w", "parameters": {"type": "object", "properties": {"a": {"ref": "#/$defs/A"}}}},
     f"{_W}.a: unknown key 'ref' (did you mean '$ref'?)"),
])
def test_misspelled_schema_keys_are_errors(tools, expected):
    with pytest.raises(ToolSchemaError) as err:
        parse_tools([tools])
    assert str(err.value) == expected


@pytest.mark.parametrize("parameters, expected", [
    # without "type" (or with it misspelled) a JSON Schema reads as the flat form: these became parameters called
    # "propertes" / "required" / "args" (optional strings) and the real parameters were lost
    ({"propertes": {"city": {"type": "string"}}},
     r"parameters\.propertes: holds parameter-like entries \(city\) but no \"type\" or \"description\" "
     r"\(did you mean 'properties'\?\)"),
    ({"propertes": {"city": {"type": "string"}}, "required": ["city"]},
     r"parameters\.required: a list of names, but these parameters have no \"properties\" object"),
    ({"args": {"city": {"type": "string"}, "days": {}}}, r"parameters\.args: holds parameter-like entries \(city, "
                                                         r"days\) but no \"type\" or \"description\"; a JSON Schema"),
])
def test_json_schema_read_as_flat_form_is_an_error(parameters, expected):
    with pytest.raises(ToolSchemaError, match=expected) as err:
        parse_tools([{"name": "w", "parameters": parameters}])
    assert str(err.value).startswith("tools[0].parameters.") and '"properties"' in str(err.value)


def test_json_schema_without_type_and_a_bad_required_names_required():
    with pytest.raises(ToolSchemaError) as err:
        parse_tools([{"name": "w", "parameters": {"properties": {"a": {"type": "string"}}, "required": "a"}}])
    assert str(err.value) == "tools[0].parameters.required: must be a list of parameter names, got str 'a'"


def test_flat_parameters_that_look_like_schema_words_are_kept():
    """Parameters literally called "type", "properties" or "required", and specs with extra keys, still read."""
    (tool,) = parse_tools([{"name": "w", "parameters": {
        "type": {"type": "string"}, "properties": {"type": "object", "description": "extra fields"},
        "required": {"type": "boolean", "required": True}, "opts": {}, "when": {"format": "date"},
        # untyped specs whose entries are objects: JSON Schema keywords and x- keys, or entries that are no specs
        "d": {"default": {}}, "m": {"additionalProperties": {"type": "string"}}, "n": {"not": {"type": "string"}},
        "x": {"x-meta": {"type": "t"}}, "b": {"a": {}}}}])
    assert [(p.name, p.type, p.required) for p in tool.parameters] == [
        ("type", "string", False), ("properties", "object", False), ("required", "boolean", True),
        ("opts", "string", False), ("when", "string", False), ("d", "string", False), ("m", "string", False),
        ("n", "string", False), ("x", "string", False), ("b", "string", False)]


# legitimate keys that the reader ignores (values are placeholders); several are one or two letters away from a
# key it reads (title/type, minItems/items, maxProperties/properties, outputSchema/inputSchema, typeof/type, ...)
LEGIT_EXTRAS = {
    "title": "T", "default": None, "examples": ["a"], "example": "a", "format": "date", "pattern": ".*",
    "minimum": 0, "maximum": 9, "exclusiveMinimum": 0, "exclusiveMaximum": 9, "multipleOf": 1, "minLength": 1,
    "maxLength": 9, "minItems": 1, "maxItems": 9, "uniqueItems": True, "prefixItems": [], "contains": {},
    "additionalProperties": False, "patternProperties": {}, "propertyNames": {}, "minProperties": 0,
    "maxProperties": 9, "dependentRequired": {}, "unevaluatedProperties": False, "not": {}, "if": {}, "then": {},
    "else": {}, "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x", "$comment": "c",
    "$anchor": "a", "nullable": True, "deprecated": False, "readOnly": False, "writeOnly": False,
    "contentMediaType": "text/plain", "contentEncoding": "base64", "discriminator": {}, "propertyOrdering": [],
    "enumNames": [], "typeof": "string", "optional": True, "strict": True, "cache_control": {"type": "ephemeral"},
    "annotations": {"readOnlyHint": True}, "outputSchema": {"type": "object"}, "output_schema": {}, "_meta": {},
    "icons": [], "x-vendor": 1, "x-required": True, "x-type": "int",
}


def test_legitimate_extra_keys_do_not_change_the_tool():
    def extra(d, *more):
        return {**d, **LEGIT_EXTRAS, **dict(more)}

    props = JSON_SCHEMA["parameters"]["properties"]
    # anyOf / oneOf / allOf are ignored next to a "type"; empty $defs / definitions change nothing
    typed = ("anyOf", [{"type": "null"}]), ("oneOf", []), ("allOf", [])
    js = extra(JSON_SCHEMA, ("parameters", extra(
        JSON_SCHEMA["parameters"], ("$defs", {}), ("definitions", {}),
        ("properties", {k: extra(v, *typed) for k, v in props.items()}))))
    js["parameters"]["properties"]["tags"]["items"] = extra(props["tags"]["items"])
    flat = extra(FLAT, ("parameters", {k: extra(v) for k, v in FLAT["parameters"].items()}))
    anthropic = {"input_schema" if k == "parameters" else k: v for k, v in js.items()}
    mcp = {"inputSchema" if k == "parameters" else k: v for k, v in js.items()}
    wrapped = extra({"type": "function", "function": js})
    for schema in (js, flat, anthropic, mcp, wrapped):
        tools = parse_tools(schema)
        assert {p.format for p in tools[0].parameters} == {"date"}  # the one extra that is kept (copy mode reads it)
        for p in tools[0].parameters:
            p.format = None
        assert tools == [EXPECTED]
    assert len(LEGIT_EXTRAS) > 50


def test_string_format_is_kept_but_not_shown_to_the_model():
    schema = {"name": "remind", "parameters": {"type": "object", "properties": {
        "remind_for": {"type": "string", "format": "date-time"}, "note": {"type": "string"}}}}
    (tool,) = parse_tools([schema])
    assert [p.format for p in tool.parameters] == ["date-time", None]
    plain = {**schema, "parameters": {**schema["parameters"], "properties": {
        "remind_for": {"type": "string"}, "note": {"type": "string"}}}}
    assert tools_to_text([tool]) == tools_to_text(parse_tools([plain]))


def test_names_chosen_by_the_user_are_not_checked():
    # parameter names (flat mapping keys, JSON Schema property names) may look like misspelled keywords
    flat = {"name": "w", "parameters": {"typ": {"type": "string"}, "requird": {"type": "boolean"}}}
    assert [p.name for p in parse_tools(flat)[0].parameters] == ["typ", "requird"]
    js = {"name": "w", "parameters": {"type": "object", "properties": {"nmae": {"type": "string"}}}}
    assert parse_tools(js)[0].parameters == [Param("nmae", "string")]


def test_duplicate_names_after_snake_case_name_both_indices():
    with pytest.raises(ToolSchemaError) as err:
        parse_tools([{"name": "get_weather"}, {"name": "x"}, {"name": "getWeather"}])
    msg = str(err.value)
    assert "tools[2]" in msg and "tools[0]" in msg and "'getWeather'" in msg and "'get_weather'" in msg
    assert "rename" in msg
    with pytest.raises(ToolSchemaError, match=r"tools\[1\].*tools\[0\]"):
        parse_tools([{"name": "a"}, {"name": "a"}])


def test_tool_schema_error_is_value_error():
    assert issubclass(ToolSchemaError, ValueError) and issubclass(CallParseError, ValueError)


def test_bad_callables():
    def when(at: datetime.datetime):
        pass

    msg = r"tools\[0\]\.parameters\.at: unsupported type annotation 'datetime\.datetime'; use str, int"
    with pytest.raises(ToolSchemaError, match=msg):
        parse_tools([when])
    with pytest.raises(ToolSchemaError, match=r"@tool .*when.*\.parameters\.at: unsupported type annotation"):
        tool(when)

    def fwd(x: "Frobnicator"):  # noqa: F821
        pass

    with pytest.raises(ToolSchemaError, match=r"parameters\.x: cannot resolve type annotation 'Frobnicator'"):
        parse_tools(fwd)
    with pytest.raises(ToolSchemaError, match=r"tools\[0\]: this callable has no __name__"):
        parse_tools(functools.partial(lambda a, b: None, 1))
    assert parse_tools(tool(functools.partial(lambda a, b: None, 1), name="p"))[0].parameters == [
        Param("b", "string", "", True)]


# ----------------------------------------------------------------------------------------------------------------
# calls
# ----------------------------------------------------------------------------------------------------------------

def test_parse_calls_ok():
    assert parse_calls('[{"name":"a","arguments":{"x":1}}]') == [{"name": "a", "arguments": {"x": 1}}]
    assert parse_calls('{"name":"a","arguments":{}}') == [{"name": "a", "arguments": {}}]
    assert parse_calls(' <tool_call> [{"arguments":{"x":1},"name":"a"}] ') == [{"name": "a", "arguments": {"x": 1}}]
    assert parse_calls('[{"name":"a"}]') == [{"name": "a", "arguments": {}}]
    assert parse_calls('[{"name":"a","arguments":null}]') == [{"name": "a", "arguments": {}}]
    assert parse_calls("[]") == []


@pytest.mark.parametrize("text,expected", [
    ("", r"answer: empty output"),
    ("I can't do that", r"answer: not valid JSON \(line 1, column 1: Expecting value\) in \"I can't do that\""),
    ('[{"name":"a","arguments":{"x":1}', r"not valid JSON \(line 1, column 33: Expecting ',' delimiter\)"),
    ('"get_weather"', r"answer: expected a JSON array of calls, got a string"),
    ("42", r"got a number"),
    ('[{"name":"a"}, 3]', r"call 1: expected an object, got a number"),
    ('[{"arguments":{}}]', r"call 0: missing \"name\""),
    ('[{"name":5,"arguments":{}}]', r"call 0: \"name\" must be a non-empty string, got a number"),
    ('[{"name":"a","arguments":[1]}]', r"call 0 \(a\): \"arguments\" must be an object, got an array"),
    ('[{"name":"a","arguments":"{}"}]', r"call 0 \(a\): \"arguments\" must be an object, got a string"),
    ('[{"name":"a","arguments":{},"id":"c1"}]', r"call 0: unexpected key 'id'"),
    ('[{"name":"a","arguments":{"x":NaN}}]', r"answer: not valid JSON"),
    ('[{"name":"a","arguments":{"x":1,"x":2}}]', r"answer: duplicate key 'x'"),
])
def test_parse_calls_errors(text, expected):
    with pytest.raises(CallParseError, match=expected):
        parse_calls(text)


TIMER = {"name": "setTimer", "description": "Set a timer", "parameters": {
    "minutes": {"type": "integer", "description": "", "required": True},
    "ratio": {"type": "number", "description": "", "required": False},
    "loud": {"type": "boolean", "description": "", "required": False},
    "label": {"type": "string", "description": "", "required": False},
    "unit": {"type": "string", "description": "", "required": False, "enum": ["s", "min"]},
    "days": {"type": "array", "description": "", "required": False, "items": "integer"},
    "meta": {"type": "object", "description": "", "required": False},
}}


def test_validate_ok_and_coercions():
    calls = [{"name": "set_timer", "arguments": {"minutes": "5", "ratio": "2.5", "loud": "true", "label": "tea",
                                                 "unit": "min", "days": ["1", 2], "meta": {"a": 1}}},
             {"name": "set_timer", "arguments": {"minutes": 5.0, "ratio": 3, "loud": "False"}},
             {"name": "setTimer", "arguments": {"minutes": 1, "label": None}}]  # original name accepted too
    out, errors = validate_calls(calls, [TIMER])
    assert errors == []
    assert out[0]["arguments"] == {"minutes": 5, "ratio": 2.5, "loud": True, "label": "tea", "unit": "min",
                                   "days": [1, 2], "meta": {"a": 1}}
    assert out[1]["arguments"] == {"minutes": 5, "ratio": 3, "loud": False}
    assert isinstance(out[1]["arguments"]["ratio"], int)  # integers are valid numbers, kept as they are
    assert calls[0]["arguments"]["minutes"] == "5"  # input not modified
    assert validate_calls('[{"name":"set_timer","arguments":{"minutes":"7"}}]', [TIMER]) == (
        [{"name": "set_timer", "arguments": {"minutes": 7}}], [])


def test_validate_errors():
    calls = [{"name": "nope", "arguments": {}},
             {"name": "set_timer", "arguments": {"ratio": 1}},
             {"name": "set_timer", "arguments": {"minutes": "five"}},
             {"name": "set_timer", "arguments": {"minutes": True}},
             {"name": "set_timer", "arguments": {"minutes": 1, "seconds": 3}},
             {"name": "set_timer", "arguments": {"minutes": 1, "unit": "hours"}},
             {"name": "set_timer", "arguments": {"minutes": 1, "ratio": "fast", "loud": "yes", "label": 5}},
             {"name": "set_timer", "arguments": {"minutes": 1, "days": [1, "x"], "meta": []}},
             {"name": "set_timer", "arguments": {"minutes": None, "ratio": "nan"}}]
    out, errors = validate_calls(calls, [TIMER])
    assert len(out) == len(calls)
    assert errors == [
        "call 0: unknown tool 'nope'",
        "call 1 (set_timer): missing required argument 'minutes'",
        "call 2 (set_timer): argument 'minutes' must be integer, got 'five'",
        "call 3 (set_timer): argument 'minutes' must be integer, got True",
        "call 4 (set_timer): unknown argument 'seconds' (parameters: minutes, ratio, loud, label, unit, days, meta)",
        "call 5 (set_timer): argument 'unit' must be one of 's', 'min', got 'hours'",
        "call 6 (set_timer): argument 'ratio' must be number, got 'fast'",
        "call 6 (set_timer): argument 'loud' must be boolean, got 'yes'",
        "call 6 (set_timer): argument 'label' must be string, got 5",
        "call 7 (set_timer): argument 'days' item 1 must be integer, got 'x'",
        "call 7 (set_timer): argument 'meta' must be object, got []",
        "call 8 (set_timer): argument 'minutes' must be integer, got None",
        "call 8 (set_timer): argument 'ratio' must be number, got 'nan'",
    ]


def test_validate_without_coercion():
    calls = [{"name": "set_timer", "arguments": {"minutes": "5", "ratio": 2, "loud": "true"}}]
    out, errors = validate_calls(calls, [TIMER], coerce=False)
    assert out == calls
    assert errors == ["call 0 (set_timer): argument 'minutes' must be integer, got '5'",
                      "call 0 (set_timer): argument 'loud' must be boolean, got 'true'"]


def test_enum_is_type_aware():
    tools = [{"name": "f", "parameters": {"level": {"type": "integer", "enum": [1, 2]},
                                          "on": {"type": "boolean", "enum": [True]}}}]
    assert validate_calls([{"name": "f", "arguments": {"level": "2", "on": True}}], tools)[1] == []
    assert validate_calls([{"name": "f", "arguments": {"level": 1, "on": False}}], tools)[1] == [
        "call 0 (f): argument 'on' must be one of True, got False"]


# ----------------------------------------------------------------------------------------------------------------
# fingerprint, module hygiene
# ----------------------------------------------------------------------------------------------------------------

def test_fingerprint_order_insensitive_and_stable():
    a, b = FLAT, TIMER
    fp = tools_fingerprint([a, b])
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert fp == tools_fingerprint([b, a]) == tools_fingerprint(json.dumps([b, a]))
    assert fp == tools_fingerprint([JSON_SCHEMA, b])  # same canonical tool from another format
    assert fp != tools_fingerprint([a])
    changed = json.loads(json.dumps(b))
    changed["parameters"]["minutes"]["description"] = "how long"
    assert fp != tools_fingerprint([a, changed])
    # another process, with a different hash seed, loading the file alone with no site-packages (-S): the Hub
    # remote-code situation, which also proves modeling/tools.py needs only the standard library
    import needle_hf.modeling.tools as M
    code = ("import importlib.util as u, json, sys; s = u.spec_from_file_location('needle_tools', sys.argv[1]); "
            "m = u.module_from_spec(s); sys.modules['needle_tools'] = m; s.loader.exec_module(m); "
            "print(m.tools_fingerprint(json.loads(sys.argv[2])))")
    other = subprocess.run([sys.executable, "-S", "-c", code, M.__file__, json.dumps([b, a])], capture_output=True,
                           text=True, check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout.strip() == fp


def test_modeling_tools_is_stdlib_only_and_reexported():
    import needle_hf.modeling.tools as M
    assert T.__all__ == M.__all__ and all(getattr(T, n) is getattr(M, n) for n in M.__all__)
    assert PARAM_TYPES == ("string", "integer", "number", "boolean", "array", "object")
    src = open(M.__file__, encoding="utf-8").read()
    imported = set(re.findall(r"^\s*(?:import|from)\s+([\w.]+)", src, re.M))
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "collections.abc"}, imported


# ----------------------------------------------------------------------------------------------------------------
# property: tools_to_text -> json.loads -> parse_tools is a fixed point
# ----------------------------------------------------------------------------------------------------------------

_scalar = st.one_of(st.text(max_size=8), st.integers(-10**6, 10**6), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
_pname = st.one_of(st.sampled_from(["type", "properties", "required", "name", "items", "enum", "x"]),
                   st.text(min_size=1, max_size=10))
_param = st.builds(
    Param, name=st.just(""), type=st.sampled_from(PARAM_TYPES), description=st.text(max_size=20),
    required=st.booleans(), enum=st.one_of(st.none(), st.lists(_scalar, min_size=1, max_size=4)),
    items=st.one_of(st.none(), st.sampled_from(PARAM_TYPES)))


@st.composite
def _tools(draw):
    names = draw(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: to_snake_case(s)),
                          max_size=4, unique_by=to_snake_case))
    out = []
    for name in names:
        pnames = draw(st.lists(_pname, max_size=5, unique=True))
        params = []
        for pn in pnames:
            p = draw(_param)
            p.name = pn
            if p.type != "array":
                p.items = None
            params.append(p)
        out.append(Tool(name, draw(st.text(max_size=30)), params))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tools(), st.booleans())
def test_text_round_trip_is_fixed_point(tools, ensure_ascii):
    text = tools_to_text(tools, ensure_ascii=ensure_ascii)
    once = parse_tools(json.loads(text))
    assert tools_to_text(once, ensure_ascii=ensure_ascii) == text
    assert parse_tools(json.loads(tools_to_text(once))) == once
    assert parse_tools(text) == once
    # only the names change (to snake_case); everything else survives
    assert [Tool(t.snake_name, t.description, t.parameters) for t in tools] == once
    assert tools_fingerprint(tools) == tools_fingerprint(list(reversed(once)))
