"""Surface grammar around a request: wrappers (polite, indirect, terse), fillers, conjunctions, casing and typo noise,
and chit-chat that needs no tool. Pure data plus small functions; randomness only from the `random.Random` passed in.

A query is built as a list of segments `[text, protected]`; noise (typos, casing) touches only unprotected segments,
so argument values stay verbatim.
"""
from __future__ import annotations

QUESTION_STARTS = ("what", "what's", "whats", "how", "how's", "is", "are", "do", "does", "did", "when", "where",
                   "where's", "who", "who's", "which", "will", "can", "could", "should", "would", "any", "has",
                   "am", "why", "i wonder")
STATEMENT_STARTS = ("i", "i'm", "i'll", "i'd", "we", "we're", "my", "it's", "done", "we'll")
VERBS = frozenset("""
accept activate add adjust alert annotate answer append approve archive ask assign auto-reply back beep begin block
book bookmark bring buy calculate call cancel categorize change charge check clean clear clone close combine comment
compare complete compress compute connect continue convert copy count create decline define delegate delete deliver
deny detect dial dim divide do download draft drive dump duplicate edit email enroll erase explain export facetime
file film find flip focus follow forward freeze fwd generate get give go google guided hand heat help hit hold honk
hook interpret invite jot join keep kill label launch let line list load lock log look mail make mark meditate merge
message modify move name navigate never note notify okay open order pair pause pay phone pick pin place plan play
please point post power practice precondition preheat price pronounce pull purchase push put queue quote read
record recover reject relocate remember remind remove rename reopen reorder repeat reply request reschedule reserve
resolve respond restore resume retitle return rewind ring roll run save say scale scan schedule search sell send set
settle share shelve shoot show shut sign silence skip sms snap snooze solve spell split star start stop subscribe
substitute summarize switch tag take tally tell text throw toss track transfer translate trash travel turn tweet
unarchive unfollow unlock unsubscribe update upload use venmo visit wake walk warm watch water whatsapp wipe write
youtube zip""".split())

# (prefix, suffix); "{c}" is the request. Weights by repetition.
IMPERATIVE_WRAPPERS = (
    ("", ""), ("", ""), ("", ""), ("", ""), ("", ""), ("", "."), ("", "."), ("", "!"),
    ("please ", ""), ("please ", "."), ("", " please"), ("", ", please"), ("", " pls"), ("", " thanks"),
    ("", ", thank you"), ("can you ", "?"), ("can you ", ""), ("could you ", "?"), ("could you please ", "?"),
    ("would you ", "?"), ("would you kindly ", "?"), ("will you ", "?"), ("I need you to ", ""), ("I want you to ", ""),
    ("I'd like you to ", "."), ("go ahead and ", ""), ("hey, ", ""), ("hey ", ""), ("hi, ", ""), ("ok ", ""),
    ("okay, ", ""), ("quick one: ", ""), ("hey assistant, ", ""), ("yo ", ""), ("so, ", ""), ("right, ", ""),
    ("alright, ", ""), ("can you please ", "?"), ("do me a favor and ", ""), ("would you mind if I asked you to ", "?"),
    ("I'd appreciate it if you could ", "."), ("when you get a chance, ", ""), ("real quick, ", ""),
    ("hey there, could you ", "?"), ("please could you ", "?"), ("", " asap"), ("", " for me"), ("", " now"),
    ("need to ", ""), ("just ", ""), ("could u ", "?"), ("can u ", ""),
)
QUESTION_WRAPPERS = (
    ("", "?"), ("", "?"), ("", "?"), ("", "?"), ("", ""), ("", ""), ("", "??"), ("hey, ", "?"), ("quick question, ", "?"),
    ("do you know ", "?"), ("can you tell me ", "?"), ("I was wondering ", "."), ("so ", "?"), ("hi, ", "?"),
    ("any idea ", "?"), ("tell me ", ""), ("I'd like to know ", "."), ("could you check ", "?"), ("hmm, ", "?"),
    ("", ", please?"), ("please tell me ", "."), ("", " right now?"), ("ok so ", "?"),
)
NEUTRAL_WRAPPERS = (
    ("", ""), ("", ""), ("", ""), ("", "?"), ("", " please"), ("", ", please"), ("hey, ", ""), ("ok ", ""),
    ("", " thanks"), ("quick one: ", ""), ("", "."), ("", " pls"), ("hi, ", ""), ("um ", ""), ("", "!"),
)
STATEMENT_WRAPPERS = (
    ("", ""), ("", ""), ("", "."), ("hey, ", ""), ("so ", ""), ("ok so ", ""), ("", ", thanks"), ("", ". thanks"),
    ("hi, ", ""), ("", "!"), ("hmm, ", ""), ("", " lol"),
)
FILLERS = ("um", "uh", "uhh", "like", "hmm", "so", "okay so", "actually", "you know", "er", "well", "I mean",
           "basically", "let's see")
CONJUNCTIONS = (" and ", " and ", " and ", ", and ", ", then ", ". Also ", " and also ", "; ", ", plus ", " & ",
                ", after that ", ". And ", " then ", ", and then ", ". Then ", " as well as ", ", oh and ")

CHITCHAT = (
    "thanks!", "thank you so much", "hi", "hello there", "good morning", "how are you today?", "you're awesome",
    "never mind", "that's all for now", "ok cool", "who made you?", "what can you do?", "tell me about yourself",
    "lol", "I'm bored", "that was helpful", "nothing, forget it", "are you a robot?", "good night", "hmm let me think",
    "sorry, wrong button", "I love pizza", "what's your favorite color?", "ok", "yes", "no thanks",
    "I'm feeling a bit tired today", "today was a long day", "my cat just knocked over a plant", "brb",
    "I think I'll go for a walk later", "that's funny", "do you dream?", "what is love?", "happy friday!",
    "can we talk for a minute?", "I'm not sure what I need", "oops", "hello? anyone there?",
    "I had a great weekend", "you misunderstood me", "let me think about it", "is this thing on?",
    "good job", "I just finished my exams!", "the weather was lovely yesterday", "I miss summer",
    "my friend recommended you", "what's the meaning of life", "I need a vacation",
    "are you listening?", "just testing", "asdfgh", "hahaha", "why not", "maybe later", "I changed my mind",
)

KEYBOARD = {"a": "sqwz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
            "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm", "o": "iklp",
            "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase",
            "x": "zsdc", "y": "tghu", "z": "asx"}


def typo(rng, word: str) -> str:
    """One keyboard-style typo in a word of 4+ letters (swap, drop, double, neighbour key)."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    near = KEYBOARD.get(word[i].lower())
    return word[:i] + (near[rng.randrange(len(near))] if near else word[i]) + word[i + 1:]


def is_question(text: str) -> bool:
    t = text.lstrip().lower()
    for w in QUESTION_STARTS:
        if t.startswith(w + " "):
            return True
    return False


def wrappers_for(text: str):
    """Wrapper set that fits how the request starts: question, imperative verb, statement, or other (terse)."""
    if is_question(text):
        return QUESTION_WRAPPERS
    first = text.lstrip().split(" ", 1)[0].lower().rstrip(":,")
    if first in VERBS:
        return IMPERATIVE_WRAPPERS
    if first in STATEMENT_STARTS:
        return STATEMENT_WRAPPERS
    return NEUTRAL_WRAPPERS
