"""Write corpus/train.txt, corpus/probes.txt and corpus/vocab.txt: simple English sentences
about days, months, numbers, colours, animals, capitals and opposites, for the pre-training
lab (a tiny BERT learns them from scratch in a minute or two).

Each fact is said in several ways; the probe sentences (fill-mask, before and after
training) are phrasings the training text never uses for that fact, so a right answer means
the model learned the fact, not the sentence. The vocabulary is every word of the text plus
BERT's five special tokens, so WordPiece keeps whole words.

Run ``python -m grader.lab.data.make_corpus`` to regenerate; the output is the same on every
run (a seeded ``random.Random``), and tests/test_labs.py checks that the shipped files are
what this script writes. Written for bertprep; CC0 (see README.md beside it).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
SEED = 14
SENTENCES = 6000
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")  # fmt: skip
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve")  # fmt: skip
COLOURS = {"sky": "blue", "sea": "blue", "grass": "green", "leaf": "green", "frog": "green",
           "snow": "white", "milk": "white", "cloud": "white", "coal": "black", "night": "black",
           "crow": "black", "blood": "red", "cherry": "red", "tomato": "red", "banana": "yellow",
           "lemon": "yellow", "sun": "yellow", "carrot": "orange", "pumpkin": "orange"}  # fmt: skip
SOUNDS = {"cow": "moo", "dog": "woof", "cat": "meow", "duck": "quack", "sheep": "baa",
          "pig": "oink", "lion": "roar", "owl": "hoot", "horse": "neigh", "bee": "buzz",
          "snake": "hiss", "mouse": "squeak"}  # fmt: skip
CAPITALS = {"france": "paris", "italy": "rome", "spain": "madrid", "germany": "berlin",
            "japan": "tokyo", "egypt": "cairo", "kenya": "nairobi", "peru": "lima",
            "canada": "ottawa", "china": "beijing", "russia": "moscow", "greece": "athens",
            "norway": "oslo", "ireland": "dublin", "portugal": "lisbon"}  # fmt: skip
OPPOSITES = (("hot", "cold"), ("big", "small"), ("up", "down"), ("day", "night"),
             ("fast", "slow"), ("happy", "sad"), ("open", "closed"), ("wet", "dry"),
             ("light", "dark"), ("early", "late"), ("full", "empty"),
             ("loud", "quiet"))  # fmt: skip

# Probes: (sentence with [MASK], the answer). Their exact sentence never occurs in train.txt.
PROBES = (
    ("monday , tuesday , [MASK] , thursday .", "wednesday"),
    ("january , february , [MASK] , april .", "march"),
    ("five , six , [MASK] , eight .", "seven"),
    ("the capital of japan is [MASK] .", "tokyo"),
    ("the cow says [MASK] .", "moo"),
    ("the colour of the grass is [MASK] .", "green"),
    ("the opposite of hot is [MASK] .", "cold"),
    ("after friday comes [MASK] .", "saturday"),
)


def _run(rng: random.Random, items: tuple[str, ...]) -> list[str]:
    length = rng.randint(3, 5)
    start = rng.randrange(len(items) - length + 1)
    return list(items[start : start + length])


def _sequence(rng: random.Random, items: tuple[str, ...]) -> str:
    i = rng.randrange(len(items) - 1)
    a, b = items[i], items[i + 1]
    return rng.choice((
        " , ".join(_run(rng, items)) + " .",
        f"after {a} comes {b} .",
        f"{a} comes before {b} .",
        f"{b} comes after {a} .",
        f"first {a} , then {b} .",
    ))  # fmt: skip


def _colour(rng: random.Random) -> str:
    thing, colour = rng.choice(sorted(COLOURS.items()))
    return rng.choice((f"the colour of the {thing} is {colour} .",
                       f"the {thing} is {colour} .", f"a {thing} is usually {colour} .",
                       f"i saw a {colour} {thing} ."))  # fmt: skip


def _sound(rng: random.Random) -> str:
    animal, sound = rng.choice(sorted(SOUNDS.items()))
    return rng.choice((f"the {animal} says {sound} .", f"a {animal} goes {sound} .",
                       f"{sound} is what the {animal} says .",
                       f"we heard the {animal} go {sound} ."))  # fmt: skip


def _capital(rng: random.Random) -> str:
    country, city = rng.choice(sorted(CAPITALS.items()))
    return rng.choice((f"the capital of {country} is {city} .", f"{city} is the capital of "
                       f"{country} .", f"{city} is a city in {country} .",
                       f"we flew to {city} in {country} ."))  # fmt: skip


def _opposite(rng: random.Random) -> str:
    a, b = rng.choice(OPPOSITES)
    if rng.random() < 0.5:
        a, b = b, a
    return rng.choice((f"the opposite of {a} is {b} .", f"{a} and {b} are opposites .",
                       f"it is not {a} , it is {b} ."))  # fmt: skip


def sentence(rng: random.Random) -> str:
    kind = rng.choice(("days", "months", "numbers", "colour", "sound", "capital", "opposite"))
    if kind in ("days", "months", "numbers"):
        return _sequence(rng, {"days": DAYS, "months": MONTHS, "numbers": NUMBERS}[kind])
    return {"colour": _colour, "sound": _sound, "capital": _capital,
            "opposite": _opposite}[kind](rng)  # fmt: skip


def _probe_texts() -> set[str]:
    return {text.replace("[MASK]", answer) for text, answer in PROBES}


def _probe_hit(text: str, banned: set[str]) -> bool:
    """A training sentence that contains a probe sentence (a run of days containing the probed
    four, say) would give the answer away."""
    return any(probe[:-2] in text for probe in banned)


def make() -> tuple[list[str], list[str]]:
    rng = random.Random(SEED)
    banned = _probe_texts()
    lines: list[str] = []
    while len(lines) < SENTENCES:
        text = sentence(rng)
        if not _probe_hit(text, banned):
            lines.append(text)
    words = sorted({w for line in lines for w in re.findall(r"[a-z]+|[^\sa-z]", line)}
                   | {w for text, _ in PROBES for w in text.split() if w != "[MASK]"})  # fmt: skip
    return lines, [*SPECIALS, *words]


def main() -> None:
    lines, vocab = make()
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "train.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    (HERE / "vocab.txt").write_text("".join(f"{word}\n" for word in vocab), encoding="utf-8")
    (HERE / "probes.txt").write_text(
        "".join(f"{text}\t{answer}\n" for text, answer in PROBES), encoding="utf-8")


if __name__ == "__main__":
    main()
