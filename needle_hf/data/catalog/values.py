"""Value samplers: each returns `(surface, value)` — the text that goes into the query and the exact argument value.

For strings the value is copied verbatim from the surface (the value is the surface, or a substring of it); for
integers / numbers / booleans / enums the surface is a natural phrasing ("half an hour", "$12.50", "in Fahrenheit")
and the value what the schema expects (30, 12.5, "fahrenheit"). All randomness comes from the `random.Random`
passed in, so output is stable for a seed (within a package version: changing a sampler changes the stream).

`KINDS` maps a kind name to a `Kind(type, sample, items, text, preps)`; parametrised kinds ("int:1:20",
"list:grocery:2:4") are built on first use by `get_kind`.
"""
from __future__ import annotations

import datetime as _dt
from typing import Callable, NamedTuple

from . import pools as P


class Kind(NamedTuple):
    type: str                      # JSON type: string | integer | number | boolean | array
    sample: Callable               # rng -> (surface, value)
    items: str | None = None       # element type for arrays
    text: bool = False             # free text / proper noun whose casing may be changed together with the query
    preps: tuple = ("with",)       # default connecting words for the generic grammar ("in {v}", "to {v}")


NUM_WORDS = {0: "zero", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
             9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen",
             16: "sixteen", 17: "seventeen", 18: "eighteen", 19: "nineteen", 20: "twenty", 25: "twenty-five",
             30: "thirty", 40: "forty", 45: "forty-five", 50: "fifty", 60: "sixty", 90: "ninety", 100: "a hundred"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(n: int) -> str:
    suf = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


def num_surface(rng, n: int, words_p: float = 0.25) -> str:
    if n in NUM_WORDS and n <= 60 and rng.random() < words_p:
        return NUM_WORDS[n]
    return str(n)


def _c(rng, seq):
    return seq[rng.randrange(len(seq))]


# ---------------------------------------------------------------------------------------------- people, places
P_NOVEL = 0.35   # a name or message is new (built here), so the model must copy it rather than recall the pool


def _novel_name(rng) -> str:
    """A name not in the pool: a respelt pool name (Ana -> Anna, Lena -> Lenna) or one built from syllables."""
    if rng.random() < 0.5:
        s = _c(rng, P.FIRST_NAMES)
        i = rng.randrange(1, len(s))
        kind = rng.randrange(3)
        if kind == 0 and s[i - 1].lower() not in "aeiou":
            return s[:i] + s[i - 1].lower() + s[i:]                      # double a consonant
        if kind == 1:
            return s + _c(rng, ("a", "e", "ie", "o", "y", "na", "ko"))    # add an ending
        return s[:i] + _c(rng, ("n", "l", "r", "s", "m")) + s[i:]          # slip a letter in
    return "".join(_c(rng, P.NAME_SYLLABLES) for _ in range(rng.randrange(2, 4))).capitalize()


def first_name(rng):
    s = _novel_name(rng) if rng.random() < P_NOVEL else _c(rng, P.FIRST_NAMES)
    return s, s


def full_name(rng):
    s = f"{first_name(rng)[0]} {_c(rng, P.LAST_NAMES)}"
    return s, s


def person(rng):
    r = rng.random()
    if r < 0.55:
        s = first_name(rng)[0]
    elif r < 0.9:
        s = full_name(rng)[0]
    else:
        s = _c(rng, P.RELATIONS)
    return s, s


def message(rng):
    """A text message: from the pool, or composed from parts (thousands of distinct messages to copy)."""
    if rng.random() >= P_NOVEL:
        s = _c(rng, P.MESSAGES)
        return s, s
    form = rng.randrange(4)
    if form == 0:
        s = f"{_c(rng, P.MSG_SUBJECTS)} {_c(rng, P.MSG_STATES)}"
    elif form == 1:
        s = f"{_c(rng, P.MSG_ASKS)} {_c(rng, P.MSG_ACTIONS)}"
    elif form == 2:
        s = f"{_c(rng, P.MSG_SUBJECTS)} {_c(rng, P.MSG_STATES)}, {_c(rng, P.MSG_ASKS)} {_c(rng, P.MSG_ACTIONS)}"
    else:
        s = f"{_c(rng, P.MSG_PLANS)} {_c(rng, P.MSG_TIMES)}"
    if rng.random() < 0.2:
        s += _c(rng, (", thanks", "!", " :)", ", no rush", ", love you", "?"))
    return s, s


def _slug(name: str) -> str:
    out = "".join(ch for ch in name.lower() if ch.isascii() and (ch.isalnum() or ch in " .-'"))
    return out.replace("'", "").replace(" ", ".")


def email(rng):
    first, last = _c(rng, P.FIRST_NAMES), _c(rng, P.LAST_NAMES)
    dom = _c(rng, ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "company.com",
                   f"{_slug(_c(rng, P.COMPANY_A))}{_slug(_c(rng, P.COMPANY_B))}.com", "uni.edu", "mail.de"))
    style = rng.randrange(4)
    local = (_slug(first) + "." + _slug(last), _slug(first), _slug(first)[0] + _slug(last),
             _slug(first) + str(rng.randrange(1, 99)))[style]
    s = f"{local}@{dom}"
    return s, s


def phone(rng):
    style = rng.randrange(5)
    d = [str(rng.randrange(10)) for _ in range(10)]
    d[0] = str(rng.randrange(2, 10))
    s = (f"({''.join(d[:3])}) {''.join(d[3:6])}-{''.join(d[6:])}", f"{''.join(d[:3])}-{''.join(d[3:6])}-{''.join(d[6:])}",
         f"+1 {''.join(d[:3])} {''.join(d[3:6])} {''.join(d[6:])}", f"+44 7{''.join(d[1:4])} {''.join(d[4:])}",
         f"+49 {''.join(d[:3])} {''.join(d[3:])}")[style]
    return s, s


def url(rng):
    base = _slug(_c(rng, P.COMPANY_A)) + _c(rng, ("", "-", "")) + _slug(_c(rng, P.COMPANY_B))
    tld = _c(rng, (".com", ".org", ".io", ".net", ".dev", ".co.uk"))
    path = _c(rng, ("", "/blog", "/pricing", "/docs/getting-started", "/about", "/careers", "/products/new"))
    s = _c(rng, ("https://", "https://www.", "www.", "")) + base + tld + path
    return s, s


def city(rng):
    c, country = _c(rng, P.CITIES)
    s = c if rng.random() < 0.8 else f"{c}, {country}"
    return s, s


def country(rng):
    s = _c(rng, P.CITIES)[1]
    return s, s


def address(rng):
    s = f"{rng.randrange(1, 2400)} {_c(rng, P.STREET_NAMES)} {_c(rng, P.STREET_TYPES)}"
    if rng.random() < 0.4:
        s += ", " + _c(rng, P.CITIES)[0]
    return s, s


def place(rng):
    r = rng.random()
    if r < 0.45:
        return address(rng)
    if r < 0.8:
        s = _c(rng, P.PLACES)
    else:
        s = _c(rng, P.CITIES)[0]
    return s, s


def place_type(rng):
    s = _c(rng, P.PLACE_TYPES)
    return s, s


def company(rng):
    s = f"{_c(rng, P.COMPANY_A)} {_c(rng, P.COMPANY_B)}{_c(rng, P.COMPANY_SUFFIX)}"
    return s, s


def store(rng):
    s = _c(rng, P.STORES)
    return s, s


def product(rng):
    s = f"{_c(rng, P.PRODUCTS_ADJ)} {_c(rng, P.PRODUCTS_NOUN)}" if rng.random() < 0.7 else _c(rng, P.PRODUCTS_NOUN)
    return s, s


def restaurant(rng):
    s = f"{_c(rng, P.RESTAURANT_A)} {_c(rng, P.RESTAURANT_B)}"
    return s, s


def hotel(rng):
    s = f"{_c(rng, P.HOTELS_A)} {_c(rng, P.HOTELS_B)}" + (f" {_c(rng, P.CITIES)[0]}" if rng.random() < 0.3 else "")
    return s, s


def song(rng):
    s = f"{_c(rng, P.SONG_A)} {_c(rng, P.SONG_B)}"
    return s, s


def playlist(rng):
    s = f"{_c(rng, P.PLAYLIST_A)} {_c(rng, P.PLAYLIST_B)}"
    return s, s


def username(rng):
    s = "@" + _slug(_c(rng, P.FIRST_NAMES)).replace(".", "") + _c(rng, ("", "_", ".")) + \
        _c(rng, (_slug(_c(rng, P.LAST_NAMES)).replace(".", ""), str(rng.randrange(10, 999)), "dev", "art", "official"))
    return s, s


def file_name(rng):
    base = _c(rng, P.FILE_BASES)
    suffix = _c(rng, ("", "_final", "_v2", f"_{rng.randrange(2019, 2027)}", "_draft", f"_{_c(rng, MONTHS).lower()}"))
    s = f"{base}{suffix}.{_c(rng, P.FILE_EXTS)}"
    return s, s


def folder(rng):
    s = _c(rng, P.FOLDERS)
    if rng.random() < 0.25:
        s = f"{s}/{_c(rng, P.FOLDERS)}"
    return s, s


def record_id(rng):
    prefix = _c(rng, ("", "#", "ORD-", "INV-", "TK-", "A", "BK", "PRJ-", "CASE-", "SO-"))
    s = prefix + str(rng.randrange(1000, 999999))
    if prefix == "#":
        return s, s[1:]
    return s, s


def tracking_number(rng):
    s = _c(rng, ("1Z", "TBA", "JD", "")) + "".join(str(rng.randrange(10)) for _ in range(rng.randrange(9, 14)))
    return s, s


def flight_number(rng):
    s = _c(rng, ("LH", "DL", "UA", "AF", "KL", "EK", "FR", "BA", "QF", "TK")) + str(rng.randrange(10, 9999))
    return s, s


def airport(rng):
    code, c = _c(rng, P.AIRPORTS)
    return code, code


def language(rng):
    s = _c(rng, P.LANGUAGES)[0]
    return s, s


def language_code(rng):
    name, code = _c(rng, P.LANGUAGES)
    return name, code


def currency_code(rng):
    name, code = _c(rng, P.CURRENCIES)
    if rng.random() < 0.3:
        return code, code
    return name, code


def ticker(rng):
    s = _c(rng, P.TICKERS)
    return s, s


def crypto(rng):
    name, code = _c(rng, P.CRYPTO)
    s = name if rng.random() < 0.6 else code
    return s, s


def pool(name: str, *, ci: bool = True):
    """Sampler drawing verbatim from a pool in pools.py (tuples of pairs use the first element)."""
    seq = getattr(P, name)

    def f(rng):
        s = _c(rng, seq)
        if isinstance(s, tuple):
            s = s[0]
        return s, s
    f.__name__ = name.lower()
    return f


# ---------------------------------------------------------------------------------------------- dates and times
def _rand_date(rng) -> _dt.date:
    start = _dt.date(2025, 1, 1).toordinal()
    return _dt.date.fromordinal(start + rng.randrange(3 * 365))


def _date_surface(rng, d: _dt.date) -> str:
    m, day, y = MONTHS[d.month - 1], d.day, d.year
    style = rng.randrange(8)
    if style == 0:
        return f"{m} {day}, {y}"
    if style == 1:
        return f"{m} {ordinal(day)}, {y}"
    if style == 2:
        return f"{day} {m} {y}"
    if style == 3:
        return f"{m[:3]} {day} {y}"
    if style == 4:
        return d.isoformat()
    if style == 5:
        return f"the {ordinal(day)} of {m} {y}"
    if style == 6:
        return f"{WEEKDAYS[d.weekday()]}, {m} {day}, {y}"
    return f"{m} {day} {y}"


def date_iso(rng):
    """Surface in one of eight spellings (always with a year), value YYYY-MM-DD."""
    d = _rand_date(rng)
    return _date_surface(rng, d), d.isoformat()


REL_DATES = ("today", "tomorrow", "tonight", "this weekend", "next Monday", "next Tuesday", "next Friday",
             "this Saturday", "on Sunday", "next week", "in two weeks", "the day after tomorrow", "on Wednesday",
             "this evening", "tomorrow morning", "end of the month", "next month", "on Thursday afternoon")


def date_text(rng):
    """Free-text date copied verbatim ("next Friday", "March 3rd")."""
    if rng.random() < 0.6:
        s = _c(rng, REL_DATES)
        if s.startswith("on "):
            return s, s[3:]
        return s, s
    d = _rand_date(rng)
    s = _c(rng, (f"{MONTHS[d.month - 1]} {ordinal(d.day)}", f"{MONTHS[d.month - 1]} {d.day}", f"the {ordinal(d.day)}"))
    return s, s


def _rand_time(rng):
    h = rng.randrange(24)
    m = _c(rng, (0, 0, 0, 15, 30, 30, 45, 5, 10, 20, 40, 50))
    return h, m


def _time_surface(rng, h: int, m: int) -> str:
    if h == 12 and m == 0 and rng.random() < 0.4:
        return "noon"
    if h == 0 and m == 0 and rng.random() < 0.5:
        return "midnight"
    h12 = h % 12 or 12
    ampm = "am" if h < 12 else "pm"
    style = rng.randrange(6)
    if style == 0:
        return f"{h:02d}:{m:02d}"
    if style == 1:
        return f"{h12}:{m:02d} {ampm}" if m or rng.random() < 0.5 else f"{h12} {ampm}"
    if style == 2:
        return f"{h12}:{m:02d}{ampm.upper() if rng.random() < 0.3 else ampm}"
    if style == 3:
        part = "in the morning" if h < 12 else ("in the afternoon" if h < 18 else "in the evening")
        if h >= 21 or h < 4:
            part = "at night"
        if m == 30:
            return f"half past {h12} {part}"
        if m == 0:
            return f"{h12} o'clock {part}"
        return f"{h12}:{m:02d} {part}"
    if style == 4:
        return f"{h12}{ampm}" if m == 0 else f"{h12}.{m:02d} {ampm}"
    return f"{h12}:{m:02d} {ampm.upper()[0]}.M." if rng.random() < 0.2 else f"{h12}:{m:02d} {ampm}"


def time24(rng):
    """Surface like "7:30 pm" / "half past 7 in the evening" / "19:30", value "HH:MM" (24-hour)."""
    h, m = _rand_time(rng)
    return _time_surface(rng, h, m), f"{h:02d}:{m:02d}"


def time_text(rng):
    h, m = _rand_time(rng)
    h12 = h % 12 or 12
    s = _c(rng, (f"{h12}:{m:02d} {'am' if h < 12 else 'pm'}", f"{h12}{'am' if h < 12 else 'pm'}", f"{h:02d}:{m:02d}"))
    return s, s


def datetime_iso(rng):
    d = _rand_date(rng)
    h, m = _rand_time(rng)
    return f"{_date_surface(rng, d)} at {_time_surface(rng, h, m)}", f"{d.isoformat()}T{h:02d}:{m:02d}:00"


def duration_text(rng):
    s = _c(rng, ("2 hours", "30 minutes", "an hour", "45 minutes", "90 minutes", "all day", "half an hour",
                 "3 days", "a week", "15 minutes", "2 weeks", "the weekend"))
    return s, s


# ---------------------------------------------------------------------------------------------- numbers
def minutes(rng):
    r = rng.random()
    if r < 0.12:
        s, v = _c(rng, (("half an hour", 30), ("an hour", 60), ("a quarter of an hour", 15), ("one hour", 60),
                        ("two hours", 120), ("1 hour 30 minutes", 90), ("an hour and a half", 90),
                        ("90 minutes", 90), ("2 hours", 120)))
        return s, v
    v = _c(rng, (1, 2, 3, 4, 5, 5, 6, 7, 8, 10, 10, 12, 15, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 75, 90))
    unit = _c(rng, ("minutes", "minutes", "min", "mins", "minute" if v == 1 else "minutes"))
    if v == 1:
        unit = _c(rng, ("minute", "min"))
    return f"{num_surface(rng, v)} {unit}", v


def seconds(rng):
    v = _c(rng, (5, 10, 15, 20, 30, 30, 45, 60, 90, 120, 180, 240, 300))
    return f"{num_surface(rng, v)} {_c(rng, ('seconds', 'secs', 'seconds', 'sec'))}", v


def hours(rng):
    v = rng.randrange(1, 13)
    return f"{num_surface(rng, v)} {'hour' if v == 1 else _c(rng, ('hours', 'hrs', 'hours'))}", v


def days(rng):
    v = rng.randrange(1, 31)
    return f"{num_surface(rng, v)} {'day' if v == 1 else 'days'}", v


def percent(rng):
    v = _c(rng, (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 100))
    return f"{v}{_c(rng, ('%', ' percent', '%', ' %'))}", v


def make_int(lo: int, hi: int, words_p: float = 0.25):
    def f(rng):
        v = rng.randrange(lo, hi + 1)
        return num_surface(rng, v, words_p), v
    f.__name__ = f"int_{lo}_{hi}"
    return f


def make_num(lo: float, hi: float, decimals: int = 1):
    def f(rng):
        if rng.random() < 0.4:
            v = rng.randrange(int(lo), int(hi) + 1)
            return str(v), v
        v = round(rng.uniform(lo, hi), decimals)
        return f"{v:.{decimals}f}", float(f"{v:.{decimals}f}")
    f.__name__ = f"num_{lo}_{hi}"
    return f


def money(rng):
    if rng.random() < 0.5:
        v = _c(rng, (5, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100, 120, 150, 200, 250, 300, 500, 750, 1000, 1200))
        style = rng.randrange(3)
        s = (f"${v}", f"{v} dollars", f"{v} bucks")[style] if rng.random() < 0.7 else (f"€{v}", f"{v} euros", f"£{v}")[style]
        return s, v
    cents = rng.randrange(1, 100)
    whole = rng.randrange(1, 500)
    v = float(f"{whole}.{cents:02d}")
    return _c(rng, (f"${whole}.{cents:02d}", f"{whole}.{cents:02d}", f"€{whole}.{cents:02d}")), v


def temperature(rng):
    v = rng.randrange(16, 30) if rng.random() < 0.6 else rng.randrange(60, 80)
    return f"{v}{_c(rng, (' degrees', '°', ' degrees', ''))}", v


def count_people(rng):
    v = rng.randrange(2, 13)
    return num_surface(rng, v, 0.4), v


def rating(rng):
    v = rng.randrange(1, 6)
    return f"{num_surface(rng, v, 0.5)} {_c(rng, ('stars', 'out of 5', 'stars'))}" if v > 1 else "1 star", v


def year(rng):
    v = rng.randrange(1960, 2027)
    return str(v), v


def quantity(rng):
    v = _c(rng, (1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12, 20, 24))
    return num_surface(rng, v, 0.35), v


def small_count(rng):
    v = _c(rng, (1, 2, 3, 3, 5, 5, 5, 10, 10, 10, 15, 20, 25, 50))
    return num_surface(rng, v, 0.25), v


def measure(rng):
    if rng.random() < 0.5:
        v = rng.randrange(1, 500)
        return str(v), v
    v = round(rng.uniform(0.1, 200), 1)
    return f"{v:.1f}", float(f"{v:.1f}")


# ---------------------------------------------------------------------------------------------- lists
def make_list(item_sampler: Callable, lo: int = 2, hi: int = 4, item_type: str = "string"):
    def f(rng):
        n = rng.randrange(lo, hi + 1)
        surfaces, values = [], []
        tries = 0
        while len(values) < n and tries < 20:
            tries += 1
            s, v = item_sampler(rng)
            if v in values:
                continue
            surfaces.append(s)
            values.append(v)
        if len(surfaces) == 1:
            return surfaces[0], values
        sep = _c(rng, (", ", ", ", " and "))
        if sep == " and " and len(surfaces) > 2:
            sep = ", "
        last = _c(rng, (" and ", ", and ", " & ")) if sep == ", " else " and "
        return sep.join(surfaces[:-1]) + last + surfaces[-1], values
    return f


def expression(rng):
    a, b, c = rng.randrange(2, 200), rng.randrange(2, 50), rng.randrange(2, 12)
    s = _c(rng, (f"{a} * {b}", f"{a} + {b} * {c}", f"({a} + {b}) / {c}", f"{a} / {c}", f"{a}^{c % 4 + 2}",
                 f"sqrt({a * a})", f"{a} - {b}", f"{a}.{c} * {b}", f"{a} % {c}", f"{c}!"))
    return s, s


def equation(rng):
    a, b, c = rng.randrange(2, 12), rng.randrange(1, 50), rng.randrange(1, 100)
    s = _c(rng, (f"{a}x + {b} = {c}", f"x^2 - {a * a} = 0", f"{a}y - {b} = {c}", f"x / {a} = {b}"))
    return s, s


def _simple(seq_name):
    return pool(seq_name)


def _bare_int(rng):
    v = rng.randrange(1, 100)
    return str(v), v


# ---------------------------------------------------------------------------------------------- registry
K = Kind
KINDS: dict[str, Kind] = {
    "person": K("string", person, text=True, preps=("to", "for", "with")),
    "last_name": K("string", pool("LAST_NAMES"), preps=("",)),
    "first_name": K("string", first_name, text=True, preps=("to", "for")),
    "full_name": K("string", full_name, text=True, preps=("for", "named")),
    "email": K("string", email, preps=("to", "at")),
    "phone": K("string", phone, preps=("at", "on", "to")),
    "url": K("string", url, preps=("at", "from")),
    "city": K("string", city, text=True, preps=("in", "for")),
    "country": K("string", country, text=True, preps=("in", "for")),
    "address": K("string", address, preps=("at", "to")),
    "place": K("string", place, text=True, preps=("to", "at")),
    "place_type": K("string", place_type, text=True, preps=("for", "a")),
    "company": K("string", company, text=True, preps=("for", "at")),
    "store": K("string", store, text=True, preps=("from", "at")),
    "product": K("string", product, text=True, preps=("for",)),
    "restaurant": K("string", restaurant, text=True, preps=("at",)),
    "hotel": K("string", hotel, text=True, preps=("at",)),
    "song": K("string", song, text=True, preps=("",)),
    "artist": K("string", pool("ARTISTS"), text=True, preps=("by",)),
    "genre": K("string", pool("GENRES"), text=True, preps=("some",)),
    "playlist": K("string", playlist, text=True, preps=("",)),
    "movie": K("string", pool("MOVIES"), text=True, preps=("",)),
    "show": K("string", pool("SHOWS"), text=True, preps=("",)),
    "podcast": K("string", pool("PODCASTS"), text=True, preps=("",)),
    "book": K("string", pool("BOOKS"), text=True, preps=("",)),
    "username": K("string", username, preps=("",)),
    "file_name": K("string", file_name, preps=("",)),
    "folder": K("string", folder, preps=("in", "to")),
    "record_id": K("string", record_id, preps=("",)),
    "tracking_number": K("string", tracking_number, preps=("",)),
    "flight_number": K("string", flight_number, preps=("",)),
    "airport": K("string", airport, preps=("from", "to")),
    "airline": K("string", pool("AIRLINES"), text=True, preps=("with",)),
    "language": K("string", language, preps=("into", "in")),
    "language_code": K("string", language_code, preps=("into", "in")),
    "currency_code": K("string", currency_code, preps=("in",)),
    "ticker": K("string", ticker, preps=("",)),
    "crypto": K("string", crypto, preps=("",)),
    "message": K("string", message, text=True, preps=("saying",)),
    "subject": K("string", pool("EMAIL_SUBJECTS"), text=True, preps=("about",)),
    "note": K("string", pool("NOTE_TEXTS"), text=True, preps=("",)),
    "event_title": K("string", pool("EVENT_TITLES"), text=True, preps=("for",)),
    "task": K("string", pool("TASKS"), text=True, preps=("",)),
    "label": K("string", pool("LABELS"), text=True, preps=("called", "for")),
    "alarm_label": K("string", pool("ALARM_LABELS"), text=True, preps=("called",)),
    "search_query": K("string", pool("SEARCH_QUERIES"), text=True, preps=("for",)),
    "device": K("string", pool("DEVICES"), text=True, preps=("",)),
    "room": K("string", pool("ROOMS"), text=True, preps=("in",)),
    "scene": K("string", pool("SCENES"), text=True, preps=("",)),
    "color": K("string", pool("COLORS"), text=True, preps=("to",)),
    "app": K("string", pool("APPS"), preps=("",)),
    "grocery": K("string", pool("GROCERIES"), text=True, preps=("",)),
    "dish": K("string", pool("DISHES"), text=True, preps=("",)),
    "cuisine": K("string", pool("CUISINES"), text=True, preps=("",)),
    "team": K("string", pool("SPORTS_TEAMS"), text=True, preps=("",)),
    "league": K("string", pool("LEAGUES"), preps=("in",)),
    "sport": K("string", pool("SPORTS"), text=True, preps=("",)),
    "news_topic": K("string", pool("NEWS_TOPICS"), text=True, preps=("about", "on")),
    "news_source": K("string", pool("NEWS_SOURCES"), preps=("from",)),
    "phrase": K("string", pool("WORDS_TO_TRANSLATE"), text=True, preps=("",)),
    "word": K("string", pool("DICT_WORDS"), text=True, preps=("",)),
    "topic": K("string", pool("WIKI_TOPICS"), text=True, preps=("about", "on")),
    "exercise": K("string", pool("EXERCISES"), text=True, preps=("",)),
    "medication": K("string", pool("MEDICATIONS"), text=True, preps=("",)),
    "symptom": K("string", pool("SYMPTOMS"), text=True, preps=("",)),
    "car_model": K("string", pool("CAR_MODELS"), preps=("",)),
    "work_team": K("string", pool("TEAMS_WORK"), text=True, preps=("",)),
    "channel": K("string", pool("CHANNELS"), preps=("in", "to")),
    "event_name": K("string", pool("EVENT_NAMES"), text=True, preps=("for",)),
    "social_post": K("string", pool("SOCIAL_POSTS"), text=True, preps=("saying",)),
    "recipe": K("string", pool("RECIPES"), text=True, preps=("for",)),
    "ingredient": K("string", pool("INGREDIENTS"), text=True, preps=("with",)),
    "course": K("string", pool("COURSES"), preps=("",)),
    "job_title": K("string", pool("JOB_TITLES"), text=True, preps=("",)),
    "unit_length": K("string", pool("UNITS_LENGTH"), preps=("in",)),
    "unit_mass": K("string", pool("UNITS_MASS"), preps=("in",)),
    "unit_volume": K("string", pool("UNITS_VOLUME"), preps=("in",)),
    "unit_temp": K("string", pool("UNITS_TEMP"), preps=("in",)),
    "wifi": K("string", pool("WIFI_NAMES"), preps=("",)),
    "bt_device": K("string", pool("BT_DEVICES"), text=True, preps=("",)),
    "animal": K("string", pool("ANIMALS"), text=True, preps=("",)),
    "pet_name": K("string", pool("PET_NAMES"), preps=("",)),
    "hashtag": K("string", pool("HASHTAGS"), preps=("",)),
    "note_title": K("string", pool("NOTE_TITLES"), text=True, preps=("called", "titled")),
    "group_chat": K("string", pool("GROUP_CHATS"), text=True, preps=("in", "to")),
    "project": K("string", pool("PROJECT_NAMES"), text=True, preps=("in", "for")),
    "album": K("string", pool("ALBUMS"), text=True, preps=("to", "in")),
    "date_iso": K("string", date_iso, preps=("on", "for")),
    "date_text": K("string", date_text, preps=("",)),
    "time24": K("string", time24, preps=("at",)),
    "time_text": K("string", time_text, preps=("at",)),
    "datetime_iso": K("string", datetime_iso, preps=("on",)),
    "duration_text": K("string", duration_text, preps=("for",)),
    "minutes": K("integer", minutes, preps=("for",)),
    "seconds": K("integer", seconds, preps=("for",)),
    "hours": K("integer", hours, preps=("for",)),
    "days": K("integer", days, preps=("for",)),
    "percent": K("integer", percent, preps=("to", "at")),
    "money": K("number", money, preps=("for", "of")),
    "temperature": K("integer", temperature, preps=("to",)),
    "count_people": K("integer", count_people, preps=("for",)),
    "rating": K("integer", rating, preps=("",)),
    "year": K("integer", year, preps=("from", "in")),
    "quantity": K("integer", quantity, preps=("",)),
    "small_count": K("integer", small_count, preps=("",)),
    "measure": K("number", measure, preps=("",)),
    "bare_int": K("integer", _bare_int, preps=("",)),
    "list_dish": K("array", make_list(pool("DISHES"), 2, 3), items="string", text=True),
    "player": K("string", pool("PLAYERS"), text=True, preps=("",)),
    "question": K("string", pool("QUESTIONS"), text=True, preps=("",)),
    "expression": K("string", expression, preps=("",)),
    "equation": K("string", equation, preps=("",)),
    "list_store": K("array", make_list(pool("STORES"), 2, 3), items="string"),
    "list_grocery": K("array", make_list(pool("GROCERIES"), 2, 5), items="string", text=True),
    "list_person": K("array", make_list(first_name, 2, 3), items="string", text=True, preps=("with", "to")),
    "list_email": K("array", make_list(email, 2, 3), items="string", preps=("to",)),
    "list_ingredient": K("array", make_list(pool("INGREDIENTS"), 2, 4), items="string", text=True, preps=("with",)),
    "list_city": K("array", make_list(lambda r: (lambda c: (c, c))(_c(r, P.CITIES)[0]), 2, 3), items="string",
                   preps=("for",)),
    "list_hashtag": K("array", make_list(pool("HASHTAGS"), 2, 3), items="string", preps=("with",)),
    "list_ticker": K("array", make_list(ticker, 2, 4), items="string", preps=("for",)),
    "list_file": K("array", make_list(file_name, 2, 3), items="string", preps=("",)),
    "list_task": K("array", make_list(pool("TASKS"), 2, 3), items="string", text=True, preps=("",)),
    "list_device": K("array", make_list(pool("DEVICES"), 2, 3), items="string", text=True, preps=("",)),
    "list_language_code": K("array", make_list(language_code, 2, 3), items="string", preps=("into",)),
    "list_int": K("array", make_list(lambda r: (lambda v: (str(v), v))(r.randrange(1, 60)), 2, 4),
                  items="integer", preps=("",)),
    "list_num": K("array", make_list(lambda r: (lambda v: (f"{v:.1f}", v))(float(f"{r.uniform(1, 100):.1f}")), 2, 5),
                  items="number", preps=("",)),
    "list_weekday": K("array", make_list(lambda r: (lambda w: (w, w))(_c(r, WEEKDAYS)), 2, 3), items="string",
                      preps=("on",)),
}


def get_kind(name: str) -> Kind:
    """Kind by name; also parametrised "int:LO:HI" and "num:LO:HI[:DECIMALS]"."""
    k = KINDS.get(name)
    if k is not None:
        return k
    parts = name.split(":")
    if parts[0] == "int" and len(parts) == 3:
        k = Kind("integer", make_int(int(parts[1]), int(parts[2])), preps=("",))
    elif parts[0] == "num" and len(parts) in (3, 4):
        k = Kind("number", make_num(float(parts[1]), float(parts[2]), int(parts[3]) if len(parts) == 4 else 1),
                 preps=("",))
    else:
        raise KeyError(f"unknown value kind {name!r}")
    KINDS[name] = k
    return k
