"""Surface grammar around a request: wrappers (polite, indirect, terse), fillers, conjunctions, casing and typo noise,
and chit-chat that needs no tool. Pure data plus small functions; randomness only from the `random.Random` passed in.

A query is built as a list of segments `[text, protected]`; noise (typos, casing) touches only unprotected segments,
so argument values stay verbatim.
"""
from __future__ import annotations

import re

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

# General-knowledge questions: answered from the model's own knowledge, so no call unless a search / reference tool
# is offered (the generator keeps those out of such rows). Templates x slot fillers give a few thousand questions.
GENERAL_QUESTIONS = (
    "who wrote {book}?", "who invented {invention}?", "who discovered {discovery}?", "who built {landmark}?",
    "what is the capital of {country}?", "how old is {landmark}?", "how tall is {landmark}?",
    "where is {landmark}?", "why is {phenomenon}?", "explain {concept} to me", "what is {concept}?",
    "can you explain {concept} simply?", "tell me a fun fact about {animal}", "how long do {animal} live?",
    "what do {animal} eat?", "are {animal} mammals?", "what's the difference between {concept} and {concept2}?",
    "who was {figure}?", "what was {figure} famous for?", "when did {figure} live?",
    "what language do people speak in {country}?", "how big is {country}?", "is {country} in Europe?",
    "tell me a joke", "write me a short poem about {animal}", "what rhymes with {rhyme}?",
    "give me a riddle", "how do I say no politely?", "what should I name my {pet}?",
    "why do {animal} {habit}?",
)
_Q_SLOTS = {
    "book": ("Hamlet", "Don Quixote", "War and Peace", "The Odyssey", "Frankenstein", "Moby-Dick", "Dracula",
             "The Little Prince", "One Hundred Years of Solitude", "Les Misérables"),
    "invention": ("the telephone", "the light bulb", "the printing press", "the airplane", "the internet",
                  "the bicycle", "penicillin", "the steam engine", "paper", "the compass"),
    "discovery": ("gravity", "electricity", "DNA", "radioactivity", "America", "the planet Neptune", "vaccines",
                  "the electron", "oxygen", "X-rays"),
    "landmark": ("the Eiffel Tower", "the Colosseum", "the Taj Mahal", "Machu Picchu", "Stonehenge",
                 "the Great Pyramid", "Big Ben", "the Statue of Liberty", "Angkor Wat", "the Acropolis"),
    "country": ("Peru", "Norway", "Kenya", "Vietnam", "Portugal", "Chile", "Mongolia", "Ghana", "Iceland",
                "Canada", "Nepal", "Morocco", "Poland", "New Zealand", "Egypt"),
    "phenomenon": ("the sky blue", "the sea salty", "ice slippery", "the moon red sometimes", "grass green",
                   "the sun hot", "thunder so loud"),
    "concept": ("gravity", "inflation", "evolution", "democracy", "a black hole", "photosynthesis",
                "machine learning", "compound interest", "the water cycle", "relativity", "a vaccine", "an atom"),
    "concept2": ("weather", "a virus", "a planet", "a republic", "a star", "bacteria", "an element", "climate"),
    "animal": ("octopuses", "penguins", "elephants", "owls", "dolphins", "bees", "giraffes", "turtles", "wolves",
               "koalas", "bats", "crows"),
    "figure": ("Cleopatra", "Leonardo da Vinci", "Napoleon", "Ada Lovelace", "Galileo", "Confucius",
               "Frida Kahlo", "Nelson Mandela", "Isaac Newton", "Joan of Arc"),
    "rhyme": ("orange", "silver", "moon", "cat", "light", "dream", "ocean", "time"),
    "pet": ("cat", "dog", "goldfish", "hamster", "parrot", "rabbit", "turtle"),
    "habit": ("migrate", "hibernate", "sleep so much", "live in groups", "sing", "change colour"),
}
_SLOT = re.compile(r"\{(\w+)\}")


def general_question(rng) -> str:
    """A general-knowledge question or request that no device / API tool answers."""
    tpl = GENERAL_QUESTIONS[rng.randrange(len(GENERAL_QUESTIONS))]
    q = _SLOT.sub(lambda m: _Q_SLOTS[m.group(1)][rng.randrange(len(_Q_SLOTS[m.group(1)]))], tpl)
    r = rng.random()
    return q[0].upper() + q[1:] if r < 0.5 else (q.lower() if r < 0.6 else q)


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
