"""Every catalogue entry speaks Chinese: [exercise.zh] and [mistakes.<id>.zh] are complete."""

from __future__ import annotations

import keyword
import re

import pytest

from grader.catalogue import load_catalogue

CATALOGUE = load_catalogue()
HAN = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]{2,}")  # single letters are symbols: V x H
PYTHON_WORDS = set(keyword.kwlist)


def _prose_runs(text: str) -> list[str]:
    """Runs of three or more plain English words (space-separated, no code punctuation, not
    Python keywords): what an untranslated sentence leaves behind."""
    runs, current = [], []
    for token in [*text.split(), ""]:
        if WORD.fullmatch(token) and token not in PYTHON_WORDS:
            current.append(token)
            continue
        if len(current) >= 3:
            runs.append(" ".join(current))
        current = []
    return runs


@pytest.mark.parametrize("exercise", CATALOGUE.exercises, ids=lambda e: e.id)
def test_exercise_has_chinese_title_summary_and_hints(exercise):
    zh = exercise.zh
    assert zh, f"{exercise.id}: no [exercise.zh] table in grader/catalogue.toml"
    for key in ("title", "summary"):
        assert HAN.search(zh.get(key, "")), (
            f"{exercise.id}: zh {key} has no Chinese: {zh.get(key)!r}"
        )
    hints = zh.get("hints", ())
    assert len(hints) == 3, f"{exercise.id}: zh needs three hints, has {len(hints)}"
    for level, hint in enumerate(hints[:2], 1):
        assert HAN.search(hint), f"{exercise.id}: zh hint {level} has no Chinese: {hint[:80]!r}"
    # Level 3 is near-code: it may stay all code, but only when the English level 3 has no
    # sentence in it to translate.
    near_code, english = hints[2], exercise.hints[2]
    assert near_code.strip(), f"{exercise.id}: zh hint 3 is empty"
    if not HAN.search(near_code):
        assert not _prose_runs(english), (
            f"{exercise.id}: zh hint 3 has no Chinese, but the English has prose to translate: "
            f"{_prose_runs(english)}"
        )


@pytest.mark.parametrize("mistake", list(CATALOGUE.mistakes.values()), ids=lambda m: m.id)
def test_mistake_has_chinese_diagnosis_and_fix(mistake):
    assert mistake.zh, f"{mistake.id}: no [mistakes.{mistake.id}.zh] table in grader/catalogue.toml"
    for key in ("summary", "fix"):
        text = mistake.zh.get(key, "")
        assert HAN.search(text), f"{mistake.id}: zh {key} has no Chinese: {text!r}"


def test_no_english_sentence_left_in_chinese_fields():
    """Code, shapes and identifiers stay, but no run of three plain English words does, apart
    from quoted error messages."""
    found = []
    for exercise in CATALOGUE.exercises:
        texts = [exercise.zh.get("title", ""), exercise.zh.get("summary", "")]
        found += [(exercise.id, run) for text in texts + list(exercise.zh.get("hints", ()))
                  for run in _prose_runs(text)]  # fmt: skip
    for mistake in CATALOGUE.mistakes.values():
        found += [(mistake.id, run) for key in ("summary", "fix")
                  for run in _prose_runs(mistake.zh.get(key, ""))]  # fmt: skip
    allowed = {"out of bounds"}  # torch's IndexError text, quoted as the learner sees it
    found = [(where, run) for where, run in found if run not in allowed]
    assert not found, f"English left in zh fields: {found}"


def test_prose_runs_tell_code_from_sentences():
    assert _prose_runs("for layer in self.encoder.layer: hidden = layer(hidden, mask)") == []
    assert _prose_runs("先 view 成 (batch, seq, heads, d_head)，再 transpose(1, 2)") == []
    assert _prose_runs("use the exact form 0.5 * x") == ["use the exact form"]
