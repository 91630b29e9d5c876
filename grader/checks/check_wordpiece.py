"""Checks for exercise wordpiece (exercises/e15_wordpiece.py)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import CheckFailure, fail
from grader.checks.strategies import token_difference, tokenizer_texts
from grader.i18n import _
from reference import minilm_dir
from reference.tokenizer import BasicTokenizer, WordpieceTokenizer, load_vocab

MODULE = "e15_wordpiece"
VOCAB = load_vocab(minilm_dir() / "vocab.txt")  # bert-base-uncased's 30,522 pieces
BASIC = {lower: BasicTokenizer(do_lower_case=lower) for lower in (True, False)}
# Word bodies to build drawn words from: vocabulary entries without their "##", letters and
# digits only (as basic_tokenize's words are, punctuation being split off).
BODIES = tuple(sorted({t.removeprefix("##") for t in VOCAB if t.removeprefix("##").isalnum()}))

# Words as basic_tokenize returns them: one piece, several, single letters, digits, CJK, jamo,
# a character the vocabulary lacks (alone, after pieces, before pieces), the length limit.
WORDS = [
    "hello",
    "tokenization",
    "unaffable",
    "antidisestablishmentarianism",
    "xyzzyq",
    "1234567",
    "hello🙂",
    "🙂",
    "🙂hello",
    "bert",
    "transformers",
    "東",
    "\u110b\u1161\u11ab",  # "안" after NFD: three jamo
    "café",  # accents kept: "é" only exists as a single character
    "a" * 100,
    "a" * 101,
    "ab" * 60,
    "\u043f\u0440\u0438\u0432\u0435\u0442" * 10,  # 60 characters, 120 UTF-8 bytes: count characters
    "x",
    "",
]
TEXTS = [
    "Hello, world!",
    "Tokenization is unaffable; antidisestablishmentarianism isn't.",
    "I love 🍕 and 🎉! hello🙂 world",
    "BERT模型在NLP任务中表现很好。",
    "café naïve Ångström CAFÉ",
    "안녕하세요 こんにちは カタカナ",
    "https://www.example.com/path?query=1&lang=en",
    "[MASK] [CLS] x[SEP]y",
    "a" * 101 + " short " + "b" * 100,
    "",
]
# A toy vocabulary where every rule shows. Ids are irrelevant to WordPiece, and "unaff" has
# id 0, so that testing a piece with `if vocab.get(piece):` instead of `piece in vocab` shows.
TOY_TOKENS = [
    "unaff",
    "[UNK]",
    "un",
    "##aff",
    "##able",
    "##a",
    "a",
    "##b",
    "ab",
    "##bc",
    "x",
    "##x",
]
TOY = {token: i for i, token in enumerate(TOY_TOKENS)}
TOY_NAME = _("the toy vocabulary {tokens}").format(tokens=TOY_TOKENS)


@pytest.fixture(scope="module")
def wordpiece_tokenize(learner):
    return learner.wordpiece_tokenize


@pytest.fixture(scope="module")
def tokenize(learner):
    return learner.tokenize


# ---------------------------------------------------------------------------------------------
# The reference and the mistake models
# ---------------------------------------------------------------------------------------------


def reference_pieces(word: str, vocab=VOCAB, unk: str = "[UNK]", max_chars: int = 100) -> list:
    if not word:
        return []
    return WordpieceTokenizer(vocab, unk_token=unk, max_input_chars_per_word=max_chars).tokenize(
        word
    )


def greedy(
    word: str,
    vocab,
    unk: str = "[UNK]",
    max_chars: int = 100,
    *,
    longest: bool = True,
    lookup_prefix: bool = True,
    emit_prefix: bool = True,
    prefix_first: bool = False,
    on_failure: str = "whole word",
    length_rule: bool = True,
) -> list[str]:
    """WordPiece with each rule switchable (the defaults are the right algorithm)."""
    if length_rule and len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        prefix = "##" if start > 0 or prefix_first else ""
        ends = range(len(word), start, -1) if longest else range(start + 1, len(word) + 1)
        end = next(
            (e for e in ends if (prefix if lookup_prefix else "") + word[start:e] in vocab), None
        )
        if end is None:
            if on_failure == "whole word":
                return [unk]
            pieces.append(unk)
            if on_failure == "stop":
                return pieces
            start += 1  # "skip": [UNK] for one character, then carry on
            continue
        pieces.append((prefix if emit_prefix else "") + word[start:end])
        start = end
    return pieces


KNOWN_MISTAKES = {
    "wp_shortest_match_first": [dict(longest=False)],
    "wp_missing_continuation_prefix": [
        dict(lookup_prefix=False, emit_prefix=False),
        dict(emit_prefix=False),
    ],
    "wp_unk_only_failing_piece": [dict(on_failure="stop"), dict(on_failure="skip")],
    "wp_no_max_length": [dict(length_rule=False)],
    "wp_prefix_on_first_piece": [dict(prefix_first=True)],
}


def mistake_outputs(word: str, vocab, unk: str, max_chars: int):
    """(mistake id, that mistake's pieces for this word) for every variant of every mistake."""
    for mistake_id, variants in KNOWN_MISTAKES.items():
        for options in variants:
            yield mistake_id, greedy(word, vocab, unk, max_chars, **options)


def diagnose_pieces(cases: list[tuple[str, list]], vocab=VOCAB, unk="[UNK]", max_chars=100):
    """The mistake whose pieces equal the learner's on every (word, learner's pieces) case, or
    failing that on the first case alone."""
    for mistake_id, variants in KNOWN_MISTAKES.items():
        for options in variants:
            if all(greedy(w, vocab, unk, max_chars, **options) == got for w, got in cases):
                return mistake_id
    word, got = cases[0]
    return next((m for m, out in mistake_outputs(word, vocab, unk, max_chars) if out == got), None)


# ---------------------------------------------------------------------------------------------
# Calling and comparing
# ---------------------------------------------------------------------------------------------


def check_list(got, name: str, inputs: str) -> list[str]:
    if not isinstance(got, list):
        kind = type(got).__name__
        message = (
            _("{name} should return a list of str, got {kind} (did you forget to return it?)")
            if got is None
            else _("{name} should return a list of str, got {kind}")
        )
        fail(message.format(name=name, kind=kind), inputs=inputs)
    wrong = next((p for p in got if not isinstance(p, str)), None)
    if wrong is not None:
        fail(
            _("{name} should return a list of str, but it holds {kind} {wrong!r}").format(
                name=name, kind=type(wrong).__name__, wrong=wrong
            ),
            inputs=inputs,
        )
    return got


def describe_word(word: str, vocab_name: str | None = None, **options) -> str:
    vocab_name = vocab_name or _("the real vocabulary")
    shown = repr(word) if len(word) <= 40 else _("{start!r}... ({n} characters)").format(
        start=word[:20], n=len(word))  # fmt: skip
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return f"word={shown}, vocab={vocab_name}{extra}"


def call_wordpiece(wordpiece_tokenize, word, vocab=VOCAB, unk="[UNK]", max_chars=100, name=None):
    inputs = describe_word(word, name or _("the real vocabulary"), unk_token=unk,
                           max_input_chars_per_word=max_chars)  # fmt: skip
    got = wordpiece_tokenize(word, vocab, unk_token=unk, max_input_chars_per_word=max_chars)
    return check_list(got, "wordpiece_tokenize", inputs), inputs


def pieces_mismatch(inputs: str, want: list, got: list, diagnosis: str | None) -> CheckFailure:
    where, expected, got_shown = token_difference(want, got, unit="piece")
    return CheckFailure(
        _("the pieces differ from the reference {where}").format(where=where),
        inputs=inputs,
        expected=expected,
        got=got_shown,
        diagnosis=diagnosis,
    )


# ---------------------------------------------------------------------------------------------
# Checks: wordpiece_tokenize
# ---------------------------------------------------------------------------------------------


def test_returns_a_list_of_pieces(wordpiece_tokenize):
    """wordpiece_tokenize returns a list of str for one word"""
    call_wordpiece(wordpiece_tokenize, "tokenization")


def test_matches_the_reference_on_fixed_words(wordpiece_tokenize):
    """matches the reference on fixed words with the real vocabulary"""
    for word in WORDS:
        got, inputs = call_wordpiece(wordpiece_tokenize, word)
        want = reference_pieces(word)
        if got != want:
            cases = [(word, got)]
            for other in WORDS:  # the learner's pieces for every word, to name the mistake
                with contextlib.suppress(Exception):
                    cases.append((other, wordpiece_tokenize(other, VOCAB)))
            raise pieces_mismatch(inputs, want, got, diagnose_pieces(cases))


TOY_CASES = [
    # (word, unk_token, max_input_chars_per_word)
    ("unaffable", "[UNK]", 100),  # "unaff" + "##able", not "un" + "##aff" + "##able"
    ("unable", "[UNK]", 100),
    ("aab", "[UNK]", 100),
    ("xxx", "[UNK]", 100),
    ("abc", "[UNK]", 100),  # greedy: "ab" then no "##c"; the split "a" + "##bc" is never tried
    ("unaffablez", "<unk>", 100),
    ("xxxxx", "[UNK]", 5),
    ("xxxxxx", "<unk>", 5),
]


def test_toy_vocabulary_and_arguments(wordpiece_tokenize):
    """toy vocabulary: longest match first, greedy, and the unk_token / length arguments used"""
    for word, unk, max_chars in TOY_CASES:
        got, inputs = call_wordpiece(wordpiece_tokenize, word, TOY, unk, max_chars, TOY_NAME)
        want = reference_pieces(word, TOY, unk, max_chars)
        if got == want:
            continue
        if unk != "[UNK]" and got == [p if p != unk else "[UNK]" for p in want]:
            fail(
                _("return the unk_token argument ({unk!r}), not a hard-coded '[UNK]'").format(
                    unk=unk
                ),
                inputs=inputs,
            )
        if max_chars != 100 and got == greedy(word, TOY, unk, 10**9):
            fail(
                _("a word longer than max_input_chars_per_word={max_chars} must give "
                  "[{unk!r}]: use the argument, not a hard-coded 100").format(
                    max_chars=max_chars, unk=unk
                ),
                inputs=inputs,
            )
        raise pieces_mismatch(
            inputs, want, got, diagnose_pieces([(word, got)], TOY, unk, max_chars)
        )


_BODY = st.sampled_from(BODIES)  # built once: hypothesis hashes the 25k entries per instance


@st.composite
def vocabulary_words(draw) -> str:
    """Glued vocabulary entries, sometimes with a character the vocabulary lacks, sometimes
    repeated up to around the 100-character limit."""
    word = "".join(draw(st.lists(_BODY, min_size=1, max_size=4)))
    if draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(word)))
        word = word[:at] + draw(st.sampled_from("🙂é\u0301ⅷ")) + word[at:]
    if draw(st.integers(0, 5)) == 0:
        word = (word * (100 // len(word) + 1))[: draw(st.integers(95, 105))]
    return word


@given(word=vocabulary_words(), max_chars=st.sampled_from([100, 100, 100, 4, 12]))
def test_matches_the_reference_on_drawn_words(wordpiece_tokenize, word, max_chars):
    """matches the reference on drawn words, unknown characters and lengths around the limit"""
    got, inputs = call_wordpiece(wordpiece_tokenize, word, max_chars=max_chars)
    want = reference_pieces(word, max_chars=max_chars)
    if got != want:
        raise pieces_mismatch(
            inputs, want, got, diagnose_pieces([(word, got)], max_chars=max_chars)
        )


@given(word=vocabulary_words())
def test_pieces_spell_the_word(wordpiece_tokenize, word):
    """pieces are in the vocabulary, "##" marks all but the first, and they spell the word

    Or the word is a single [UNK]. No reference needed."""
    got, inputs = call_wordpiece(wordpiece_tokenize, word)
    if got == ["[UNK]"]:
        return
    if "[UNK]" in got:
        fail(
            _("[UNK] must stand for the whole word, alone; got {got}").format(got=got),
            inputs=inputs,
            diagnosis="wp_unk_only_failing_piece",
        )
    missing = [p for p in got if p not in VOCAB]
    if missing:
        fail(_("pieces not in the vocabulary: {missing}").format(missing=missing[:5]),
             inputs=inputs)  # fmt: skip
    if got and got[0].startswith("##"):
        fail(
            _("the first piece {piece!r} starts a word: it must not carry '##'").format(
                piece=got[0]
            ),
            inputs=inputs,
            diagnosis="wp_prefix_on_first_piece",
        )
    bare = [p for p in got[1:] if not p.startswith("##")]
    if bare:
        fail(
            _("piece {piece!r} continues the word, so it must carry '##'").format(piece=bare[0]),
            inputs=inputs,
            diagnosis="wp_missing_continuation_prefix",
        )
    spelled = "".join(p.removeprefix("##") for p in got)
    if spelled != word:
        fail(_("the pieces spell {spelled!r}, not the word").format(spelled=spelled),
             inputs=inputs)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Checks: tokenize (basic_tokenize, then WordPiece)
# ---------------------------------------------------------------------------------------------


def describe_text(text: str, lower: bool) -> str:
    return _("text={text!r}, vocab=the real vocabulary, do_lower_case={lower}").format(
        text=text, lower=lower
    )


def compare_tokenize(learner, tokenize, text: str, lower: bool = True) -> None:
    inputs = describe_text(text, lower)
    got = check_list(tokenize(text, VOCAB, do_lower_case=lower), "tokenize", inputs)
    words = BASIC[lower].tokenize(text)
    want = [piece for word in words for piece in reference_pieces(word)]
    if got == want:
        return
    yours = getattr(learner, "basic_tokenize", None)
    if callable(yours):
        your_words = yours(text, do_lower_case=lower)
        if your_words != words:
            where, expected, got_words = token_difference(words, your_words, unit="word")
            raise CheckFailure(
                _("tokenize runs your basic_tokenize (e14), whose words differ from the "
                  "reference's {where}: pass the basic_tokenizer exercise first").format(
                    where=where
                ),
                inputs=inputs,
                expected=expected,
                got=got_words,
            )
    diagnosis = None
    for mistake_id, variants in KNOWN_MISTAKES.items():
        for options in variants:
            if got == [p for w in words for p in greedy(w, VOCAB, **options)]:
                diagnosis = diagnosis or mistake_id
    where, expected, got_shown = token_difference(want, got)
    raise CheckFailure(
        _("the tokens differ from the reference {where}").format(where=where),
        inputs=inputs,
        expected=expected,
        got=got_shown,
        diagnosis=diagnosis,
    )


def test_tokenize_returns_a_list_of_tokens(tokenize):
    """tokenize returns a list of str for a short sentence"""
    text = "Hello, world!"
    check_list(tokenize(text, VOCAB), "tokenize", describe_text(text, True))


def test_tokenize_matches_the_reference_on_fixed_texts(learner, tokenize):
    """tokenize matches the reference on fixed texts (basic tokenizer, then WordPiece per word)"""
    for text in TEXTS:
        compare_tokenize(learner, tokenize, text)
    compare_tokenize(learner, tokenize, "Hello World, CAFÉ!", lower=False)


@given(text=tokenizer_texts())
def test_tokenize_matches_the_reference_on_drawn_text(learner, tokenize, text):
    """tokenize matches the reference on drawn text mixing scripts, emoji and punctuation"""
    compare_tokenize(learner, tokenize, text)


def test_tokenize_lower_cases_by_default(tokenize):
    """tokenize called without do_lower_case acts as with do_lower_case=True (the default)"""
    text = "Hello World, CAFÉ!"
    inputs = _("text={text!r}, vocab=the real vocabulary, do_lower_case not given").format(
        text=text
    )
    got = check_list(tokenize(text, VOCAB), "tokenize", inputs)
    want = check_list(tokenize(text, VOCAB, do_lower_case=True), "tokenize", inputs)
    if got != want:
        fail(
            _("called without do_lower_case, tokenize should act as with do_lower_case=True "
              "(the signature's default): expected {want!r}, got {got!r}").format(
                want=want, got=got
            ),
            inputs=inputs,
        )
