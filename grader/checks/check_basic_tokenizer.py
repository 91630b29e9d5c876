"""Checks for exercise basic_tokenizer (exercises/e14_basic_tokenizer.py)."""

from __future__ import annotations

import contextlib
import unicodedata

import pytest
from hypothesis import given

from grader.checks.kit import CheckFailure, fail
from grader.checks.strategies import token_difference, tokenizer_texts
from grader.i18n import _
from reference.tokenizer import (
    BasicTokenizer,
    _is_chinese_char,
    _is_control,
    _is_punctuation,
    _is_whitespace,
)

MODULE = "e14_basic_tokenizer"
REFERENCE = {lower: BasicTokenizer(do_lower_case=lower) for lower in (True, False)}

# A fixed corpus, every rule at least twice. No capital sigma (see the stub's docstring).
CORPUS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I can't believe it's not butter; they'd've known, wouldn't they?",
    "Mr. O'Neil paid $1,234.56 @ 10% off & more #tag ^caret ~tilde `tick` a|b a=b<c>d",
    "Don't stop—won't stop… (really?) [maybe] {yes} «quoted» “curly” ‘single’",
    "https://www.example.com/path?query=1&lang=en#frag jane.doe+spam@mail.example.org",
    "SHOUTING IN ALL CAPS and MiXeD CaSe WoRdS",
    "café naïve Ångström résumé façade jalapeño CAFÉ NAÏVE",
    "cafe\u0301 nai\u0308ve (decomposed accents)",
    "Straße ẞ Øresund Łódź Dvořák İstanbul",
    "Привет, мир! Ёлка Καλημέρα κόσμε",
    "我爱北京天安门",
    "BERT模型在NLP任务中表现很好。",
    "你好，世界！「引号」（括号）",
    "中文English混合123数字",
    "こんにちは世界",
    "カタカナとひらがなと漢字。東京タワー",
    "안녕하세요 세계",
    "한국어 문장입니다. 韓國語",
    "I love 🍕 and 🎉! thumbs 👍🏽",
    "tab\tseparated\tvalues\nline two\r\nline three",
    "non\u00a0breaking ideographic\u3000space em\u2003space line\u2028separator",
    "zero\u200bwidth\u200bspace soft\u00adhyphen BOM\ufeffhere",
    "bell\x07 null\x00 del\x7f esc\x1b replacement\ufffd private\ue000use",
    "a\u0300\u0301\u0302 e\u0327 o\u0308\u0304",
    # marks that are not "Mn": U+20E3 (Me), Devanagari vowel signs (Mc) are kept; U+FE0F and
    # Thai U+0E31 are "Mn" with combining class 0 (unicodedata.combining says 0), so they go
    "I \u2764\ufe0f 1\u20e3 \u0939\u093f\u0928\u094d\u0926\u0940 \u0e01\u0e31\u0e1a",
    "[MASK] [CLS] x[SEP]y",
    "",
    "   \t\n  ",
    "...!!!???",
]
# For do_lower_case=False. The last text changes under NFC (decomposed accents, compatibility
# ideographs, a kana voicing mark): cased words keep the text's own characters.
CASED_CORPUS = [
    "Hello, World! Don't PANIC.",
    "CAFÉ Café café naïve Ångström",
    "我爱NLP和BERT模型。",
    "カタカナ こんにちは 안녕하세요",
    "Mr. O'Neil paid $5 (a+b=c) <tag>",
    "tab\tand\u00a0nbsp zero\u200bwidth bell\x07",
    "Привет Мир ÀÉÎÕÜ",
    "Cafe\u0301 nai\u0308ve \uf900\U0002f800 \u304b\u3099",
]

# Scripts people wrongly split like Chinese: hiragana, katakana, Hangul syllables and jamo.
_NOT_IDEOGRAPHS = ((0x3040, 0x30FF), (0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F))


@pytest.fixture(scope="module")
def basic_tokenize(learner):
    return learner.basic_tokenize


# ---------------------------------------------------------------------------------------------
# Mistake models: the pipeline with one step wrong
# ---------------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Step 1: delete NUL, U+FFFD and control characters; whitespace becomes " "."""
    kept = (c for c in text if c not in "\x00\ufffd" and not _is_control(c))
    return "".join(" " if _is_whitespace(c) else c for c in kept)


def split_on_punctuation(word: str) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if _is_punctuation(char):
            pieces += [current, char] if current else [char]
            current = ""
        else:
            current += char
    return [*pieces, current] if current else pieces


def pipeline(
    text: str,
    *,
    lower: bool,
    strip: bool,
    split_cjk: bool = True,
    split_punctuation: bool = True,
    split_kana_hangul: bool = False,
) -> list[str]:
    """The basic tokenizer with each step switchable (all on = the reference)."""

    def own_word(cp: int) -> bool:
        if split_cjk and _is_chinese_char(cp):
            return True
        return split_kana_hangul and any(lo <= cp <= hi for lo, hi in _NOT_IDEOGRAPHS)

    text = "".join(f" {c} " if own_word(ord(c)) else c for c in clean(text))
    words = []
    for word in text.split():
        if lower:
            word = "".join(c.lower() for c in word)
        if strip:
            decomposed = unicodedata.normalize("NFD", word)
            word = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        words.extend(split_on_punctuation(word) if split_punctuation else [word])
    return words


def known_mistakes(lower: bool) -> dict:
    """Mistake id -> a function text -> what that mistake outputs."""
    mistakes = {
        "tok_cjk_not_split": lambda t: pipeline(t, lower=lower, strip=lower, split_cjk=False),
        "tok_punctuation_not_split": lambda t: pipeline(
            t, lower=lower, strip=lower, split_punctuation=False
        ),
        "tok_hangul_kana_split": lambda t: pipeline(
            t, lower=lower, strip=lower, split_kana_hangul=True
        ),
    }
    if lower:
        mistakes |= {
            "tok_accents_kept": lambda t: pipeline(t, lower=True, strip=False),
            "tok_not_lowercased": lambda t: pipeline(t, lower=False, strip=True),
        }
    return mistakes


def _same(make, text: str, got) -> bool:
    try:
        return make(text) == got
    except Exception:  # a mistake model that cannot run on this input says nothing
        return False


def diagnose(text: str, got: list, lower: bool, corpus: dict | None = None) -> str | None:
    """The known mistake the learner's output matches: on every text of ``corpus`` (text ->
    the learner's output) if one does, else on ``text`` alone."""
    mistakes = known_mistakes(lower)
    if corpus:
        for mistake_id, make in mistakes.items():
            if all(_same(make, t, out) for t, out in corpus.items()):
                return mistake_id
    return next((m for m, make in mistakes.items() if _same(make, text, got)), None)


# ---------------------------------------------------------------------------------------------
# Calling and comparing
# ---------------------------------------------------------------------------------------------


def describe(text: str, lower: bool) -> str:
    return f"text={text!r}, do_lower_case={lower}"


def call(basic_tokenize, text: str, lower: bool) -> list[str]:
    got = basic_tokenize(text, do_lower_case=lower)
    if not isinstance(got, list):
        kind = type(got).__name__
        message = (
            _("basic_tokenize should return a list of str, got {kind} (did you forget to return "
              "it?)") if got is None
            else _("basic_tokenize should return a list of str, got {kind}")
        )  # fmt: skip
        fail(
            message.format(kind=kind),
            inputs=describe(text, lower),
        )
    wrong = next((w for w in got if not isinstance(w, str)), None)
    if wrong is not None or any(isinstance(w, str) and not w for w in got):
        what = _("an empty string ''") if wrong is None else f"{type(wrong).__name__} {wrong!r}"
        fail(
            _("basic_tokenize should return a list of non-empty str, but it holds {what}").format(
                what=what
            ),
            inputs=describe(text, lower),
        )
    return got


def mismatch(text: str, lower: bool, want: list, got: list, diagnosis: str | None) -> CheckFailure:
    where, expected, got_shown = token_difference(want, got, unit="word")
    return CheckFailure(
        _("the words differ from the reference {where}").format(where=where),
        inputs=describe(text, lower),
        expected=expected,
        got=got_shown,
        diagnosis=diagnosis,
    )


def compare_corpus(basic_tokenize, corpus: list[str], lower: bool) -> None:
    outputs = {}
    for i, text in enumerate(corpus):
        got = outputs[text] = call(basic_tokenize, text, lower)
        want = REFERENCE[lower].tokenize(text)
        if got == want:
            continue
        for other in corpus[i + 1 :]:  # the rest, so a mistake is named from every example
            with contextlib.suppress(Exception):
                outputs[other] = basic_tokenize(other, do_lower_case=lower)
        raise mismatch(text, lower, want, got, diagnose(text, got, lower, outputs))


def compare(basic_tokenize, text: str, lower: bool) -> None:
    got = call(basic_tokenize, text, lower)
    want = REFERENCE[lower].tokenize(text)
    if got != want:
        raise mismatch(text, lower, want, got, diagnose(text, got, lower))


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def test_returns_a_list_of_words(basic_tokenize):
    """returns a list of non-empty str for a short sentence"""
    call(basic_tokenize, "Hello, world!", True)



def test_matches_the_reference_on_a_fixed_corpus(basic_tokenize):
    """matches the reference on a fixed corpus (uncased: lower-case and strip accents)"""
    compare_corpus(basic_tokenize, CORPUS, True)


def test_matches_the_reference_cased(basic_tokenize):
    """with do_lower_case=False, keeps case and accents and still splits CJK and punctuation"""
    for text in CASED_CORPUS:
        got = call(basic_tokenize, text, False)
        want = REFERENCE[False].tokenize(text)
        if got == want:
            continue
        if got == REFERENCE[True].tokenize(text):
            fail(
                _("with do_lower_case=False the words must keep their case and accents "
                  "(cased checkpoints have 'Café' and 'café' as different tokens)"),
                inputs=describe(text, False),
            )
        joined = "".join(w for w in got if isinstance(w, str))
        if joined != "".join(want) and unicodedata.normalize("NFC", joined) == (
            unicodedata.normalize("NFC", "".join(want))
        ):
            where, expected, got_shown = token_difference(want, got, unit="word")
            raise CheckFailure(
                _("the words differ from the reference {where}: with do_lower_case=False the "
                  "text is not Unicode-normalised at all, not even to NFC (decomposed accents "
                  "and compatibility ideographs stay as they are)").format(where=where),
                inputs=describe(text, False),
                expected=expected,
                got=got_shown,
                diagnosis="tok_cased_text_normalised",
            )
        raise mismatch(text, False, want, got, diagnose(text, got, False))


@given(text=tokenizer_texts())
def test_matches_the_reference_on_drawn_text(basic_tokenize, text):
    """matches the reference on drawn text mixing scripts, emoji, controls and odd whitespace"""
    compare(basic_tokenize, text, True)


@given(text=tokenizer_texts(cased=True))
def test_matches_the_reference_on_drawn_text_cased(basic_tokenize, text):
    """matches the reference on drawn text with do_lower_case=False"""
    compare(basic_tokenize, text, False)


@given(text=tokenizer_texts(cased=True))
def test_nothing_is_lost_or_invented(basic_tokenize, text):
    """cased: glued back together, the words are the text minus whitespace and controls

    No reference needed."""
    got = call(basic_tokenize, text, False)
    want = "".join(clean(text).split())
    if "".join(got) != want:
        fail(
            _("joined back together, the words should give the text minus whitespace and deleted "
              "characters: expected {want!r}, got {joined!r}").format(
                want=want, joined="".join(got)
            ),
            inputs=describe(text, False),
        )
    for word in got:
        if any(c.isspace() for c in word):
            fail(_("the word {word!r} contains whitespace").format(word=word),
                 inputs=describe(text, False))  # fmt: skip
        alone = [c for c in word if _is_punctuation(c) or _is_chinese_char(ord(c))]
        if len(word) > 1 and alone:
            is_cjk = _is_chinese_char(ord(alone[0]))
            fail(
                (_("the word {word!r} contains {char!r}, which must be a word of its own (a CJK "
                   "ideograph)") if is_cjk
                 else _("the word {word!r} contains {char!r}, which must be a word of its own "
                        "(punctuation)")).format(word=word, char=alone[0]),
                inputs=describe(text, False),
                diagnosis="tok_cjk_not_split" if is_cjk else "tok_punctuation_not_split",
            )


def test_lower_cases_by_default(basic_tokenize):
    """called without do_lower_case, acts as with do_lower_case=True (the signature's default)"""
    text = "Hello, CAFÉ!"
    got = basic_tokenize(text)
    want = call(basic_tokenize, text, True)
    if got != want:
        fail(
            _("called without do_lower_case, basic_tokenize should act as with "
              "do_lower_case=True (the signature's default): expected {want!r}, got "
              "{got!r}").format(want=want, got=got),
            inputs=repr(text),
        )
