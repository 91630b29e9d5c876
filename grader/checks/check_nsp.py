"""Checks for exercise nsp (exercises/e19_nsp.py).

The data functions are random, and a correct implementation may call its ``rng`` in any
order, so they are checked by what must always hold (lengths, packing, where B comes from)
and by statistics over a few thousand pairs (50% random next, front and back trimmed alike),
within 5 standard deviations. Corpus tokens name their origin: "d3s1t0" is document 3,
sentence 1, token 0, so every segment can be traced back.
"""

from __future__ import annotations

import copy
import math
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import make_generator, randn, randomize_parameters_, seeds
from grader.i18n import _
from reference import BertConfig
from reference.modeling import BertOnlyNSPHead as ReferenceNSPHead
from reference.modeling import masked_lm_loss, next_sentence_loss

MODULE = "e19_nsp"
IGNORE_INDEX = -100
Z = 5.0
ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(scope="module")
def mine(learner):
    return learner


def binomial_gap(k: int, n: int, p: float) -> float:
    return abs(k - n * p) / math.sqrt(n * p * (1 - p))


# ---------------------------------------------------------------------------------------------
# truncate_seq_pair
# ---------------------------------------------------------------------------------------------


def expected_lengths(len_a: int, len_b: int, max_num_tokens: int) -> tuple[int, int]:
    """Google's rule decides the lengths exactly (only which ends go is random)."""
    while len_a + len_b > max_num_tokens:
        if len_a > len_b:
            len_a -= 1
        else:
            len_b -= 1
    return len_a, len_b


def truncate(mine, tokens_a: list, tokens_b: list, max_num_tokens: int, seed: int) -> None:
    inputs = describe_truncation(len(tokens_a), len(tokens_b), max_num_tokens, seed)
    try:
        mine.truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, random.Random(seed))
    except IndexError as error:
        fail(
            _("truncate_seq_pair raised IndexError ({error}): it popped from an empty list, so "
              "it kept trimming one list after the other had become the longer one").format(
                error=error
            ),
            inputs=inputs,
            diagnosis="nsp_truncate_wrong_side",
        )


def describe_truncation(len_a: int, len_b: int, max_num_tokens: int, seed: int) -> str:
    return (
        _("tokens_a of length {len_a}, tokens_b of length {len_b}, max_num_tokens="
          "{max_num_tokens}, rng = random.Random({seed})").format(
            len_a=len_a, len_b=len_b, max_num_tokens=max_num_tokens, seed=seed
        )
    )


def check_truncation(original_a, original_b, tokens_a, tokens_b, max_num_tokens, seed) -> None:
    inputs = describe_truncation(len(original_a), len(original_b), max_num_tokens, seed)
    want = expected_lengths(len(original_a), len(original_b), max_num_tokens)
    got = (len(tokens_a), len(tokens_b))
    if got == (len(original_a), len(original_b)) and want != got:
        fail(
            _("the lists were not shortened: truncate_seq_pair must change tokens_a and tokens_b "
              "in place (del / pop on the lists you are given); its return value is ignored"),
            inputs=inputs,
        )
    if got != want:
        if sum(got) == sum(want):
            fail(
                _("the pair was trimmed to the right total but the wrong lengths: A={got_0}, "
                  "B={got_1}; expected A={want_0}, B={want_1} (each step trims the longer "
                  "list, tokens_b when both are equally long)").format(
                    got_0=got[0], got_1=got[1], want_0=want[0], want_1=want[1]
                ),
                inputs=inputs,
                diagnosis="nsp_truncate_wrong_side",
            )
        fail(
            _("after truncation len(A) + len(B) = {sum_got}; expected {sum_want} "
              "(A={want_0}, B={want_1}): trim one token at a time while the total exceeds "
              "max_num_tokens, and not further").format(
                sum_got=sum(got), sum_want=sum(want), want_0=want[0], want_1=want[1]
            ),
            inputs=inputs,
        )
    for name, kept, original in (("A", tokens_a, original_a), ("B", tokens_b, original_b)):
        if kept:
            start = original.index(kept[0]) if kept[0] in original else -1
            if start < 0 or list(kept) != original[start : start + len(kept)]:
                fail(
                    _("what is left of {name} is not a contiguous piece of the original: "
                      "remove tokens from the front or the back only").format(name=name),
                    inputs=inputs,
                )


def test_truncation_trims_the_longer_list_in_place(mine):
    """truncate_seq_pair trims the longer list, in place, down to max_num_tokens"""
    for len_a, len_b, max_num_tokens in ((6, 10, 12), (10, 3, 9), (5, 5, 9)):
        original_a = [f"a{i}" for i in range(len_a)]
        original_b = [f"b{i}" for i in range(len_b)]
        tokens_a, tokens_b = list(original_a), list(original_b)
        truncate(mine, tokens_a, tokens_b, max_num_tokens, 0)
        check_truncation(original_a, original_b, tokens_a, tokens_b, max_num_tokens, 0)


@given(
    len_a=st.integers(0, 30),
    len_b=st.integers(0, 30),
    max_num_tokens=st.integers(0, 70),
    seed=seeds,
)
def test_truncation_lengths_on_drawn_pairs(mine, len_a, len_b, max_num_tokens, seed):
    """truncate_seq_pair gives the exact lengths of Google's rule on drawn pairs"""
    original_a = [f"a{i}" for i in range(len_a)]
    original_b = [f"b{i}" for i in range(len_b)]
    tokens_a, tokens_b = list(original_a), list(original_b)
    truncate(mine, tokens_a, tokens_b, max_num_tokens, seed)
    check_truncation(original_a, original_b, tokens_a, tokens_b, max_num_tokens, seed)


def test_truncation_trims_front_and_back_alike(mine):
    """tokens are removed from the front and from the back about equally often, via rng"""
    seeds_used, length, keep = 200, 30, 10
    fronts = one_end_only = 0
    for seed in range(seeds_used):
        tokens_a = list(range(length))
        truncate(mine, tokens_a, [], keep, seed)
        check_truncation(list(range(length)), [], tokens_a, [], keep, seed)
        fronts += tokens_a[0]  # the number of tokens removed from the front
        one_end_only += tokens_a[0] in (0, length - keep)
    removed = seeds_used * (length - keep)
    inputs = (
        _("{seeds_used} lists of {length} tokens, each trimmed to {keep} with random.Random(seed) "
          "for seed 0..{last_seed}: {removed} removals").format(
            seeds_used=seeds_used, length=length, keep=keep, last_seed=seeds_used - 1,
            removed=removed
        )
    )
    if fronts in (0, removed):
        message = (
            _("all {removed} tokens were removed from the back: Google trims the front or the "
              "back at random (rng.random() < 0.5), so segments are seen cut at either end")
            if fronts == 0
            else _("all {removed} tokens were removed from the front: Google trims the front or "
                   "the back at random (rng.random() < 0.5), so segments are seen cut at either "
                   "end")
        )  # fmt: skip
        fail(
            message.format(removed=removed),
            inputs=inputs,
            diagnosis="nsp_truncate_one_end",
        )
    gap = binomial_gap(fronts, removed, 0.5)
    if gap > Z:
        fail(
            _("{fronts} of {removed} removals were from the front ({share:.1%}); "
              "expected about half (off by {gap:.1f} standard deviations)").format(
                fronts=fronts, removed=removed, share=fronts / removed, gap=gap
            ),
            inputs=inputs,
        )
    # A coin per removed token: all 20 from one end happens once in 2^19 lists.
    if one_end_only > seeds_used // 10:
        fail(
            _("in {one_end_only} of {seeds_used} lists all {n} removed tokens came from the same "
              "end: toss the coin (rng.random() < 0.5) for every token removed, not once per "
              "call").format(one_end_only=one_end_only, seeds_used=seeds_used, n=length - keep),
            inputs=inputs,
        )
    # Reproducible from the rng alone, whatever the state of the `random` module.
    runs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        tokens_a = list(range(length))
        truncate(mine, tokens_a, [], keep, 7)
        runs.append(tokens_a)
    if runs[0] != runs[1]:
        fail(
            _("the same rng seed trimmed differently: draw with the rng you are given "
              "(rng.random()), not with the random module's functions"),
            inputs=_("a list of 30 tokens trimmed to 10 twice with random.Random(7)"),
        )


# ---------------------------------------------------------------------------------------------
# make_nsp_pair
# ---------------------------------------------------------------------------------------------


def make_corpus(sentence_lengths: list[list[int]]) -> list[list[list[str]]]:
    """Documents whose tokens say where they come from: 'd3s1t0' = doc 3, sentence 1, token 0."""
    return [
        [[f"d{d}s{s}t{t}" for t in range(n)] for s, n in enumerate(doc)]
        for d, doc in enumerate(sentence_lengths)
    ]


def origin(token: str) -> tuple[int, int, int]:
    d, rest = token[1:].split("s")
    s, t = rest.split("t")
    return int(d), int(s), int(t)


def random_corpus(seed: int, docs: int, sentences: tuple[int, int], tokens: tuple[int, int]):
    rng = random.Random(seed)
    lengths = [[rng.randint(*tokens) for _ in range(rng.randint(*sentences))] for _ in range(docs)]
    return make_corpus(lengths)


def describe_call(documents, doc_index, sentence_index, max_tokens, rng_text) -> str:
    sizes = [len(d) for d in documents]
    return (
        _("a corpus of {n_documents} documents with {min_sizes}..{max_sizes} sentences "
          "each; doc_index={doc_index}, sentence_index={sentence_index}, max_tokens={max_tokens}, "
          "rng {rng_text}").format(
            n_documents=len(documents), min_sizes=min(sizes), max_sizes=max(sizes),
            doc_index=doc_index, sentence_index=sentence_index, max_tokens=max_tokens,
            rng_text=rng_text
        )
    )


def call_pair(mine, documents, doc_index, sentence_index, max_tokens, rng, rng_text):
    """The learner's (tokens, token_type_ids, label), with A and B split out and checked for
    the packing [CLS] A [SEP] B [SEP]."""
    inputs = describe_call(documents, doc_index, sentence_index, max_tokens, rng_text)
    try:
        result = mine.make_nsp_pair(documents, doc_index, sentence_index, max_tokens, rng)
    except IndexError as error:
        if sentence_index == len(documents[doc_index]) - 1:
            fail(
                _("make_nsp_pair raised IndexError ({error}) for the last sentence of a "
                  "document: it has no next sentence, so B must be a random one (label 1)").format(
                    error=error
                ),
                inputs=inputs,
            )
        raise
    if not isinstance(result, tuple | list) or len(result) != 3:
        fail(
            _("return a triple (tokens, token_type_ids, next_sentence_label), got "
              "{kind}").format(kind=type(result).__name__),
            inputs=inputs,
        )
    tokens, token_type_ids, label = result
    tokens, token_type_ids = list(tokens), list(token_type_ids)
    if not all(isinstance(t, str) for t in tokens):
        fail(
            _("tokens must be a list of strings (the corpus's tokens and [CLS]/[SEP])"),
            inputs=inputs,
        )
    seps = [i for i, t in enumerate(tokens) if t == "[SEP]"]
    if not tokens or tokens[0] != "[CLS]" or len(seps) != 2 or seps[1] != len(tokens) - 1:
        fail(
            _("tokens must be [CLS] A [SEP] B [SEP]; got {tokens}").format(
                tokens=str(tokens[:12]) + (" ..." if len(tokens) > 12 else "")),
            inputs=inputs,
        )
    tokens_a, tokens_b = tokens[1 : seps[0]], tokens[seps[0] + 1 : seps[1]]
    if not tokens_a or not tokens_b:
        fail(_("segments A and B must both keep at least one token"), inputs=inputs)
    want_types = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    if [int(t) for t in token_type_ids] != want_types:
        fail(
            _("token_type_ids must be 0 for [CLS] A [SEP] and 1 for B [SEP]: expected "
              "{want_types}, got {token_type_ids}").format(
                want_types=want_types, token_type_ids=token_type_ids
            ),
            inputs=inputs,
        )
    if isinstance(label, torch.Tensor):
        label = label.item()
    if label not in (0, 1):
        fail(_("next_sentence_label must be 0 or 1, got {label!r}").format(label=label),
             inputs=inputs)  # fmt: skip
    if len(tokens) > max_tokens:
        fail(
            _("the packed pair has {n_tokens} tokens, more than max_tokens={max_tokens}: "
              "truncate A and B to max_tokens - 3 together (room for [CLS] and two [SEP])").format(
                n_tokens=len(tokens), max_tokens=max_tokens
            ),
            inputs=inputs,
        )
    return tokens_a, tokens_b, int(label), inputs


def test_pair_is_packed_as_cls_a_sep_b_sep(mine):
    """make_nsp_pair returns ([CLS] A [SEP] B [SEP], segment ids, label), A the asked sentence"""
    documents = make_corpus([[3, 2, 4], [2, 5], [1, 3, 2]])
    tokens_a, _unused, _unused, inputs = call_pair(
        mine, documents, 0, 1, 64, random.Random(0), "random.Random(0)"
    )
    if tokens_a != documents[0][1]:
        fail(
            _("segment A must be sentence 1 of document 0 ({sentence}), got {tokens_a}").format(
                sentence=documents[0][1], tokens_a=tokens_a
            ),
            inputs=inputs,
        )


def classify(documents, doc_index: int, sentence_index: int, tokens_b: list[str]) -> str:
    """'next': B is (a piece of) the sentence after A; 'other': B is from another document;
    'same': B is from A's document but not the next sentence."""
    d, s, _ = origin(tokens_b[0])
    if d != doc_index:
        return "other"
    return "next" if s == sentence_index + 1 else "same"


def test_half_the_pairs_are_random_and_from_other_documents(mine):
    """B is the next sentence with label 0 or, half the time, another document's with label 1"""
    documents = random_corpus(1, docs=30, sentences=(4, 8), tokens=(1, 5))
    rng = random.Random(2)
    rng_text = _("random.Random(2), shared by all calls")
    counts = {(label, kind): 0 for label in (0, 1) for kind in ("next", "other", "same")}
    random_docs, random_sentences = set(), set()
    example = {}
    for _unused in range(12):
        for d, document in enumerate(documents):
            for s in range(len(document) - 1):
                tokens_a, tokens_b, label, inputs = call_pair(
                    mine, documents, d, s, 64, rng, rng_text
                )
                if tokens_a != list(document[s]):
                    fail(_("segment A must be sentence {s} of document {d}").format(s=s, d=d),
                         inputs=inputs)  # fmt: skip
                kind = classify(documents, d, s, tokens_b)
                counts[label, kind] += 1
                example.setdefault((label, kind), inputs)
                if kind == "other":
                    random_docs.add(origin(tokens_b[0])[0])
                    random_sentences.add(origin(tokens_b[0])[1])
    n = sum(counts.values())
    summary = (
        _("{n} pairs: label 0 with the next sentence {next_0}, label 1 with another "
          "document's {other_1}, label 1 with the next sentence {next_1}, "
          "label 0 from another document {other_0}, B from A's own document but not "
          "next: {same}").format(
            n=n, next_0=counts[0, "next"], other_1=counts[1, "other"], next_1=counts[1, "next"],
            other_0=counts[0, "other"], same=counts[0, "same"] + counts[1, "same"]
        )
    )
    inputs = f"{describe_call(documents, 'each', 'each but the last', 64, rng_text)}; {summary}"
    right = counts[0, "next"] + counts[1, "other"]
    flipped = counts[1, "next"] + counts[0, "other"]
    if flipped and not right:
        fail(
            _("every pair has the opposite label: 0 must mean IsNext (B follows A) and 1 NotNext "
              "(B is random)"),
            inputs=inputs,
            diagnosis="nsp_label_flipped",
        )
    if counts[1, "same"] or counts[1, "next"]:
        fail(
            _("some random (label 1) B's come from A's own document: the random sentence must "
              "be drawn from the other documents only, or a 'NotNext' pair can really be next "
              "or share A's topic"),
            inputs=inputs,
            diagnosis="nsp_random_from_same_document",
        )
    if counts[0, "other"] or counts[0, "same"]:
        fail(
            _("some pairs labelled 0 (IsNext) have a B that is not the sentence right after A"),
            inputs=inputs,
        )
    gap = binomial_gap(counts[1, "other"], n, 0.5)
    if gap > Z:
        fail(
            _("{share:.1%} of the pairs are random; expected half (off by "
              "{gap:.1f} standard deviations)").format(share=counts[1, "other"] / n, gap=gap),
            inputs=inputs,
        )
    missing = sorted(set(range(len(documents))) - random_docs)
    if missing:
        fail(
            _("no random B was ever taken from documents {missing}: draw the document "
              "uniformly among all the others").format(missing=missing[:5]),
            inputs=inputs,
        )
    if len(random_sentences) < 4:
        fail(
            _("random B's only ever came from sentence positions {random_sentences}: draw "
              "the sentence uniformly within the random document").format(
                random_sentences=sorted(random_sentences)
            ),
            inputs=inputs,
        )


def test_random_next_is_uniform_over_documents_then_sentences(mine):
    """a random B comes from a uniformly drawn other document, then a uniformly drawn sentence"""
    sentences = [2, 1, 9, 3]  # A is document 1's only sentence, so every B is random
    documents = make_corpus([[2] * n for n in sentences])
    others = [d for d in range(len(documents)) if d != 1]
    rng, calls = random.Random(9), 1800
    rng_text = _("random.Random(9), shared by all calls")
    counts = {}
    for _unused in range(calls):
        _unused, tokens_b, _label, inputs = call_pair(mine, documents, 1, 0, 64, rng, rng_text)
        where = origin(tokens_b[0])[:2]
        counts[where] = counts.get(where, 0) + 1
    inputs = _("{inputs}; {calls} calls, documents of {sentences} sentences").format(
        inputs=describe_call(documents, 1, 0, 64, rng_text), calls=calls, sentences=sentences
    )
    per_document = {d: sum(n for (doc, _s), n in counts.items() if doc == d) for d in others}
    # Drawn from the other documents' sentences pooled together: shares follow their lengths.
    pooled = sum(sentences[d] for d in others)
    by_length = all(
        binomial_gap(per_document[d], calls, sentences[d] / pooled) <= Z for d in others
    )
    for d in others:
        got = per_document[d]
        gap = binomial_gap(got, calls, 1 / len(others))
        if gap > Z:
            fail(
                _("{share:.1%} of the random B's came from document {d} ({n} sentences); "
                  "expected a third (off by {gap:.1f} standard deviations): draw the document "
                  "uniformly among the other documents, whatever their sizes, then a sentence "
                  "in it").format(share=got / calls, d=d, n=sentences[d], gap=gap),
                inputs=inputs,
                diagnosis="nsp_random_weighted_by_length" if by_length else None,
            )
    for d in others:
        for s in range(sentences[d]):
            got = counts.get((d, s), 0)
            gap = binomial_gap(got, calls, 1 / (len(others) * sentences[d]))
            if gap > Z:
                fail(
                    _("sentence {s} of document {d} ({n} sentences) was the random B {got} "
                      "times in {calls}; expected about {want:.0f} (off by {gap:.1f} standard "
                      "deviations): draw the sentence uniformly among all the document's "
                      "sentences, the first and the last included").format(
                        s=s, d=d, n=sentences[d], got=got, calls=calls,
                        want=calls / (len(others) * sentences[d]), gap=gap,
                    ),
                    inputs=inputs,
                )


def test_last_sentence_gets_a_random_next(mine):
    """when A is the last sentence of its document, B is random (label 1)"""
    documents = random_corpus(3, docs=5, sentences=(1, 4), tokens=(1, 4))
    rng = random.Random(4)
    for _unused in range(20):
        for d, document in enumerate(documents):
            s = len(document) - 1
            _unused, tokens_b, label, inputs = call_pair(
                mine, documents, d, s, 64, rng, _("random.Random(4), shared by all calls")
            )
            if label != 1 or origin(tokens_b[0])[0] == d:
                fail(
                    _("A is the last sentence of its document, so there is no next sentence: B "
                      "must come from another document with label 1 (got label {label}, B from "
                      "document {document})").format(label=label,
                                                     document=origin(tokens_b[0])[0]),
                    inputs=inputs,
                )


def test_long_pairs_are_truncated_and_the_corpus_untouched(mine):
    """long pairs are cut to max_tokens with truncate_seq_pair; the corpus is not modified"""
    documents = random_corpus(5, docs=6, sentences=(2, 5), tokens=(1, 30))
    pristine = copy.deepcopy(documents)
    rng = random.Random(6)
    for max_tokens in (5, 8, 16, 40):
        for d, document in enumerate(documents):
            for s in range(len(document)):
                tokens_a, tokens_b, _unused, inputs = call_pair(
                    mine, documents, d, s, max_tokens, rng,
                    _("random.Random(6), shared by all calls"),
                )
                if documents != pristine:
                    fail(
                        _("the corpus was modified: truncate copies of the sentences "
                          "(list(sentence)), never the corpus's own lists"),
                        inputs=inputs,
                    )
                bd, bs, _unused = origin(tokens_b[0])
                want = expected_lengths(len(document[s]), len(documents[bd][bs]), max_tokens - 3)
                if (len(tokens_a), len(tokens_b)) != want:
                    fail(
                        _("A and B were cut to {n_tokens_a} and {n_tokens_b} tokens; "
                          "expected {want_0} and {want_1} (truncate_seq_pair with "
                          "max_tokens - 3)").format(
                            n_tokens_a=len(tokens_a), n_tokens_b=len(tokens_b), want_0=want[0],
                            want_1=want[1]
                        ),
                        inputs=inputs,
                    )
                for name, kept, sentence in (
                    ("A", tokens_a, document[s]),
                    ("B", tokens_b, documents[bd][bs]),
                ):
                    start = list(sentence).index(kept[0])
                    if kept != list(sentence[start : start + len(kept)]):
                        fail(_("{name} is not a contiguous piece of its sentence").format(
                            name=name
                        ), inputs=inputs)


def test_same_rng_seed_same_pair(mine):
    """the same rng seed gives the same pairs, whatever the state of the random module"""
    documents = random_corpus(7, docs=4, sentences=(3, 5), tokens=(1, 6))
    runs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        rng = random.Random(8)
        runs.append(
            [
                call_pair(mine, documents, d, 0, 12, rng, "random.Random(8)")[:3]
                for d in range(len(documents))
                for _repeat in range(10)
            ]
        )
    if runs[0] != runs[1]:
        fail(
            _("the same rng seed gave different pairs: make every random choice with the rng "
              "you are given (rng.random(), rng.randrange(...)), not the random module"),
            inputs=describe_call(documents, "each", 0, 12, "random.Random(8), twice"),
        )


# ---------------------------------------------------------------------------------------------
# The NSP head
# ---------------------------------------------------------------------------------------------


def nsp_config(hidden: int) -> BertConfig:
    return BertConfig(
        vocab_size=10,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=4,
        max_position_embeddings=16,
    )


def test_nsp_head_returns_two_logits(mine):
    """the NSP head returns (batch, 2) logits"""
    head = mine.BertOnlyNSPHead(nsp_config(8))
    with torch.no_grad():
        got = head(randn((2, 5, 8), 0), torch.tanh(randn((2, 8), 1)))
    expect_tensor(
        got,
        name="seq_relationship_logits",
        shape=(2, 2),
        dtype=torch.float32,
        inputs="sequence_output (2, 5, 8), pooled_output (2, 8)",
        shape_names="(batch, 2)",
    )


@given(batch=st.integers(1, 4), seq=st.integers(1, 6), hidden=st.integers(2, 24), seed=seeds)
def test_nsp_head_reads_the_pooled_output(mine, batch, seq, hidden, seed):
    """the NSP head matches the reference: seq_relationship(pooled_output)"""
    config = nsp_config(hidden)
    reference = randomize_parameters_(ReferenceNSPHead(config), seed)
    head = mine.BertOnlyNSPHead(config)
    load_weights(head, reference.state_dict(), name="BertOnlyNSPHead")
    sequence_output = randn((batch, seq, hidden), seed + 1)
    pooled_output = torch.tanh(randn((batch, hidden), seed + 2))
    inputs = (
        _("sequence_output ({batch}, {seq}, {hidden}), pooled_output ({batch}, {hidden}), "
          "seq_relationship weights from the reference").format(
            batch=batch, seq=seq, hidden=hidden
        )
    )
    linear = reference.seq_relationship
    with torch.no_grad():
        got = head.eval()(sequence_output, pooled_output)
        want = reference(pooled_output)
        mistakes = Variants(
            [
                ("nsp_head_without_pooler", lambda: linear(sequence_output[:, 0])),
                ("nsp_head_without_pooler", lambda: linear(sequence_output.mean(1))),
            ]
        )
    expect_close(
        got,
        want,
        name="seq_relationship_logits",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=mistakes,
    )


def test_nsp_head_passes_gradients_to_the_pooled_output(mine):
    """gradients of the NSP logits reach pooled_output and seq_relationship, as in the reference"""
    config = nsp_config(6)
    reference = randomize_parameters_(ReferenceNSPHead(config), 3)
    head = mine.BertOnlyNSPHead(config)
    load_weights(head, reference.state_dict(), name="BertOnlyNSPHead")
    sequence_output = randn((3, 4, 6), 4)
    pooled_mine = torch.tanh(randn((3, 6), 5)).requires_grad_()
    pooled_reference = torch.tanh(randn((3, 6), 5)).requires_grad_()
    weights = randn((3, 2), 6)
    inputs = _("sequence_output (3, 4, 6), pooled_output (3, 6); loss = a weighted sum of "
               "the logits")  # fmt: skip
    logits = expect_tensor(head(sequence_output, pooled_mine), name="seq_relationship_logits",
                           shape=(3, 2), inputs=inputs)  # fmt: skip
    if not logits.requires_grad:
        fail(
            _("the NSP logits carry no gradient: do not run the head under torch.no_grad() or "
              "detach them"),
            inputs=inputs,
        )
    (logits * weights).sum().backward()
    (reference(pooled_reference) * weights).sum().backward()
    mine_parameters = dict(head.named_parameters())
    grads = [("pooled_output", pooled_mine.grad, pooled_reference.grad)]
    grads += [(name, mine_parameters[name].grad, parameter.grad)
              for name, parameter in reference.named_parameters()]  # fmt: skip
    for name, got, want in grads:
        if got is None:
            fail(
                _("no gradient reaches {name}: NSP is what trains the pooler, so nothing "
                  "between it and the logits may be detached").format(name=name),
                inputs=inputs,
            )
        expect_close(got, want, name=_("the gradient of {name}").format(name=name),
                     inputs=inputs, atol=ATOL, rtol=RTOL)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The combined loss
# ---------------------------------------------------------------------------------------------


@st.composite
def loss_cases(draw):
    batch, seq, vocab = draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(st.integers(2, 30))
    g = make_generator(draw(seeds))
    prediction_logits = torch.randn((batch, seq, vocab), generator=g) * 2
    labels = torch.randint(vocab, (batch, seq), generator=g)
    selected = torch.rand((batch, seq), generator=g) < 0.3
    selected.view(-1)[draw(st.integers(0, batch * seq - 1))] = True
    labels = labels.masked_fill(~selected, IGNORE_INDEX)
    seq_relationship_logits = torch.randn((batch, 2), generator=g) * 2
    next_sentence_label = torch.randint(2, (batch,), generator=g)
    return prediction_logits, seq_relationship_logits, labels, next_sentence_label


@given(case=loss_cases())
def test_pretraining_loss_matches_the_reference(mine, case):
    """pretraining_loss matches BertForPreTraining's: masked-LM loss and NSP loss combined"""
    prediction_logits, seq_relationship_logits, labels, next_sentence_label = case
    batch, seq, vocab = prediction_logits.shape
    inputs = (
        _("prediction_logits ({batch}, {seq}, {vocab}), labels with "
          "{n} of {total} positions labelled; "
          "seq_relationship_logits ({batch}, 2), next_sentence_label "
          "{next_sentence_label}").format(
            batch=batch, seq=seq, vocab=vocab, n=int((labels != IGNORE_INDEX).sum()),
            total=batch * seq, next_sentence_label=next_sentence_label.tolist()
        )
    )
    got = mine.pretraining_loss(
        prediction_logits, seq_relationship_logits, labels, next_sentence_label
    )
    expect_tensor(got, name="loss", shape=(), inputs=inputs, shape_names="(): a scalar")
    mlm = masked_lm_loss(prediction_logits, labels)
    nsp = next_sentence_loss(seq_relationship_logits, next_sentence_label)
    mistakes = {
        "nsp_losses_averaged": lambda: (mlm + nsp) / 2,
        "nsp_label_flipped": lambda: (
            mlm + F.cross_entropy(seq_relationship_logits, 1 - next_sentence_label)
        ),
    }
    expect_close(
        got, mlm + nsp, name="loss", inputs=inputs, atol=ATOL, rtol=RTOL, mistakes=mistakes
    )
