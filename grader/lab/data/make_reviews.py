"""Write reviews/train.tsv and reviews/test.tsv: short review sentences labelled positive or
negative, where negation and "but" decide the label (the lab's fine-tuning task).

Run ``python -m grader.lab.data.make_reviews`` to regenerate; the output is the same on every
run (a seeded ``random.Random``), and tests/test_labs.py checks that the shipped files are
what this script writes. Written for bertprep; CC0 (see README.md beside it).
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent / "reviews"
SEED = 14
TRAIN, TEST = 640, 240

ASPECTS = (
    "the food", "the soup", "the pasta", "the dessert", "the coffee", "the service",
    "the waiter", "the staff", "the menu", "the room", "the bed", "the view", "the breakfast",
    "the pool", "the location", "the plot", "the acting", "the ending", "the soundtrack",
    "the script", "the dialogue", "the cast", "the pacing", "the battery", "the screen",
    "the camera", "the keyboard", "the speaker", "the app", "the design", "the story",
    "the characters", "the writing", "the last chapter", "the price", "the delivery",
)  # fmt: skip
GOOD = (
    "good", "great", "excellent", "wonderful", "superb", "lovely", "delightful", "brilliant",
    "fantastic", "impressive", "pleasant", "outstanding", "charming", "solid", "enjoyable",
    "remarkable", "splendid", "terrific",
)  # fmt: skip
BAD = (
    "bad", "awful", "terrible", "dreadful", "poor", "disappointing", "mediocre", "boring",
    "bland", "horrible", "weak", "sloppy", "dull", "unpleasant", "annoying", "clumsy", "lousy",
    "forgettable",
)  # fmt: skip
PLAIN = ("{A} was {x}.", "{A} is {x}.", "I found {a} {x}.", "Honestly, {a} was {x}.",
         "{A} was really {x}.", "All in all, {a} was {x}.")  # fmt: skip
NEGATED = ("{A} was not {x}.", "{A} wasn't {x} at all.", "{A} was never {x}.",
           "I would not call {a} {x}.", "{A} is not {x}.", "No one would say {a} was {x}.",
           "{A} was far from {x}.")  # fmt: skip
CONTRAST = ("{A} was {x}, but {b} was {y}.", "Although {a} was {x}, {b} was {y}.",
            "{A} was {x}; however, {b} was {y}.", "{A} may be {x}, but {b} is {y}.",
            "Sure, {a} was {x}, yet {b} was {y}.")  # fmt: skip
CONTRAST_NEGATED = ("{A} was {x}, but {b} was not {y}.",
                    "Although {a} was {x}, {b} wasn't {y}.",
                    "{A} was {x}; however, {b} was never {y}.")  # fmt: skip
KINDS = (("plain", 0.3), ("negated", 0.3), ("contrast", 0.25), ("contrast_negated", 0.15))


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def sentence(rng: random.Random) -> tuple[str, str, str]:
    """(label, text, kind): the label follows the last clause, negation flips it."""
    kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    a, b = rng.sample(ASPECTS, 2)
    good = rng.random() < 0.5
    words = GOOD if good else BAD
    other = BAD if good else GOOD
    if kind == "plain":
        text, positive = rng.choice(PLAIN).format(A=_cap(a), a=a, x=rng.choice(words)), good
    elif kind == "negated":
        text, positive = rng.choice(NEGATED).format(A=_cap(a), a=a, x=rng.choice(words)), not good
    elif kind == "contrast":  # the first clause says the opposite of the second
        text = rng.choice(CONTRAST).format(A=_cap(a), a=a, b=b, x=rng.choice(other),
                                           y=rng.choice(words))  # fmt: skip
        positive = good
    else:  # "good, but not good": the second clause, negated, decides
        text = rng.choice(CONTRAST_NEGATED).format(A=_cap(a), a=a, b=b, x=rng.choice(other),
                                                   y=rng.choice(other))  # fmt: skip
        positive = good
    return ("positive" if positive else "negative"), text, kind


def make() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []
    while len(rows) < TRAIN + TEST:
        row = sentence(rng)
        if row[1] not in seen:
            seen.add(row[1])
            rows.append(row)
    return rows[:TRAIN], rows[TRAIN:]


def render(rows: list[tuple[str, str, str]]) -> str:
    return "label\ttext\tkind\n" + "".join(f"{label}\t{text}\t{kind}\n"
                                           for label, text, kind in rows)  # fmt: skip


def main() -> None:
    train, test = make()
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "train.tsv").write_text(render(train), encoding="utf-8")
    (HERE / "test.tsv").write_text(render(test), encoding="utf-8")


if __name__ == "__main__":
    main()
