"""Heuristics for tools the generator has never seen (`tools=` mode): pick a value sampler, query phrases and generic
query templates from a parameter's name, type, description and enum.
"""
from __future__ import annotations

import re

from . import pools as PL
from .spec import Bool, Enum
from .values import Kind, get_kind, make_list

_WORD_RE = re.compile(r"[a-z]+|[0-9]+")


def words_of(name: str) -> list[str]:
    """Lowercase words of an identifier in any style (snake, camel, kebab, spaces)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    return _WORD_RE.findall(s.lower())


# (regex on name words, regex on description or None, kind) -- first match wins; order matters
STRING_RULES = (
    (r"\bemails?\b|\bmail\b", None, "email"), (r"\bphone|\btel\b|\bmobile\b|\bfax\b", None, "phone"),
    (r"\burl\b|\blink\b|\bwebsite\b|\bhref\b|\buri\b|\bendpoint\b", None, "url"),
    (r"\bdatetime\b|\btimestamp\b|\bdeadline at\b", None, "datetime_iso"),
    (r"\bdate\b|\bday\b|\bbirthday\b|\bdob\b|\bdeadline\b|\bdue\b", r"yyyy|iso|\d{4}-\d{2}", "date_iso"),
    (r"\bdate\b|\bday\b|\bbirthday\b|\bdeadline\b|\bdue\b|\bwhen\b", None, "date_text"),
    (r"\btime\b|\bat\b|\bclock\b", r"hh:mm|24|iso", "time24"), (r"\btime\b", None, "time_text"),
    (r"\baddress\b|\bstreet\b", None, "address"),
    (r"\bcity\b|\blocation\b|\btown\b|\bplace\b|\bdestination\b|\borigin\b|\bwhere\b|\bregion\b|\barea\b", None, "city"),
    (r"\bcountry\b|\bnation\b", None, "country"),
    (r"\blang|\blocale\b", r"code|iso|639|bcp", "language_code"), (r"\blang|\blocale\b", None, "language"),
    (r"\bcurrency\b|\bccy\b", None, "currency_code"), (r"\bticker\b|\bsymbol\b|\bstock\b", None, "ticker"),
    (r"\bcompany\b|\borg|\bclient\b|\bcustomer\b|\bvendor\b|\bsupplier\b|\bemployer\b|\bbrand\b", None, "company"),
    (r"\bfile|\bpath\b|\battachment\b", None, "file_name"), (r"\bfolder\b|\bdir|\bdirectory\b", None, "folder"),
    (r"\bfirst\b", None, "first_name"), (r"\blast\b|\bsurname\b|\bfamily\b", None, "last_name"),
    (r"\brecipient\b|\bcontact\b|\bperson\b|\buser\b|\bassignee\b|\bowner\b|\bauthor\b|\battendee\b|\bfriend\b|"
     r"\bwho\b|\bto\b|\bname\b|\bpatient\b|\bguest\b|\bdriver\b|\bcustomer\b|\bemployee\b|\bmember\b", None, "person"),
    (r"\bsubject\b|\btitle\b|\bheading\b|\bheadline\b|\bsummary\b", None, "subject"),
    (r"\bmessage\b|\bmsg\b|\btext\b|\bbody\b|\bcontent\b|\bcomment\b|\bcaption\b|\breply\b", None, "message"),
    (r"\bnote\b|\bmemo\b|\bdescription\b|\bdetails\b|\breason\b|\btask\b|\btodo\b", None, "note"),
    (r"\bquery\b|\bsearch\b|\bkeyword|\bterm\b|\bq\b|\bprompt\b", None, "search_query"),
    (r"\bsong\b|\btrack\b", None, "song"), (r"\bartist\b|\bband\b|\bsinger\b", None, "artist"),
    (r"\bplaylist\b", None, "playlist"), (r"\balbum\b", None, "album"), (r"\bmovie\b|\bfilm\b", None, "movie"),
    (r"\bshow\b|\bseries\b", None, "show"), (r"\bbook\b", None, "book"), (r"\bpodcast\b", None, "podcast"),
    (r"\bgenre\b", None, "genre"), (r"\bdevice\b|\bappliance\b|\blight\b|\blamp\b", None, "device"),
    (r"\broom\b", None, "room"), (r"\bapp\b|\bapplication\b", None, "app"), (r"\bcolou?r\b", None, "color"),
    (r"\bproduct\b|\bitem\b|\barticle\b", None, "product"), (r"\brestaurant\b", None, "restaurant"),
    (r"\bdish\b|\bfood\b|\bmeal\b", None, "dish"), (r"\bcuisine\b", None, "cuisine"), (r"\brecipe\b", None, "recipe"),
    (r"\bingredient\b", None, "ingredient"), (r"\bteam\b|\bclub\b", None, "team"), (r"\bleague\b", None, "league"),
    (r"\bsport\b", None, "sport"), (r"\bplayer\b|\bathlete\b", None, "player"), (r"\bhotel\b", None, "hotel"),
    (r"\bairport\b|\biata\b", None, "airport"), (r"\bairline\b|\bcarrier\b", None, "airline"),
    (r"\bflight\b", None, "flight_number"), (r"\btracking\b", None, "tracking_number"),
    (r"\bid\b|\bcode\b|\bnumber\b|\bsku\b|\border\b|\bref|\bkey\b|\bconfirmation\b|\binvoice\b", None, "record_id"),
    (r"\busername\b|\bhandle\b", None, "username"), (r"\bhashtag\b|\btag\b", None, "hashtag"),
    (r"\bchannel\b", None, "channel"), (r"\bunit\b", None, "unit_length"),
    (r"\btopic\b|\bsubject\b|\bconcept\b", None, "topic"), (r"\bquestion\b", None, "question"),
    (r"\bexpression\b|\bformula\b|\bexpr\b", None, "expression"), (r"\bequation\b", None, "equation"),
    (r"\bword\b", None, "word"), (r"\bphrase\b|\bsentence\b", None, "phrase"),
    (r"\bexercise\b|\bactivity\b|\bworkout\b", None, "exercise"), (r"\bmedication\b|\bdrug\b|\bmedicine\b", None, "medication"),
    (r"\bsymptom\b", None, "symptom"), (r"\bevent\b|\bmeeting\b|\bappointment\b", None, "event_title"),
    (r"\bscene\b|\bmode\b", None, "scene"), (r"\bnetwork\b|\bssid\b|\bwifi\b", None, "wifi"),
    (r"\bcourse\b|\bclass\b", None, "course"), (r"\bpet\b|\bdog\b|\bcat\b", None, "pet_name"),
    (r"\bgroup\b|\bchat\b", None, "group_chat"), (r"\bproject\b", None, "project"),
    (r"\bjob\b|\brole\b|\bposition\b", None, "job_title"), (r"\bnews\b", None, "news_topic"),
    (r"\bsource\b|\boutlet\b", None, "news_source"), (r"\bstore\b|\bshop\b", None, "store"),
)
INT_RULES = (
    (r"\bminutes?\b|\bmins?\b", "minutes"), (r"\bseconds?\b|\bsecs?\b", "seconds"), (r"\bhours?\b|\bhrs?\b", "hours"),
    (r"\bdays\b|\bnights\b", "int:1:14"), (r"\bpercent|\bpct\b|\bvolume\b|\bbrightness\b|\blevel\b", "percent"),
    (r"\byear\b", "year"), (r"\bage\b", "int:18:90"), (r"\btemp|\bdegrees?\b|\bcelsius\b|\bfahrenheit\b", "temperature"),
    (r"\brating\b|\bstars?\b", "int:1:5"), (r"\bpeople\b|\bguests?\b|\bparty\b|\bpassengers?\b|\badults?\b|\bseats?\b",
                                          "count_people"),
    (r"\blimit\b|\bmax\b|\btop\b|\bn\b|\bresults\b|\bpage\b|\bsize\b", "small_count"),
    (r"\bcount\b|\bnumber\b|\bnum\b|\bquantity\b|\bqty\b|\bamount\b|\bunits\b|\bcopies\b", "quantity"),
    (r"\bport\b", "int:1024:9000"), (r"\bid\b", "int:100:99999"), (r"\bepisode\b|\bseason\b|\bchapter\b", "int:1:12"),
)
NUM_RULES = (
    (r"\bprice\b|\bamount\b|\bcost\b|\bbudget\b|\btotal\b|\bsalary\b|\bfee\b|\btip\b|\bbalance\b|\bpayment\b", "money"),
    (r"\blat", "num:-90:90:4"), (r"\blon|\blng\b", "num:-180:180:4"), (r"\bpercent|\brate\b|\bratio\b", "num:0.5:20:1"),
    (r"\bweight\b|\bkg\b|\bmass\b", "num:0.5:100:1"), (r"\btemp", "num:-20:40:1"), (r"\bhours?\b", "num:0.5:12:1"),
)
LIST_RULES = (
    (r"\bemails?\b|\baddresses\b", "list_email"), (r"\brecipients\b|\battendees\b|\bparticipants\b|\bpeople\b|"
                                                    r"\bmembers\b|\bnames\b|\busers\b|\bfriends\b|\binvitees\b", "list_person"),
    (r"\btags\b|\bhashtags\b|\blabels\b", "list_hashtag"), (r"\bcities\b|\blocations\b|\bplaces\b", "list_city"),
    (r"\blanguages\b|\blangs\b|\blocales\b", "list_language_code"), (r"\bfiles\b|\bpaths\b|\battachments\b", "list_file"),
    (r"\bingredients\b", "list_ingredient"), (r"\btickers\b|\bsymbols\b|\bstocks\b", "list_ticker"),
    (r"\bdays\b|\bweekdays\b", "list_weekday"), (r"\bdevices\b|\blights\b", "list_device"), (r"\btasks\b|\btodos\b", "list_task"),
    (r"\bitems\b|\bproducts\b|\bgroceries\b|\bthings\b", "list_grocery"), (r"\bdishes\b|\bfoods\b", "list_dish"),
)

_GENERIC_STRINGS = tuple(PL.NOTE_TITLES) + tuple(PL.EVENT_TITLES) + tuple(PL.PROJECT_NAMES)


def _generic_string(rng):
    s = _GENERIC_STRINGS[rng.randrange(len(_GENERIC_STRINGS))]
    return s, s


def _match(rules, text: str, desc: str):
    for rule in rules:
        pat, dpat, kind = (rule if len(rule) == 3 else (rule[0], None, rule[1]))
        if re.search(pat, text) and (dpat is None or re.search(dpat, desc)):
            return kind
    return None


def kind_for_param(name: str, ptype: str, description: str = "", enum=None, items=None):
    """Value sampler (Kind, Enum or Bool) for a parameter; None when no sensible value can be made (objects)."""
    text = " ".join(words_of(name))
    desc = (description or "").lower()
    if enum:
        vals = [v for v in enum if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        if vals:
            e = Enum.__new__(Enum)
            e.values = list(vals)
            e.surfaces = [(str(v).replace("_", " "),) if isinstance(v, str) else (str(v),) for v in vals]
            e.type = ptype
            return e
    if ptype == "boolean":
        w = " ".join(x for x in words_of(name) if x not in ("is", "enable", "enabled", "use", "should", "has", "do"))
        w = w or " ".join(words_of(name)) or name
        return Bool(f"with {w}|{w} on|and {w}|{w}: yes", f"without {w}|{w} off|no {w}|{w}: no")
    if ptype == "integer":
        return get_kind(_match(INT_RULES, text, desc) or "int:1:100")
    if ptype == "number":
        return get_kind(_match(NUM_RULES, text, desc) or "measure")
    if ptype == "array":
        if items == "integer":
            return get_kind("list_int")
        if items == "number":
            return get_kind("list_num")
        if items in (None, "string"):
            k = "list_email" if "email" in desc or "e-mail" in desc else _match(LIST_RULES, text, desc)
            if k:
                return get_kind(k)
            single = kind_for_param(name.rstrip("s"), "string", description)
            return Kind("array", make_list(single.sample, 2, 3), items="string")
        return None
    if ptype == "string":
        k = _match(STRING_RULES, text, desc) or _match(STRING_RULES, " ".join(words_of(desc))[:200], "")
        if k == "person" and "email" in desc:
            k = "email"
        elif k == "person" and "phone" in desc:
            k = "phone"
        return get_kind(k) if k else Kind("string", _generic_string, text=True)
    return None


def phrases_for_param(name: str, kind) -> tuple:
    """Query phrases ("{v}" = value) for a parameter: connecting words from the kind plus the parameter's words."""
    w = " ".join(words_of(name)) or name
    if isinstance(kind, Bool):
        return ("{v}",)
    if isinstance(kind, Enum):
        return (f"{w} {{v}}", "{v}", f"with {w} {{v}}", f"{{v}} {w}", f"{w}: {{v}}")
    out = [f"{p} {{v}}" for p in getattr(kind, "preps", ()) if p]
    out += [f"{w} {{v}}", f"with {w} {{v}}", f"{w}: {{v}}", f"{w} = {{v}}", f"{w} {{v}}"]
    return tuple(out)


def heads_for_tool(name: str, description: str) -> list[str]:
    """Request openings for a tool: its name words ("book meeting room"), with an article when the name is
    verb + object ("book a meeting room", "get the weather"), and its description's first sentence when short."""
    from .grammar import VERBS
    words = words_of(name) or [name]
    heads = [" ".join(words)]
    if len(words) >= 2 and words[0] in VERBS:
        obj = " ".join(words[1:])
        art = "an" if obj[0] in "aeiou" else "a"
        heads += [f"{words[0]} the {obj}", f"{words[0]} {art} {obj}" if not obj.endswith("s") else f"{words[0]} {obj}"]
    else:
        heads.append(" ".join(words) + ":")
    desc = (description or "").strip().split(". ")[0].rstrip(".").strip()
    if desc and len(desc.split()) <= 14:
        heads.append(desc[:1].lower() + desc[1:])
    return heads
