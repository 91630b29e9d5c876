"""Checks for exercise pair_packing (exercises/e16_pair_packing.py)."""

from __future__ import annotations

import contextlib
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import CheckFailure, fail
from grader.checks.strategies import token_difference
from grader.i18n import _
from reference import minilm_dir
from reference.tokenizer import BertTokenizer, load_vocab, truncate_pair

MODULE = "e16_pair_packing"
KEYS = ("input_ids", "token_type_ids", "attention_mask")
VOCAB = load_vocab(minilm_dir() / "vocab.txt")
TOKENIZER = BertTokenizer(VOCAB)
ID_TO_TOKEN = {i: t for t, i in VOCAB.items()}
# A toy vocabulary whose special ids are not BERT's 100/101/102.
TOY = {"[PAD]": 7, "[CLS]": 2, "[SEP]": 3, "[UNK]": 1, "[MASK]": 4, "the": 10, "cat": 11, "sat": 12}
# Tokens for drawn segments: words, a "##" piece, a special token, punctuation, CJK, and two
# strings the vocabulary lacks (they must become [UNK]).
SAMPLE_TOKENS = ("the", "cat", "sat", "##s", "[MASK]", "hello", "world", ",", "北", "una",
                 "##ffa", "zzqxjv", "not-a-token")  # fmt: skip

# (text A, text B or None, max_length or None): packed by the reference tokenizer.
TEXT_CASES = [
    ("Hello, world!", None, None),
    ("The cat sat on the mat.", "It was happy.", None),
    ("Who wrote Hamlet?", "Hamlet is a tragedy written by William Shakespeare.", None),
    ("", "only the second segment", None),
    ("only the first segment", "", None),
    ("a b c d e f g h i j", None, 6),
    ("a b c d", "e f g h", 8),  # budget 5, equal lengths: the spare token goes to B
    ("a b c d e", "f g h i", 8),  # budget 5: the spare token goes to the longer A
    ("a b c d", "e f g h i", 8),  # budget 5: the spare token goes to the longer B
    ("short question?", "a much longer passage that has to be cut down to size", 12),
    ("a much longer first segment that has to be cut down to size", "short second", 12),
    ("tokenization is unaffable", "antidisestablishmentarianism forever", 10),
    ("one two three four five six", "seven eight nine ten", 3),  # nothing but specials
]


@pytest.fixture(scope="module")
def pack_pair(learner):
    return learner.pack_pair


@pytest.fixture(scope="module")
def pad_batch(learner):
    return learner.pad_batch


# ---------------------------------------------------------------------------------------------
# The reference and the mistake models
# ---------------------------------------------------------------------------------------------


def to_ids(tokens, vocab):
    return None if tokens is None else [vocab.get(t, vocab["[UNK]"]) for t in tokens]


def pack_ids(ids_a, ids_b, vocab, *, types_b: int = 1, final_sep: bool = True) -> dict:
    first = [vocab["[CLS]"], *ids_a, vocab["[SEP]"]]
    second = [] if ids_b is None else [*ids_b, *([vocab["[SEP]"]] if final_sep else [])]
    return {
        "input_ids": first + second,
        "token_type_ids": [0] * len(first) + [types_b] * len(second),
        "attention_mask": [1] * (len(first) + len(second)),
    }


def expected_pack(tokens_a, tokens_b, vocab, max_length) -> dict:
    ids_a, ids_b = to_ids(tokens_a, vocab), to_ids(tokens_b, vocab)
    if max_length is not None:
        n_special = 2 if ids_b is None else 3
        ids_a, ids_b = truncate_pair(ids_a, ids_b, max_length - n_special, "longest_first")
    return pack_ids(ids_a, ids_b, vocab)


def _only_a(a, b, budget, negative_slice=False):
    keep = budget - len(b)
    return (a[:keep] if negative_slice else a[: max(0, keep)]), b


def _only_b(a, b, budget):
    return a, b[: max(0, budget - len(a))]


def _end_of_pair(a, b, budget):
    return a[:budget], b[: max(0, budget - len(a))]


def google_pop_one_at_a_time(a, b, budget):
    """google-research/bert ``_truncate_seq_pair``: pop from the longer, B on ties."""
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        (a if len(a) > len(b) else b).pop()
    return a, b


def truncated_model(cut, *, special: int | None = None, **pack_options):
    """A packer that truncates pairs with ``cut(ids_a, ids_b, budget)`` and counts ``special``
    tokens (None: 2 for a single text, 3 for a pair) against max_length."""

    def model(tokens_a, tokens_b, vocab, max_length):
        ids_a, ids_b = to_ids(tokens_a, vocab), to_ids(tokens_b, vocab)
        if max_length is not None:
            n_special = (2 if ids_b is None else 3) if special is None else special
            budget = max(0, max_length - n_special)
            if ids_b is None:
                ids_a = ids_a[:budget]
            elif len(ids_a) + len(ids_b) > budget:
                ids_a, ids_b = cut(ids_a, ids_b, budget)
        return pack_ids(ids_a, ids_b, vocab, **pack_options)

    return model


def _right(a, b, budget):
    return tuple(truncate_pair(a, b, budget, "longest_first"))


KNOWN_MISTAKES = {
    "pack_token_types_all_zero": [truncated_model(_right, types_b=0)],
    "pack_missing_final_sep": [
        truncated_model(_right, final_sep=False),
        truncated_model(_right, special=2, final_sep=False),
    ],
    "pack_truncates_one_side": [
        truncated_model(_only_a),
        truncated_model(lambda a, b, n: _only_a(a, b, n, negative_slice=True)),
        truncated_model(_only_b),
        truncated_model(_end_of_pair),
    ],
    "pack_special_tokens_not_counted": [
        truncated_model(_right, special=0),
        truncated_model(_right, special=2),
    ],
}
GOOGLE = truncated_model(google_pop_one_at_a_time)


def diagnose(cases: list[tuple[tuple, dict]]) -> str | None:
    """The mistake whose packing equals the learner's on every (arguments, learner's output)
    case, or failing that on the first case alone."""
    for mistake_id, variants in KNOWN_MISTAKES.items():
        for model in variants:
            if all(model(*args) == got for args, got in cases):
                return mistake_id
    args, got = cases[0]
    for mistake_id, variants in KNOWN_MISTAKES.items():
        if any(model(*args) == got for model in variants):
            return mistake_id
    return None


# ---------------------------------------------------------------------------------------------
# Calling and comparing
# ---------------------------------------------------------------------------------------------


def describe(tokens_a, tokens_b, max_length, vocab=VOCAB) -> str:
    where = "" if vocab is VOCAB else f", vocab={vocab}"
    return f"tokens_a={tokens_a!r}, tokens_b={tokens_b!r}, max_length={max_length}{where}"


def check_encoding(got, inputs: str) -> dict:
    if not isinstance(got, dict):
        kind = type(got).__name__
        message = (
            _("pack_pair should return a dict, got {kind} (did you forget to return it?)")
            if got is None
            else _("pack_pair should return a dict, got {kind}")
        )
        fail(message.format(kind=kind), inputs=inputs)
    if set(got) != set(KEYS):
        fail(
            _("pack_pair should return exactly the keys {keys}, got {got}").format(
                keys=list(KEYS), got=list(got)
            ),
            inputs=inputs,
        )
    for key in KEYS:
        values = got[key]
        if not isinstance(values, list) or not all(type(v) is int for v in values):
            fail(
                _("{key} should be a list of Python ints, got {kind} "
                  "{values!r:.80}").format(key=key, kind=type(values).__name__, values=values),
                inputs=inputs,
            )
    lengths = {key: len(got[key]) for key in KEYS}
    if len(set(lengths.values())) != 1:
        fail(_("the three lists should have the same length, got {lengths}").format(
            lengths=lengths), inputs=inputs)  # fmt: skip
    return got


def call_pack(pack_pair, tokens_a, tokens_b, max_length=None, vocab=VOCAB) -> tuple[dict, str]:
    inputs = describe(tokens_a, tokens_b, max_length, vocab)
    got = pack_pair(list(tokens_a), None if tokens_b is None else list(tokens_b), vocab,
                    max_length=max_length)  # fmt: skip
    return check_encoding(got, inputs), inputs


def spell(ids: list[int], vocab=VOCAB) -> str:
    names = {i: t for t, i in vocab.items()} if vocab is not VOCAB else ID_TO_TOKEN
    return " ".join(names.get(i, f"<{i}>") for i in ids)


def mismatch(want: dict, got: dict, inputs: str, diagnosis, vocab=VOCAB, note="") -> CheckFailure:
    key = next(k for k in KEYS if got[k] != want[k])
    where, _unused, _unused = token_difference(want[key], got[key], unit="position")

    def show(encoding: dict) -> str:
        # input_ids are shown with their tokens; the other lists next to the tokens they label
        if key == "input_ids":
            return f"{encoding[key]}  =  {spell(encoding[key], vocab)}"
        return f"{encoding[key]}  for  {spell(encoding['input_ids'], vocab)}"

    message = _("the {key} list differs from the reference {where}").format(key=key, where=where)
    if note:  # a sentence of its own, after the first
        message = _("{message}. {note}").format(message=message, note=note)
    return CheckFailure(
        message,
        inputs=inputs,
        expected=show(want),
        got=show(got),
        diagnosis=diagnosis,
    )


def tie_break_note(args: tuple, got: dict) -> str:
    if got == GOOGLE(*args) and got != expected_pack(*args):
        return (
            _("You truncate like Google's _truncate_seq_pair (one token at a time from the longer "
              "segment, B on ties), which hands an odd budget's spare token to A; transformers v5 "
              "gives it to the longer segment, to B on ties: see pack_pair's docstring")
        )
    return ""


def compare_cases(pack_pair, cases: list[tuple], vocab=VOCAB) -> None:
    """Each case is (tokens_a, tokens_b, max_length); the first mismatch fails, named by the
    known mistake that explains the learner's output on all the cases."""
    for i, (tokens_a, tokens_b, max_length) in enumerate(cases):
        got, inputs = call_pack(pack_pair, tokens_a, tokens_b, max_length, vocab)
        args = (tokens_a, tokens_b, vocab, max_length)
        want = expected_pack(*args)
        if got == want:
            continue
        if tokens_b == [] and got == expected_pack(tokens_a, None, vocab, max_length):
            raise mismatch(want, got, inputs, None, vocab, _(
                "tokens_b=[] is a real, empty second segment ([CLS] A [SEP] [SEP]); only None "
                "means a single text: test `tokens_b is None`, not `if tokens_b`"
            ))  # fmt: skip
        seen = [(args, got)]
        for a, b, m in cases[:i] + cases[i + 1 :]:
            with contextlib.suppress(Exception):
                b_copy = None if b is None else list(b)
                seen.append(((a, b, vocab, m), pack_pair(list(a), b_copy, vocab, max_length=m)))
        raise mismatch(want, got, inputs, diagnose(seen), vocab, tie_break_note(args, got))


# ---------------------------------------------------------------------------------------------
# Checks: pack_pair
# ---------------------------------------------------------------------------------------------


def test_pack_pair_returns_three_lists_of_ints(pack_pair):
    """pack_pair returns input_ids, token_type_ids and attention_mask: lists of ints, one length"""
    call_pack(pack_pair, ["hello", "world"], None)


def test_packs_single_texts_and_pairs(pack_pair):
    """[CLS] A [SEP] and [CLS] A [SEP] B [SEP], token types 0 then 1, unknown tokens as [UNK]"""
    compare_cases(
        pack_pair,
        [
            (["the", "cat"], None, None),
            (["the", "cat"], ["it", "sat"], None),
            (["hello"], ["[MASK]", "world", "##s"], None),
            (["zzqxjv", "hello"], ["not-a-token"], None),
            ([], None, None),
            ([], ["world"], None),
            (["hello"], [], None),
            ([], [], None),
        ],
    )


def test_matches_the_tokenizer_on_text_pairs(pack_pair):
    """matches the reference BertTokenizer on text pairs, with and without max_length"""
    cases = [
        (TOKENIZER.tokenize(a), None if b is None else TOKENIZER.tokenize(b), max_length)
        for a, b, max_length in TEXT_CASES
    ]
    compare_cases(pack_pair, cases)


def test_truncation_grid(pack_pair):
    """longest_first truncation for every length of A and B up to 6 and every max_length"""
    cases = [
        (list("abcdefgh"[:n]), None, max_length) for n in range(9) for max_length in range(2, 12)
    ]
    cases += [
        (list("abcdef"[:len_a]), list("uvwxyz"[:len_b]), max_length)
        for len_a in range(7)
        for len_b in range(7)
        for max_length in range(3, len_a + len_b + 5)
    ]
    compare_cases(pack_pair, cases)


segments = st.lists(st.sampled_from(SAMPLE_TOKENS), max_size=12)


@st.composite
def packing_cases(draw):
    tokens_a = draw(segments)
    tokens_b = draw(st.none() | segments)
    n_special = 2 if tokens_b is None else 3
    max_length = draw(st.none() | st.integers(n_special, 24))
    return tokens_a, tokens_b, max_length


@given(case=packing_cases())
def test_matches_the_reference_on_drawn_segments(pack_pair, case):
    """matches the reference on drawn segments (unknown tokens, empty segments, max_length)"""
    compare_cases(pack_pair, [case])


def test_uses_the_vocabulary_for_special_ids(pack_pair):
    """takes the ids of [CLS], [SEP] and [UNK] from vocab (a toy vocabulary with other ids)"""
    case = (["the", "cat", "dog"], ["sat"], None)
    got, inputs = call_pack(pack_pair, *case, vocab=TOY)
    want = expected_pack(case[0], case[1], TOY, None)
    if got != want:
        hard_coded = {101, 102, 100} & set(got["input_ids"])
        note = (
            _("{ids} are the real vocabulary's ids: look them up in vocab instead").format(
                ids=sorted(hard_coded)
            )
            if hard_coded
            else ""
        )
        raise mismatch(want, got, inputs, None, TOY, note)


def test_pack_pair_leaves_its_input_alone(pack_pair):
    """pack_pair leaves the token lists it is given unchanged, also when it truncates them"""
    for tokens_a, tokens_b, max_length in (
        (["the", "cat", "sat", "on", "the", "mat"], ["it", "was", "happy", "there"], 7),
        (["the", "cat", "sat", "on", "the", "mat"], None, 5),
        (["hello"], ["world"], None),
    ):
        given_a, given_b = list(tokens_a), None if tokens_b is None else list(tokens_b)
        inputs = describe(tokens_a, tokens_b, max_length)
        pack_pair(given_a, given_b, VOCAB, max_length=max_length)
        if given_a != tokens_a or given_b != tokens_b:
            fail(
                _("pack_pair changed the token lists it was given (now tokens_a={given_a!r}, "
                  "tokens_b={given_b!r}): truncate slices or copies, never the caller's lists "
                  "(Google's _truncate_seq_pair pops from them in place)").format(
                    given_a=given_a, given_b=given_b
                ),
                inputs=inputs,
            )


def test_max_length_too_small_for_the_special_tokens_raises(pack_pair):
    """raises ValueError when max_length cannot hold the special tokens"""
    for tokens_b, max_length in ((None, 1), (["sat"], 2), (["sat"], 0)):
        inputs = describe(["the", "cat"], tokens_b, max_length)
        try:
            got = pack_pair(["the", "cat"], tokens_b, VOCAB, max_length=max_length)
        except ValueError:
            continue
        length = len(got["input_ids"]) if isinstance(got, dict) and "input_ids" in got else "?"
        fail(
            _("expected ValueError (max_length={max_length} leaves no room for the "
              "{n} special tokens), but pack_pair returned "
              "{length} ids").format(
                max_length=max_length, n=2 if tokens_b is None else 3, length=length
            ),
            inputs=inputs,
        )


# ---------------------------------------------------------------------------------------------
# Checks: pad_batch
# ---------------------------------------------------------------------------------------------


def expected_pad(encodings, pad_id, *, mask_value: int = 0, left: bool = False) -> dict:
    longest = max((len(e["input_ids"]) for e in encodings), default=0)
    out = {key: [] for key in KEYS}
    for encoding in encodings:
        n = longest - len(encoding["input_ids"])
        for key, fill in zip(KEYS, (pad_id, 0, mask_value), strict=True):
            row = encoding[key] + [fill] * n if not left else [fill] * n + encoding[key]
            out[key].append(row)
    return out


PAD_MISTAKES = {
    "pack_padding_attended": lambda encodings, pad_id: expected_pad(
        encodings, pad_id, mask_value=1
    ),
    "pack_left_padding": lambda encodings, pad_id: expected_pad(encodings, pad_id, left=True),
}


def describe_batch(encodings, pad_id) -> str:
    lengths = [len(e["input_ids"]) for e in encodings]
    pairs = sum(1 in e["token_type_ids"] for e in encodings)
    return (
        _("{n} encodings of lengths {lengths} ({pairs} of them pairs), pad_id={pad_id}").format(
            n=len(encodings), lengths=lengths, pairs=pairs, pad_id=pad_id
        )
    )


def call_pad(pad_batch, encodings, pad_id) -> tuple[dict, str]:
    inputs = describe_batch(encodings, pad_id)
    got = pad_batch(copy.deepcopy(encodings), pad_id)
    if not isinstance(got, dict):
        kind = type(got).__name__
        message = (
            _("pad_batch should return a dict, got {kind} (did you forget to return it?)")
            if got is None
            else _("pad_batch should return a dict, got {kind}")
        )
        fail(message.format(kind=kind), inputs=inputs)
    if set(got) != set(KEYS):
        fail(
            _("pad_batch should return exactly the keys {keys}, got {got}").format(
                keys=list(KEYS), got=list(got)
            ),
            inputs=inputs,
        )
    for key in KEYS:
        rows = got[key]
        if not isinstance(rows, list) or len(rows) != len(encodings):
            fail(
                _("{key} should be a list with one row per encoding ({n})").format(
                    key=key, n=len(encodings)
                ),
                inputs=inputs,
            )
        for row in rows:
            if not isinstance(row, list) or not all(type(v) is int for v in row):
                fail(_("every row of {key} should be a list of Python ints, got "
                       "{row!r:.80}").format(key=key, row=row), inputs=inputs)  # fmt: skip
    return got, inputs


def compare_pad(pad_batch, encodings, pad_id, want: dict | None = None) -> None:
    got, inputs = call_pad(pad_batch, encodings, pad_id)
    want = want or expected_pad(encodings, pad_id)
    if got == want:
        return
    diagnosis = next(
        (m for m, model in PAD_MISTAKES.items() if model(encodings, pad_id) == got), None
    )
    key = next(k for k in KEYS if got[k] != want[k])
    row = next(i for i, (w, g) in enumerate(zip(want[key], got[key], strict=True)) if w != g)
    where, _unused, _unused = token_difference(want[key][row], got[key][row], unit="position")
    raise CheckFailure(
        _("row {row} of {key} differs from the reference {where}").format(
            row=row, key=key, where=where
        ),
        inputs=inputs,
        expected=f"{key}[{row}] = {want[key][row]}",
        got=f"{key}[{row}] = {got[key][row]}",
        diagnosis=diagnosis,
    )


def reference_encodings(texts_a: list[str], texts_b: list[str] | None = None) -> list[dict]:
    """The reference tokenizer's unpadded encodings of a batch, one dict per text (or pair)."""
    encoded = TOKENIZER(texts_a, texts_b)
    return [{key: encoded[key][i] for key in KEYS} for i in range(len(texts_a))]


PAD_TEXTS_A = ["The cat sat on the mat.", "Hello!", "a b", "Who wrote Hamlet?"]
PAD_TEXTS_B = ["It was happy.", "", "c", "William Shakespeare wrote it, around 1600."]


def test_pad_batch_returns_one_row_per_encoding(pad_batch):
    """pad_batch returns the three keys, each a list of rows of ints"""
    call_pad(pad_batch, reference_encodings(PAD_TEXTS_A[:2]), 0)


def test_pad_batch_matches_the_tokenizer(pad_batch):
    """pads like the reference BertTokenizer(padding=True): on the right, [PAD], type 0, mask 0"""
    for texts_b in (None, PAD_TEXTS_B):
        encodings = reference_encodings(PAD_TEXTS_A, texts_b)
        padded = TOKENIZER(PAD_TEXTS_A, texts_b, padding=True)
        compare_pad(pad_batch, encodings, VOCAB["[PAD]"], want=padded)


@st.composite
def encoding_batches(draw):
    encodings = []
    for _unused in range(draw(st.integers(1, 4))):
        tokens_b = draw(st.none() | segments)
        encodings.append(expected_pack(draw(segments), tokens_b, VOCAB, None))
    return encodings, draw(st.sampled_from([0, 0, 7, 103]))


@given(batch=encoding_batches())
def test_pad_batch_on_drawn_batches(pad_batch, batch):
    """pads drawn batches (singles and pairs of every length, other pad ids) like the reference"""
    compare_pad(pad_batch, *batch)


def test_pad_batch_leaves_its_input_alone(pad_batch):
    """pad_batch leaves the encodings it is given unchanged, and an empty batch gives empty lists"""
    encodings = reference_encodings(PAD_TEXTS_A, PAD_TEXTS_B)
    before = copy.deepcopy(encodings)
    pad_batch(encodings, 0)
    if encodings != before:
        fail(
            _("pad_batch changed the encodings it was given (e.g. with .extend or +=): build new "
              "lists, encodings[i][key] + [pad] * n"),
            inputs=describe_batch(before, 0),
        )
    got = pad_batch(encodings, 0)
    if isinstance(got, dict):
        for key in KEYS:
            rows = got.get(key)
            shared = next(
                (i for i, row in enumerate(rows or []) if i < len(encodings)
                 and row is encodings[i][key]), None
            )  # fmt: skip
            if shared is not None:
                fail(
                    _("row {row} of {key} is the encoding's own list, not a new one: a change to "
                      "the padded batch would change the encodings too (build new lists, "
                      "encodings[i][key] + [pad] * n, also when n is 0)").format(
                        row=shared, key=key
                    ),
                    inputs=describe_batch(before, 0),
                )
    got = pad_batch([], 0)
    if got != {key: [] for key in KEYS}:
        fail(_("pad_batch([]) should give three empty lists, got {got!r}").format(got=got),
             inputs=_("no encodings"))  # fmt: skip
