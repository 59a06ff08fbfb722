"""Names and descriptions for procedural tools: word synonyms, name styles, parameter renames, description variants.

`tool_name(rng, words)` renders a list of words in one of several styles (snake, camel, Pascal, kebab, Title,
dotted, with brand prefixes / version suffixes / abbreviations); the stored name is `to_snake_case` of it, so
styles mostly show through as word choice, order, prefixes and abbreviations.
"""
from __future__ import annotations

from .concepts import brand

# synonyms for words in hand-authored tool names (mutation keeps meaning, changes the surface)
WORD_SYNONYMS = {
    "set": ("configure", "create", "schedule", "start", "put", "apply"), "get": ("fetch", "retrieve", "lookup", "read",
    "query", "show", "obtain", "check"), "send": ("post", "dispatch", "deliver", "push", "transmit", "compose"),
    "create": ("add", "new", "make", "insert", "register"), "delete": ("remove", "erase", "drop", "purge", "clear"),
    "search": ("find", "lookup", "query", "browse", "seek", "discover"), "list": ("show", "view", "browse", "enumerate",
    "all"), "play": ("start", "stream", "queue", "launch"), "add": ("append", "insert", "put", "include", "save"),
    "remove": ("delete", "drop", "take_out", "discard"), "cancel": ("abort", "stop", "revoke", "void", "kill"),
    "start": ("begin", "launch", "kick_off", "run", "open"), "book": ("reserve", "schedule", "secure"),
    "check": ("verify", "inspect", "query", "get"), "find": ("search", "locate", "lookup", "discover"),
    "open": ("launch", "show", "load", "view"), "toggle": ("switch", "flip", "set"), "turn": ("switch", "power"),
    "update": ("change", "modify", "edit", "patch"), "log": ("record", "track", "save", "enter"),
    "share": ("send", "forward", "distribute"), "track": ("follow", "monitor", "trace", "locate"),
    "convert": ("transform", "change", "translate"), "calculate": ("compute", "evaluate", "work_out", "calc"),
    "pay": ("settle", "remit", "send_payment"), "request": ("order", "ask_for", "hail", "summon"),
    "timer": ("countdown", "kitchen_timer", "clock"), "alarm": ("wakeup", "wake_alarm", "alert"),
    "message": ("msg", "text", "sms", "note"), "email": ("mail", "e_mail", "inbox_message"), "event": ("appointment",
    "meeting", "entry", "calendar_item"), "weather": ("conditions", "meteo", "wx", "climate"), "forecast": ("outlook",
    "prediction", "weather_outlook"), "contact": ("person", "entry", "address_book_entry", "buddy"),
    "note": ("memo", "jot", "entry"), "reminder": ("alert", "nudge", "notification", "todo"), "task": ("todo",
    "item", "job", "chore"), "song": ("track", "tune", "music", "audio"), "playlist": ("mix", "queue", "collection"),
    "photo": ("picture", "image", "snapshot", "pic"), "video": ("clip", "movie", "recording"), "device": ("appliance",
    "gadget", "thing", "accessory"), "light": ("lamp", "bulb", "lighting"), "door": ("lock", "entrance"),
    "directions": ("route", "path", "navigation"), "flight": ("air_travel", "plane", "flights"), "flights": ("air_fares",
    "plane_tickets", "airfare"), "hotel": ("lodging", "accommodation", "stay", "room"), "ride": ("trip", "cab", "taxi",
    "car"), "food": ("meal", "dinner", "order"), "restaurant": ("eatery", "diner", "venue"), "table": ("reservation",
    "booking", "seat"), "product": ("item", "article", "goods"), "products": ("items", "catalog", "goods"),
    "cart": ("basket", "bag", "trolley"), "order": ("purchase", "order_request"), "package": ("parcel", "shipment",
    "delivery"), "balance": ("funds", "amount", "account_total"), "payment": ("transfer", "money", "remittance"),
    "money": ("funds", "cash", "payment"), "stock": ("equity", "share", "security"), "price": ("quote", "cost",
    "rate", "value"), "news": ("headlines", "articles", "stories"), "headlines": ("news", "top_stories", "briefing"),
    "score": ("result", "scores"), "team": ("club", "squad", "side"), "text": ("phrase", "content", "string"),
    "translate": ("localize", "interpret", "render"), "language": ("lang", "locale", "tongue"), "word": ("term",
    "token", "vocab"), "file": ("document", "doc", "item", "asset"), "folder": ("directory", "dir", "collection"),
    "workout": ("exercise", "activity", "session", "training"), "weight": ("body_weight", "mass"), "water": ("hydration",
    "fluid", "drink"), "meal": ("food", "dish", "intake"), "recipe": ("dish", "meal_idea", "cooking"), "recipes":
    ("dishes", "meal_ideas", "cookbook"), "car": ("vehicle", "auto"), "volume": ("loudness", "sound_level", "audio_level"),
    "brightness": ("luminosity", "light_level", "dimming"), "wifi": ("wireless", "wlan", "network"), "bluetooth":
    ("bt", "wireless_pairing"), "battery": ("charge", "power_level"), "app": ("application", "program"),
    "calendar": ("schedule", "agenda", "planner"), "location": ("position", "whereabouts", "gps"),
    "time": ("clock", "hour"), "tickets": ("passes", "seats", "admission"), "ticket": ("pass", "admission", "seat"),
    "temperature": ("temp", "heat", "climate"), "thermostat": ("hvac", "climate_control", "heating"),
    "vacuum": ("cleaner", "robot", "roomba"), "scene": ("mood", "preset", "routine"), "camera": ("cam", "lens"),
    "definition": ("meaning", "gloss"), "summary": ("overview", "abstract", "digest"), "question": ("query", "ask"),
    "joke": ("pun", "gag", "funny"), "dice": ("die", "random_roll"), "coin": ("toss", "heads_tails"),
}

PARAM_SYNONYMS = {
    "location": ("city", "place", "loc", "where", "area", "city_name", "location_name", "region"),
    "city": ("location", "town", "city_name", "place", "municipality"),
    "minutes": ("duration", "mins", "length_minutes", "duration_min", "time_minutes", "minutes_count", "period_min"),
    "duration_minutes": ("minutes", "duration", "length", "mins", "duration_min"),
    "seconds": ("duration", "secs", "duration_s", "length_seconds", "time_seconds"),
    "label": ("name", "title", "tag", "description", "caption"), "time": ("at", "clock_time", "time_of_day", "when", "hhmm"),
    "date": ("day", "on", "date_str", "when", "calendar_date"), "recipient": ("to", "contact", "target", "person",
    "receiver", "send_to", "recipient_name"), "message": ("text", "body", "content", "msg", "message_text", "words"),
    "contact": ("person", "name", "who", "recipient", "contact_name"), "text": ("content", "body", "string", "input",
    "phrase", "words"), "to": ("recipient", "address", "to_email", "email", "send_to"), "subject": ("title", "topic",
    "headline", "subject_line"), "body": ("content", "text", "message", "email_body"), "query": ("q", "search_term",
    "keywords", "term", "search", "terms", "search_query"), "title": ("name", "subject", "heading", "label", "event_name"),
    "name": ("display_name", "label", "name_value"), "destination": ("to", "dest", "target",
    "end", "drop_off", "where_to"), "origin": ("from", "start", "source", "pickup", "starting_point"),
    "device": ("device_name", "appliance", "target", "thing", "accessory"), "level": ("value", "percent", "amount",
    "setting"), "temperature": ("temp", "degrees", "target_temp", "setpoint"), "amount": ("value", "sum", "total",
    "money", "amt"), "ticker": ("symbol", "stock", "stock_symbol", "code"), "song": ("track", "title", "song_name",
    "track_name"), "artist": ("performer", "band", "musician", "by"), "playlist": ("list", "playlist_name", "mix"),
    "limit": ("max", "count", "n", "top", "max_results"), "max_results": ("limit", "count", "n", "top_k"),
    "language": ("lang", "locale", "language_name"), "target_language": ("to_lang", "target", "lang", "dest_lang",
    "target_lang", "into"), "source_language": ("from_lang", "source", "src_lang", "source_lang"), "email": ("mail",
    "address", "email_address", "e_mail"), "phone": ("number", "phone_number", "tel", "mobile"), "file_name": ("file",
    "filename", "path", "document", "name"), "folder": ("dir", "directory", "destination", "path"),
    "url": ("link", "address", "href", "website", "uri"), "team": ("club", "squad", "team_name"), "player": ("athlete",
    "name", "player_name"), "priority": ("prio", "importance", "urgency", "level"), "task": ("todo", "item", "description",
    "task_name"), "items": ("things", "entries", "products", "list"), "quantity": ("qty", "count", "number", "units"),
    "restaurant": ("place", "venue", "restaurant_name"), "party_size": ("guests", "people", "covers", "num_people"),
    "start_date": ("from", "begin", "start"), "end_date": ("until", "to", "end"), "enabled": ("on", "active", "state",
    "enable", "is_on"), "on": ("enabled", "power", "state", "is_on"), "units": ("unit", "scale", "unit_system"),
    "mode": ("setting", "type", "style"), "expression": ("expr", "formula", "input", "calculation"),
    "value": ("amount", "quantity", "number", "input_value"), "from_unit": ("source_unit", "unit_from", "from"),
    "to_unit": ("target_unit", "unit_to", "into"), "word": ("term", "entry", "lookup_word"), "topic": ("subject",
    "query", "about", "theme"), "person": ("user", "name", "who", "colleague"), "attendees": ("guests", "invitees",
    "participants", "emails"), "activity": ("exercise", "sport", "workout_type", "type"), "stars": ("rating", "score"),
    "comment": ("note", "feedback", "remarks"), "note": ("memo", "comment", "remarks"),
}

ABBREVIATIONS = {"message": "msg", "number": "num", "quantity": "qty", "description": "desc", "address": "addr",
                 "destination": "dest", "source": "src", "temperature": "temp", "language": "lang",
                 "information": "info", "configuration": "config", "application": "app", "document": "doc",
                 "maximum": "max", "minimum": "min", "identifier": "id", "reservation": "resv", "calendar": "cal",
                 "notification": "notif", "directory": "dir", "picture": "pic", "account": "acct", "update": "upd"}

PREFIXES = ("my", "app", "do", "api", "user", "smart", "quick", "auto", "home", "mobile", "cloud", "svc", "tool",
            "cmd", "action", "assistant", "v2", "ext", "local", "remote", "core", "pro")
SUFFIXES = ("v2", "v3", "now", "tool", "action", "request", "fn", "handler", "api", "cmd", "async", "op", "task",
            "v1", "beta", "item", "data", "info", "2")


def _split(word: str) -> list[str]:
    return [w for w in word.split("_") if w]


def tool_name(rng, words: list[str], brand_p: float = 0.12) -> str:
    """Render name words (lowercase) as a tool name in a random style with optional affixes/abbreviations."""
    words = [w for word in words for w in _split(word)]
    if rng.random() < 0.25:
        words = [ABBREVIATIONS.get(w, w) for w in words]
    r = rng.random()
    if r < brand_p:
        words = [brand(rng)] + words
    elif r < brand_p + 0.12:
        words = [PREFIXES[rng.randrange(len(PREFIXES))]] + words
    elif r < brand_p + 0.22:
        words = words + [SUFFIXES[rng.randrange(len(SUFFIXES))]]
    style = rng.randrange(9)
    if style <= 2:
        return "_".join(words)
    if style <= 4:
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    if style == 5:
        return "".join(w[:1].upper() + w[1:] for w in words)
    if style == 6:
        return "-".join(words)
    if style == 7:
        return " ".join(w[:1].upper() + w[1:] for w in words)
    return ".".join(words) if len(words) > 1 and rng.random() < 0.5 else "_".join(words).upper()


def param_style(rng) -> int:
    """0 snake, 1 camel, 2 lowercase concatenated, 3 Pascal (one style per tool)."""
    r = rng.random()
    return 0 if r < 0.6 else 1 if r < 0.88 else 2 if r < 0.96 else 3


def styled_param(name: str, style: int) -> str:
    words = _split(name)
    if not words:
        return name
    if style == 1:
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    if style == 2:
        return "".join(words)
    if style == 3:
        return "".join(w[:1].upper() + w[1:] for w in words)
    return "_".join(words)


DESC_SUFFIXES = (
    " Returns a confirmation.", " Returns a JSON object.", " Requires the user to be signed in.",
    " Call this only when the user explicitly asks.", " Works on mobile and desktop.", " (beta)",
    " Results are cached for five minutes.", " Fails if the item does not exist.", " The action is logged.",
    " Use it when the user's request matches this capability.", " Supports most regions.",
    " Rate limited to 10 calls per minute.", " No side effects other than the one described.",
)
DESC_PREFIXES = ("", "", "", "Tool: ", "Action - ", "API: ", "[{app}] ", "Helper. ")


def vary_description(rng, desc: str, app: str = "") -> str:
    """Long / short / terse variants of a description (meaning kept)."""
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.3:
        first = desc.split(". ")[0].rstrip(".")
        return first if rng.random() < 0.5 else first.lower()
    if r < 0.6:
        return desc
    pre = DESC_PREFIXES[rng.randrange(len(DESC_PREFIXES))].replace("{app}", app or "App")
    out = pre + desc
    for _ in range(rng.randrange(1, 3)):
        suffix = DESC_SUFFIXES[rng.randrange(len(DESC_SUFFIXES))]
        if suffix not in out:  # the same draw twice would repeat a sentence (the rng calls stay the same)
            out += suffix
    return out


def vary_param_description(rng, desc: str, example: str | None = None) -> str:
    r = rng.random()
    if r < 0.1:
        return ""
    if r < 0.2:
        return desc.lower()
    if r < 0.3 and example:
        return f"{desc} (e.g. {example})"
    if r < 0.36:
        return desc.rstrip(".") + "."
    return desc
