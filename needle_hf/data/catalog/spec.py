"""Small DSL for hand-authored tools: `T(name, description, [P(...), ...], *templates)`.

Templates say where each argument's value appears in the query:
- `{param}`      the value of `param` (its surface text, from the param's sampler);
- `[ ... ]`      an optional group, kept iff every `{param}` inside it is present (a group without slots is kept
                 half of the time: "[please ]");
- `(a|b|c)`      a choice between literal alternatives.
Required parameters must appear outside optional groups in every template. An optional parameter inside `[...]` is
present or absent at random; outside any group it is always present when that template is chosen.

A parameter's kind is a value-sampler name from `values.KINDS` ("city", "minutes", "int:1:10", ...), an enum
`E("celsius=Celsius|°C", "fahrenheit=Fahrenheit|°F")` (value=surface|surface) or a boolean
`B("true phrases|...", "false phrases|...")`.
"""
from __future__ import annotations

from .values import Kind, get_kind


class Enum:
    __slots__ = ("values", "surfaces", "type")

    def __init__(self, *specs):
        self.values, self.surfaces = [], []
        for s in specs:
            if isinstance(s, (int, float)) and not isinstance(s, bool):
                self.values.append(s)
                self.surfaces.append((str(s),))
                continue
            value, _, surf = s.partition("=")
            self.values.append(value)
            self.surfaces.append(tuple(surf.split("|")) if surf else (value.replace("_", " "),))
        self.type = "integer" if all(isinstance(v, int) for v in self.values) else "string"

    def sample(self, rng):
        i = rng.randrange(len(self.values))
        alts = self.surfaces[i]
        return alts[rng.randrange(len(alts))], self.values[i]


class Bool:
    __slots__ = ("true", "false")
    type = "boolean"

    def __init__(self, true: str, false: str = ""):
        self.true = tuple(true.split("|"))
        self.false = tuple(false.split("|")) if false else ()

    def sample(self, rng):
        if not self.false or rng.random() < 0.6:
            return self.true[rng.randrange(len(self.true))], True
        return self.false[rng.randrange(len(self.false))], False


E, B = Enum, Bool


class ParamSpec:
    """One parameter: `key` is the slot name in templates, `name` the name shown in the schema (may be renamed)."""
    __slots__ = ("key", "name", "kind", "description", "required", "type", "enum", "items", "text", "phrases")

    def __init__(self, key, name, kind, description, required=True, phrases=None):
        self.key, self.name, self.description, self.required = key, name, description, required
        self.kind = kind
        self.phrases = phrases
        if isinstance(kind, Enum):
            self.type, self.enum, self.items, self.text = kind.type, list(kind.values), None, False
        elif isinstance(kind, Bool):
            self.type, self.enum, self.items, self.text = "boolean", None, None, False
        else:
            k: Kind = get_kind(kind) if isinstance(kind, str) else kind
            self.kind = k
            self.type, self.enum, self.items, self.text = k.type, None, k.items, k.text

    def sample(self, rng):
        return self.kind.sample(rng)

    def renamed(self, name: str, description: str | None = None, required: bool | None = None) -> "ParamSpec":
        p = ParamSpec.__new__(ParamSpec)
        for s in ParamSpec.__slots__:
            setattr(p, s, getattr(self, s))
        p.name = name
        if description is not None:
            p.description = description
        if required is not None:
            p.required = required
        return p

    def schema(self) -> dict:
        d = {"type": self.type, "description": self.description, "required": self.required}
        if self.enum:
            d["enum"] = list(self.enum)
        if self.items is not None and self.type == "array":
            d["items"] = self.items
        return d


def P(name, kind, description, req=True, phrases=None) -> ParamSpec:
    return ParamSpec(name, name, kind, description, req, phrases)


# ------------------------------------------------------------------------------------------------ templates
# compiled template = tuple of tokens; token = str | ("s", key) | ("o", tokens, keys) | ("a", (str, ...))

class TemplateError(ValueError):
    pass


def compile_template(src: str):
    pos = 0

    def seq(stop):
        nonlocal pos
        out, buf = [], []
        while pos < len(src):
            ch = src[pos]
            if ch in stop:
                break
            if ch == "{":
                end = src.index("}", pos)
                if buf:
                    out.append("".join(buf))
                    buf = []
                out.append(("s", src[pos + 1:end]))
                pos = end + 1
            elif ch == "[":
                if buf:
                    out.append("".join(buf))
                    buf = []
                pos += 1
                inner = seq("]")
                if pos >= len(src) or src[pos] != "]":
                    raise TemplateError(f"unclosed [ in {src!r}")
                pos += 1
                keys = tuple(t[1] for t in _walk(inner) if t[0] == "s")
                out.append(("o", tuple(inner), keys))
            elif ch == "(":
                if buf:
                    out.append("".join(buf))
                    buf = []
                end = src.index(")", pos)
                alts = tuple(src[pos + 1:end].split("|"))
                if any("{" in a or "[" in a for a in alts):
                    raise TemplateError(f"choices may hold only literal text: {src!r}")
                out.append(("a", alts))
                pos = end + 1
            elif ch in "])}":
                raise TemplateError(f"unbalanced {ch!r} in {src!r}")
            else:
                buf.append(ch)
                pos += 1
        if buf:
            out.append("".join(buf))
        return out

    toks = seq("")
    return tuple(toks)


def _walk(tokens):
    for t in tokens:
        if isinstance(t, tuple):
            if t[0] == "s":
                yield t
            elif t[0] == "o":
                yield from _walk(t[1])


def template_keys(tokens) -> tuple[set, set]:
    """(slots outside optional groups, slots inside optional groups)."""
    top = {t[1] for t in tokens if isinstance(t, tuple) and t[0] == "s"}
    opt = {k for t in tokens if isinstance(t, tuple) and t[0] == "o" for k in t[2]}
    return top, opt


class ToolSpec:
    """A tool with query templates. `intent` groups tools that serve the same request (never offered together
    as target + distractor); `catchall` tools (web search) are never used as distractors or in no-call rows."""
    __slots__ = ("name", "description", "params", "templates", "domain", "intent", "source", "catchall",
                 "_dict", "_tool", "_key", "extra", "lazy")

    def __init__(self, name, description, params, templates, domain="", intent=None, source="catalog",
                 catchall=False):
        self.name, self.description, self.params = name, description, list(params)
        self.templates = templates
        self.domain, self.intent, self.source, self.catchall = domain, intent or name, source, catchall
        self._dict = self._tool = self._key = None
        self.extra = None
        self.lazy = None          # callable building `templates` on first use (invented tools)

    def schema(self) -> dict:
        return {"name": self.name, "description": self.description,
                "parameters": {p.name: p.schema() for p in self.params}}

    def check(self) -> list[str]:
        """Static checks of the templates against the parameters; returns problems (empty = fine)."""
        problems = []
        keys = {p.key for p in self.params}
        if len({p.name for p in self.params}) != len(self.params):
            problems.append(f"{self.name}: duplicate parameter names")
        if not self.templates:
            problems.append(f"{self.name}: no templates")
        for tpl in self.templates:
            top, opt = template_keys(tpl)
            for k in top | opt:
                if k not in keys:
                    problems.append(f"{self.name}: template slot {{{k}}} is not a parameter")
            for p in self.params:
                if p.required and p.key not in top:
                    problems.append(f"{self.name}: required {p.key!r} missing (or optional) in a template")
        return problems


def T(name, description, params, *templates, intent=None, catchall=False) -> ToolSpec:
    try:
        compiled = tuple(compile_template(t) for t in templates)
    except (TemplateError, ValueError) as err:
        raise TemplateError(f"tool {name!r}: {err}") from None
    return ToolSpec(name, description, params, compiled, intent=intent, catchall=catchall)
