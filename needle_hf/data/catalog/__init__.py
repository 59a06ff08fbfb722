"""Hand-authored tool catalog for the offline generator (pure data + small sampler functions).

- `DOMAINS`: domain name -> list of `ToolSpec` (hand-authored tools with query templates);
- `ALL_TOOLS`: every hand-authored tool; `TOOLS_BY_NAME`;
- `values`: value samplers; `grammar`: query wrappers, fillers, noise, chit-chat;
- `concepts`: actions x objects x parameter bank for invented tools; `naming`: synonyms and name styles;
- `procedural`: `mutate_tool` (renamed catalog tools) and `invent_tool` (new tools); `heuristics`: samplers for
  tools never seen before (`tools=` mode).
"""
from __future__ import annotations

from . import home_media, knowledge, lifestyle, money, personal, places
from .spec import ToolSpec

DOMAINS: dict[str, list[ToolSpec]] = {}
for _mod in (personal, home_media, places, money, knowledge, lifestyle):
    for _domain, _tools in _mod.DOMAINS.items():
        for _t in _tools:
            _t.domain = _domain
        DOMAINS[_domain] = _tools

# Intent links across tools: a tool whose intents intersect another's could serve that tool's requests, so the two
# are never offered together as target + distractor, nor as a "no call" near miss. "a|b" = serves intents a and b.
INTENT_LINKS = {
    "will_it_rain": "rain|weather_now|forecast|forecast_date", "get_forecast_for_date": "forecast_date",
    "get_travel_time": "travel_time|distance", "get_distance": "distance",
    "find_nearby": "nearby|atm|vet|parking|ev_charger|gas|restaurants", "find_atm": "atm", "find_vet": "vet",
    "find_parking": "parking", "find_ev_charger": "ev_charger", "find_gas_prices": "gas", "search_restaurants": "restaurants",
    "create_reminder": "reminder", "set_medication_reminder": "med_reminder|reminder", "set_walk_reminder":
    "walk_reminder|reminder", "create_location_reminder": "loc_reminder|reminder", "set_event_reminder": "event_reminder|reminder",
    "send_direct_message": "dm|send_message", "send_group_message": "group_msg|send_message",
    "search_news": "news_search|local_news", "get_local_news": "local_news",
    "calculate": "calc|percent_of|solve", "percentage_of": "percent_of", "solve_equation": "solve",
    "order_food": "food_order", "order_dish": "food_order", "track_package": "package_status", "get_order_status":
    "package_status", "split_bill": "split", "split_expense": "split", "buy_tickets": "tickets", "book_movie_tickets":
    "tickets", "append_to_note": "list_add|note_append", "add_items_to_list": "list_add", "image_search": "photos",
    "show_photos": "photos", "explain_concept": "explain", "wiki_summary": "explain|wiki", "get_sport_rules":
    "explain|sport_rules", "open_camera": "open_camera|open_app", "open_app": "open_app", "take_photo": "photo|open_camera",
    "record_video": "video_rec|open_camera", "reply_to_last_message": "reply|send_message",
}

ALL_TOOLS: list[ToolSpec] = [t for tools in DOMAINS.values() for t in tools]
for _t in ALL_TOOLS:
    if _t.name in INTENT_LINKS:
        _t.intent = INTENT_LINKS[_t.name]
TOOLS_BY_NAME: dict[str, ToolSpec] = {t.name: t for t in ALL_TOOLS}


def catalog_stats() -> dict:
    """Counts of the hand-authored catalog (domains, tools, templates, parameter types)."""
    types: dict[str, int] = {}
    for t in ALL_TOOLS:
        for p in t.params:
            key = "enum" if p.enum else p.type
            types[key] = types.get(key, 0) + 1
    return {"domains": len(DOMAINS), "tools": len(ALL_TOOLS), "templates": sum(len(t.templates) for t in ALL_TOOLS),
            "parameters": sum(len(t.params) for t in ALL_TOOLS), "parameter_types": types,
            "optional_parameters": sum(1 for t in ALL_TOOLS for p in t.params if not p.required)}


def check_catalog() -> list[str]:
    """Static problems in the catalog (template slots vs parameters, duplicate names); empty when fine."""
    problems = []
    if len(TOOLS_BY_NAME) != len(ALL_TOOLS):
        seen = set()
        for t in ALL_TOOLS:
            if t.name in seen:
                problems.append(f"duplicate tool name {t.name}")
            seen.add(t.name)
    for t in ALL_TOOLS:
        problems.extend(t.check())
    return problems
