"""Procedural tools: catalog tools renamed / re-described (`mutate_tool`) and tools invented from actions x objects
(`invent_tool`, with query templates from `invented_template`). Small sampler functions over the data in
`concepts` and `naming`; all randomness from the `random.Random` passed in.
"""
from __future__ import annotations

import functools

from ...tools import to_snake_case
from . import concepts as K
from . import naming as N
from .spec import Enum, ParamSpec, ToolSpec


@functools.lru_cache(maxsize=262144)
def snake(name: str) -> str:
    """Cached `to_snake_case` (it is called for every new tool name)."""
    return to_snake_case(name)


def _tools_by_name():
    from . import TOOLS_BY_NAME
    return TOOLS_BY_NAME


def mutate_tool(rng, base: ToolSpec) -> ToolSpec:
    """A catalog tool with a synonym name, other parameter names/descriptions, maybe decoy optional params."""
    words = base.name.split("_")
    new = []
    for w in words:
        syn = N.WORD_SYNONYMS.get(w)
        new.append(syn[rng.randrange(len(syn))] if syn and rng.random() < 0.65 else w)
    if len(new) >= 2 and rng.random() < 0.15:
        new = new[1:] + new[:1]
    elif len(new) >= 3 and rng.random() < 0.1:
        new = new[1:]
    name = N.tool_name(rng, new)
    if snake(name) in _tools_by_name():
        name = N.tool_name(rng, new + [N.SUFFIXES[rng.randrange(len(N.SUFFIXES))]])
    style = N.param_style(rng)
    params, used = [], set()
    for p in base.params:
        syn = N.PARAM_SYNONYMS.get(p.name)
        pname = syn[rng.randrange(len(syn))] if syn and rng.random() < 0.6 else p.name
        pname = N.styled_param(pname, style)
        if pname in used:
            pname = N.styled_param(p.name, style)
        if pname in used:
            pname = p.name + "_" + str(len(used))
        used.add(pname)
        ex = None
        if p.type == "string" and not p.enum and rng.random() < 0.3:
            ex = str(p.sample(rng)[0])
        req = p.required and not (rng.random() < 0.08)
        q = p.renamed(pname, N.vary_param_description(rng, p.description, ex), req)
        if p.enum and isinstance(p.kind, Enum) and p.kind.type == "string" and rng.random() < 0.25:
            q.kind = _restyle_enum(rng, p.kind)
            q.enum = list(q.kind.values)
        params.append(q)
    if rng.random() < 0.3:                       # decoy optional parameter never mentioned in templates
        f = list(K.BANK.values())[rng.randrange(len(K.BANK))]
        dname = N.styled_param(f.names[rng.randrange(len(f.names))], style)
        if dname not in used:
            params.append(ParamSpec("_decoy", dname, f.kind, f.descs[rng.randrange(len(f.descs))], False))
    desc = N.vary_description(rng, base.description, K.brand(rng).capitalize())
    spec = ToolSpec(name, desc, params, base.templates, base.domain, base.intent, "mutated", base.catchall)
    spec.extra = frozenset(base.intent.split("|"))
    return spec

def _restyle_enum(rng, e: Enum) -> Enum:
    out = Enum.__new__(Enum)
    f = (str.upper, str.title, lambda s: s.replace("_", "-"))[rng.randrange(3)]
    out.values = [f(v) for v in e.values]
    out.surfaces, out.type = e.surfaces, e.type
    return out

def invent_tool(rng, action: K.Action | None = None, obj: K.Obj | None = None) -> ToolSpec:
    """A new tool from an action x object pair (name, params, description and query templates)."""
    obj = obj or K.OBJECTS[rng.randrange(len(K.OBJECTS))]
    while action is None or (action.shape == "schedule" and not
                             {"date", "start_date", "due_date", "time"} & set(obj.fields)):
        action = K.ACTIONS[rng.randrange(len(K.ACTIONS))]
    shape = action.shape
    plural_name = shape in ("list", "count") and rng.random() < 0.6
    objw = obj.names[rng.randrange(len(obj.names))]
    if plural_name:
        objw = (objw[:-1] + "ies" if objw.endswith("y") and objw[-2:-1] not in "aeiou"
                else objw + ("es" if objw.endswith(("s", "x", "sh", "ch")) else "s"))
    words = [action.verbs[rng.randrange(len(action.verbs))], objw]
    if rng.random() < 0.12:
        words = words[::-1]
    if rng.random() < 0.1:
        words.append({"target": "by_id", "list": "all", "create": "record"}.get(shape, "now"))
    name = N.tool_name(rng, words, brand_p=0.2)
    style = N.param_style(rng)
    noun = obj.nouns[rng.randrange(len(obj.nouns))]
    params: list[ParamSpec] = []
    used: set = set()

    def add(key, names, kind, descs, required, phrases):
        for _ in range(4):
            pname = N.styled_param(names[rng.randrange(len(names))], style)
            if pname not in used:
                break
        else:
            pname = N.styled_param(f"{key}_{len(used)}", style)
        used.add(pname)
        desc = N.vary_param_description(rng, descs[rng.randrange(len(descs))])
        params.append(ParamSpec(key, pname, kind, desc, required, phrases))

    def add_field(fkey, required):
        f = K.BANK[fkey]
        add(fkey, f.names, f.kind, f.descs, required, f.phrases)

    has_id = shape not in ("create", "list", "count")
    if has_id:
        add("id", obj.id_names, obj.id_kind, (f"{noun.capitalize()} ID", f"Identifier of the {noun}",
                                              f"The {noun} to act on"), True, None)
    fields = list(obj.fields)
    rng.shuffle(fields)
    if shape == "create":
        k = rng.randrange(2, min(5, len(fields)) + 1)
        for i, fk in enumerate(fields[:k]):
            add_field(fk, i == 0 or (i == 1 and rng.random() < 0.5))
    elif shape == "update":
        for fk in fields[:rng.randrange(1, 4)]:
            add_field(fk, False)
    elif shape in ("list", "count"):
        for fk in [f for f in fields if f != "notify"][:rng.randrange(1, 4)]:
            add_field(fk, False)
    else:
        need = {"share": ("recipient_email" if rng.random() < 0.5 else "recipient",), "assign": ("assignee",),
                "move": ("folder",), "export": ("format",), "schedule": ("date", "time"), "rename": ("new_name",),
                "comment": ("note",), "tag": ("tags",), "status": ("status",)}.get(shape, ())
        for fk in need:
            add_field(fk, True)
    for fk in action.extra:
        if fk in K.BANK and rng.random() < 0.5 and not any(p.key == fk for p in params):
            add_field(fk, False)
    app = K.brand(rng).capitalize()
    descs = action.descs or ("{noun}",)
    desc = descs[rng.randrange(len(descs))].format(noun=noun, plural=obj.plural)
    desc = N.vary_description(rng, desc, app)
    spec = ToolSpec(name, desc, params, None, "invented/" + obj.domain,
                    "|".join(f"{a}.{obj.key}" for a in (action.key,) + action.clash), "invented")
    # templates are built when the tool is first rendered (most invented tools are only distractors)
    spec.lazy = lambda: tuple(invented_template(rng, action, obj, params, noun) for _ in range(2))
    return spec

def invented_template(rng, action, obj, params, noun):
    qverb = action.qverbs[rng.randrange(len(action.qverbs))]
    shape = action.shape
    toks: list = []
    if shape == "create":
        art = "an" if noun[0].lower() in "aeiou" else "a"
        toks += [f"{qverb} {art}{' new' if rng.random() < 0.3 else ''} {noun}"]
    elif shape in ("list", "count"):
        all_the = shape == "list" and not qverb.endswith("all") and rng.random() < 0.2
        toks += [f"{qverb} {'all the ' if all_the else ''}{obj.plural}"]
    else:
        r = rng.random()
        if action.key == "get" and r < 0.35:
            toks += [("a", ("what's the status of", "details for", "info on", "tell me about")),
                     f" {noun} ", ("s", "id")]
        elif r < 0.15:
            toks += [f"{noun} ", ("s", "id"), f": {qverb} it"]
        else:
            toks += [f"{qverb} {'the ' if rng.random() < 0.5 else ''}{noun} ",
                     ("a", ("", "", "#", "number ", "with ID ") if obj.id_code else ("",)), ("s", "id")]
    rest = [p for p in params if p.key != "id" and p.key != "_decoy"]
    rng.shuffle(rest)
    forced = shape == "update"
    filters = shape in ("list", "count")
    for i, p in enumerate(rest):
        phrases = p.phrases or ("{v}",)
        # as a filter ("list tickets assigned to Bob") the first phrase of a field reads best
        pat = phrases[0] if filters and rng.random() < 0.7 else phrases[rng.randrange(len(phrases))]
        pre, _, post = pat.partition("{v}")
        sep = " " if i == 0 or rng.random() < 0.6 else ", "
        part = (sep + pre, ("s", p.key)) + ((post,) if post else ())
        if p.required or forced:
            toks.extend(part)
            forced = False
        else:
            toks.append(("o", part, (p.key,)))
    return tuple(toks)
