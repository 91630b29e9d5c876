"""Checks for exercise mlm_masking (exercises/e08_mlm_masking.py).

A correct masker may draw its random numbers in any order, so nothing here compares with the
reference draw for draw. Structure is checked exactly (labels, untouched tokens, special
tokens, probabilities 0 and 1); the 15% and the 80/10/10 are checked statistically on ~100k
tokens from a seeded generator, within 5 standard deviations of the binomial count (a
correct masker fails that about once in a million runs; the known mistakes miss by 10 to
hundreds of standard deviations). The counts per row and per column must also spread as
independent draws do: neither a fixed count per sequence nor one draw shared by a row or column.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from grader.checks.kit import expect_tensor, fail
from grader.checks.strategies import make_generator, seeds
from grader.i18n import _

MODULE = "e08_mlm_masking"
IGNORE_INDEX = -100
PAD, CLS, SEP, MASK = 0, 2, 3, 4  # ids 0..4 are special, as in a BERT vocab's first rows
FIRST_ORDINARY = 5
Z = 5.0  # standard deviations allowed in the statistical checks


@pytest.fixture(scope="module")
def mask_tokens(learner):
    return learner.mask_tokens


@dataclass(frozen=True)
class MaskCase:
    input_ids: Tensor  # (batch, seq) int64
    special: Tensor  # (batch, seq) bool or 0/1 integers, 1 = never select
    vocab_size: int
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    seed: int = 0

    @property
    def protected(self) -> Tensor:
        return self.special.bool()

    def describe(self) -> str:
        batch, seq = self.input_ids.shape
        n_special = int(self.protected.sum())
        kind = str(self.special.dtype).removeprefix("torch.")
        return (
            _("input_ids of shape ({batch}, {seq}) with {n_special} special/padding tokens "
              "(special_tokens_mask {kind}), vocab_size={vocab_size}, "
              "mask_token_id={mask}, mlm_probability={mlm_probability:g}, "
              "mask_replace_prob={mask_replace_prob:g}, "
              "random_replace_prob={random_replace_prob:g}, generator seeded with {seed}").format(
                batch=batch, seq=seq, n_special=n_special, kind=kind, vocab_size=self.vocab_size,
                mask=MASK, mlm_probability=self.mlm_probability,
                mask_replace_prob=self.mask_replace_prob,
                random_replace_prob=self.random_replace_prob, seed=self.seed
            )
        )


def run(mask_tokens, case: MaskCase) -> tuple[Tensor, Tensor]:
    """Call the learner's masker; check the type, shape and dtype of what comes back."""
    result = mask_tokens(
        case.input_ids,
        case.special,
        mask_token_id=MASK,
        vocab_size=case.vocab_size,
        mlm_probability=case.mlm_probability,
        mask_replace_prob=case.mask_replace_prob,
        random_replace_prob=case.random_replace_prob,
        generator=make_generator(case.seed),
    )
    if not isinstance(result, tuple | list) or len(result) != 2:
        kind = type(result).__name__
        message = (
            _("return a pair (inputs, labels), got {kind} of length {length}")
            if isinstance(result, tuple | list)
            else _("return a pair (inputs, labels), got {kind}")
        )
        length = len(result) if isinstance(result, tuple | list) else 0
        fail(
            message.format(kind=kind, length=length),
            inputs=case.describe(),
        )
    shape, dtype = tuple(case.input_ids.shape), case.input_ids.dtype
    inputs, labels = result
    for name, tensor in (("inputs", inputs), ("labels", labels)):
        if isinstance(tensor, Tensor) and shares_memory(tensor, case.input_ids):
            fail(
                _("{name} shares memory with input_ids (it is input_ids itself or a view of "
                  "it): return new tensors, so that changing one never changes the "
                  "other").format(name=name),
                inputs=case.describe(),
            )
    for name, tensor in (("inputs", inputs), ("labels", labels)):
        expect_tensor(
            tensor,
            name=name,
            shape=shape,
            dtype=dtype,
            inputs=case.describe(),
            shape_names="(batch, seq), like input_ids",
        )
    return inputs, labels


def shares_memory(a: Tensor, b: Tensor) -> bool:
    """The same storage (empty tensors own none: they share nothing)."""
    if a.numel() == 0 or b.numel() == 0:
        return False
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def corpus_batch(
    seed: int, rows: int = 100, cols: int = 1000, vocab_size: int = 30522, **probs: float
) -> MaskCase:
    """~100k tokens: rows of [CLS] ordinary... [SEP] then [PAD], real lengths cols/2..cols.

    Ordinary tokens are drawn from [5, vocab_size), so an original is never [MASK].
    """
    g = make_generator(seed + 1_000_003)  # the data; the masker gets make_generator(seed)
    input_ids = torch.randint(FIRST_ORDINARY, vocab_size, (rows, cols), generator=g)
    lengths = torch.randint(max(2, cols // 2), cols + 1, (rows,), generator=g)
    positions = torch.arange(cols).expand(rows, cols)
    pad = positions >= lengths[:, None]
    last = positions == lengths[:, None] - 1
    input_ids[:, 0] = CLS
    input_ids[last] = SEP
    input_ids[pad] = PAD
    special = (positions == 0) | last | pad
    return MaskCase(input_ids, special, vocab_size, seed=seed, **probs)


def binomial_gap(k: int, n: int, p: float) -> float:
    """How many standard deviations k successes in n trials lie from n * p (inf if p is 0 or
    1 and k is not exactly n * p)."""
    if p <= 0.0 or p >= 1.0:
        return 0.0 if k == round(n * p) else math.inf
    return abs(k - n * p) / math.sqrt(n * p * (1 - p))


# ---------------------------------------------------------------------------------------------
# The rules every output must follow exactly
# ---------------------------------------------------------------------------------------------


def check_structure(case: MaskCase, inputs: Tensor, labels: Tensor) -> None:
    """Labels are -100 or the original id; specials never selected; only selected tokens
    change; changes are [MASK] or ids in the vocabulary."""
    original, protected = case.input_ids, case.protected
    labelled = labels != IGNORE_INDEX
    bad = labelled & (labels != original)
    if bad.any():
        where = tuple(int(i) for i in bad.nonzero()[0])
        copied = bool((labels[bad] == inputs[bad]).all())
        message = (
            _("labels must be -100 or the original id; at position {where} the label is "
              "{label} but the original id is {original} (the labels copy the corrupted "
              "inputs: take them from input_ids)") if copied
            else _("labels must be -100 or the original id; at position {where} the label is "
                   "{label} but the original id is {original}")
        )  # fmt: skip
        fail(
            message.format(where=where, label=int(labels[where]), original=int(original[where])),
            inputs=case.describe(),
        )
    if (labelled & protected).any():
        if bool(labelled.all()):
            fail(
                _("every position has a label, special tokens and padding included: positions "
                  "that were not selected must get -100"),
                inputs=case.describe(),
                diagnosis="mlm_labels_not_ignored",
            )
        n = int((labelled & protected).sum())
        fail(
            _("{n} special or padding tokens were selected (they have a label): tokens where "
              "special_tokens_mask is 1 must never be selected").format(n=n),
            inputs=case.describe(),
            diagnosis="mlm_special_tokens_selected",
        )
    changed = inputs != original
    if (changed & ~labelled).any():
        n = int((changed & ~labelled).sum())
        on_special = bool((changed & protected).any())
        message = (
            _("{n} tokens that were not selected (label -100) were changed, special tokens "
              "among them: the [MASK] / random / unchanged split applies to the selected tokens "
              "only") if on_special
            else _("{n} tokens that were not selected (label -100) were changed: the [MASK] / "
                   "random / unchanged split applies to the selected tokens only")
        )  # fmt: skip
        fail(
            message.format(n=n),
            inputs=case.describe(),
            diagnosis="mlm_corrupts_unselected_tokens",
        )
    out_of_range = changed & ((inputs < 0) | (inputs >= case.vocab_size))
    if out_of_range.any():
        where = tuple(int(i) for i in out_of_range.nonzero()[0])
        fail(
            _("inputs{where} = {value} is not an id in [0, vocab_size={vocab_size})").format(
                where=list(where), value=int(inputs[where]), vocab_size=case.vocab_size
            ),
            inputs=case.describe(),
        )


def test_returns_inputs_and_labels_of_the_input_shape(mask_tokens):
    """returns (inputs, labels), both (batch, seq) int64 like input_ids"""
    input_ids = torch.tensor(
        [[CLS, 10, 11, 12, 13, SEP, PAD, PAD], [CLS, 14, 15, 16, 17, 18, 19, SEP]]
    )
    special = torch.tensor([[1, 0, 0, 0, 0, 1, 1, 1], [1, 0, 0, 0, 0, 0, 0, 1]])
    run(mask_tokens, MaskCase(input_ids, special, vocab_size=30))


def test_leaves_its_arguments_unchanged(mask_tokens):
    """leaves input_ids and special_tokens_mask unchanged (returns new tensors)"""
    case = corpus_batch(1, rows=4, cols=50, mlm_probability=1.0)
    ids_before, special_before = case.input_ids.clone(), case.special.clone()
    run(mask_tokens, case)
    if not torch.equal(case.input_ids, ids_before):
        fail(
            _("input_ids was modified in place: clone it and corrupt the copy (the caller still "
              "needs the originals, e.g. for the labels)"),
            inputs=case.describe(),
        )
    if not torch.equal(case.special, special_before):
        fail(_("special_tokens_mask was modified in place"), inputs=case.describe())


def test_special_tokens_and_padding_are_never_selected(mask_tokens):
    """special tokens and padding ([CLS], [SEP], [PAD]) are never selected nor changed"""
    case = corpus_batch(2)
    inputs, labels = run(mask_tokens, case)
    check_structure(case, inputs, labels)


@st.composite
def mask_cases(draw) -> MaskCase:
    batch, seq = draw(st.integers(1, 4)), draw(st.integers(1, 30))
    vocab_size = draw(st.integers(FIRST_ORDINARY + 1, 60))
    mlm = draw(st.sampled_from([0.15, 0.5, 1.0, 0.0]))
    mask_p, random_p = draw(st.sampled_from([(0.8, 0.1), (0.0, 1.0), (1.0, 0.0), (0.5, 0.3)]))
    seed = draw(seeds)
    g = make_generator(seed + 7)
    input_ids = torch.randint(FIRST_ORDINARY, vocab_size, (batch, seq), generator=g)
    protected = torch.rand((batch, seq), generator=g) < draw(st.sampled_from([0.0, 0.2, 0.6]))
    input_ids[protected] = torch.randint(0, FIRST_ORDINARY, (batch, seq), generator=g)[protected]
    special = protected.to(draw(st.sampled_from([torch.bool, torch.int64])))
    return MaskCase(input_ids, special, vocab_size, mlm, mask_p, random_p, seed)


@given(case=mask_cases())
def test_labels_and_unselected_tokens_on_drawn_batches(mask_tokens, case):
    """labels are the original id where selected and -100 elsewhere; nothing else changes"""
    inputs, labels = run(mask_tokens, case)
    check_structure(case, inputs, labels)
    if case.mask_replace_prob == 1.0 and ((labels != IGNORE_INDEX) & (inputs != MASK)).any():
        fail(
            _("with mask_replace_prob=1 every selected token must become [MASK]"),
            inputs=case.describe(),
        )


def test_probabilities_zero_and_one(mask_tokens):
    """mlm_probability=0 selects nothing; mlm_probability=1 selects every ordinary token"""
    case = corpus_batch(3, rows=20, cols=200, mlm_probability=0.0)
    inputs, labels = run(mask_tokens, case)
    labelled = labels != IGNORE_INDEX
    changed = inputs != case.input_ids
    if (changed & labelled).any():
        n = int((changed & labelled).sum())
        fail(
            _("with mlm_probability=0 no token may be selected, but {n} were selected and "
              "changed (is the comparison the right way round: rand < p selects with "
              "probability p, rand > p with 1 - p?)").format(n=n),
            inputs=case.describe(),
            diagnosis="mlm_wrong_selection_probability",
        )
    check_structure(case, inputs, labels)
    if labelled.any():
        fail(
            _("with mlm_probability=0 no token is selected, so every label must be -100; "
              "{n} labels are set").format(n=int(labelled.sum())),
            inputs=case.describe(),
            diagnosis="mlm_labels_not_ignored",
        )

    for mask_p, random_p in ((1.0, 0.0), (0.8, 0.1)):
        case = corpus_batch(
            4,
            rows=20,
            cols=200,
            mlm_probability=1.0,
            mask_replace_prob=mask_p,
            random_replace_prob=random_p,
        )
        inputs, labels = run(mask_tokens, case)
        check_structure(case, inputs, labels)
        eligible = ~case.protected
        missing = eligible & (labels == IGNORE_INDEX)
        if missing.any():
            n = int(missing.sum())
            kept_unlabelled = bool((inputs[missing] == case.input_ids[missing]).all())
            if kept_unlabelled and mask_p < 1.0 and n < int(eligible.sum()):
                fail(
                    _("with mlm_probability=1 every ordinary token is selected and must keep "
                      "its label, but {n} tokens that were left unchanged got -100").format(n=n),
                    inputs=case.describe(),
                    diagnosis="mlm_unchanged_tokens_unlabelled",
                )
            fail(
                _("with mlm_probability=1 every ordinary token must be selected (labelled), "
                  "but {n} of {total} were not").format(n=n, total=int(eligible.sum())),
                inputs=case.describe(),
                diagnosis="mlm_wrong_selection_probability",
            )
        if mask_p == 1.0 and not bool((inputs[eligible] == MASK).all()):
            fail(
                _("with mlm_probability=1 and mask_replace_prob=1 every ordinary token must "
                  "become [MASK]"),
                inputs=case.describe(),
            )


# ---------------------------------------------------------------------------------------------
# The statistics
# ---------------------------------------------------------------------------------------------


def check_selection_rate(case: MaskCase, labels: Tensor) -> None:
    eligible = ~case.protected
    n = int(eligible.sum())
    k = int(((labels != IGNORE_INDEX) & eligible).sum())
    gap = binomial_gap(k, n, case.mlm_probability)
    if gap > Z:
        fail(
            _("{k} of {n} ordinary tokens were selected ({share:.2%}); expected about "
              "{mlm_probability:.0%} (allowed: within {z:g} standard deviations, here "
              "{gap:.1f})").format(
                k=k, n=n, share=k / n, mlm_probability=case.mlm_probability, z=Z, gap=gap
            ),
            inputs=case.describe(),
            diagnosis="mlm_wrong_selection_probability",
        )


def check_split(case: MaskCase, inputs: Tensor, labels: Tensor) -> None:
    """Among the selected: [MASK], random, unchanged in the right proportions. A random id
    equals [MASK] or the original 1 / vocab_size of the time each; the expected shares
    account for that."""
    selected = labels != IGNORE_INDEX
    n = int(selected.sum())
    original = case.input_ids
    is_mask = selected & (inputs == MASK)
    is_same = selected & (inputs == original)
    is_random = selected & ~is_mask & ~is_same
    m, r, v = case.mask_replace_prob, case.random_replace_prob, case.vocab_size
    keep = 1.0 - m - r
    counts = {
        "[MASK]": int(is_mask.sum()),
        "random": int(is_random.sum()),
        "unchanged": int(is_same.sum()),
    }
    expected = {"[MASK]": m + r / v, "random": r * (1 - 2 / v), "unchanged": keep + r / v}
    shown = {"[MASK]": "[MASK]", "random": _("random"), "unchanged": _("unchanged")}
    shares = ", ".join(f"{shown[name]} {k / n:.2%}" for name, k in counts.items())
    wanted = _("{m:.0%} [MASK], {r:.0%} random, {keep:.0%} unchanged").format(
        m=m, r=r, keep=keep)
    bad = {name: binomial_gap(counts[name], n, p) for name, p in expected.items()}
    bad = {name: gap for name, gap in bad.items() if gap > Z}
    if not bad:
        return
    gaps = ", ".join(_("{gap:.0f} standard deviations for {name}").format(gap=gap,
                                                                          name=shown[name])
                     for name, gap in bad.items())  # fmt: skip
    message = _("of the {n} selected tokens: {shares}; expected {wanted} (off by {gaps})").format(
        n=n, shares=shares, wanted=wanted, gaps=gaps
    )
    diagnosis = None
    if keep > 0 and counts["unchanged"] < n * keep / 4:
        diagnosis = "mlm_unchanged_tokens_unlabelled"
    elif "random" in bad and binomial_gap(counts["random"], n, r * (1 - m)) <= Z:
        diagnosis = "mlm_random_share_not_rescaled"
    fail(message, inputs=case.describe(), diagnosis=diagnosis)


Z_SPREAD = 5.0  # the spread of counts over rows or columns: each side 3 in 10 million


def spread_gap(hits: Tensor, trials: Tensor, p: float, dim: int) -> float:
    """How far the spread of per-row (dim=1) or per-column (dim=0) counts lies from a binomial
    one, in standard deviations (negative: too even). With independent draws, the sum over
    groups of (k - n p)² / (n p q) has mean G (the number of groups) and variance
    sum(2 + (1 - 6 p q) / (n p q)): matched to a chi-square with G degrees of freedom and put
    on a normal scale by the Wilson-Hilferty cube root (its tails are not symmetric)."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    n = trials.sum(dim).double()
    k = (hits & trials).sum(dim).double()
    n, k = n[n > 0], k[n > 0]
    pq = p * (1 - p)
    groups = len(n)
    statistic = float(((k - n * p) ** 2 / (n * pq)).sum())
    variance = float((2 + (1 - 6 * pq) / (n * pq)).sum())
    chi2 = max(0.0, groups + (statistic - groups) * math.sqrt(2 * groups / variance))
    c = 2 / (9 * groups)
    return ((chi2 / groups) ** (1 / 3) - (1 - c)) / math.sqrt(c)


def check_independence(case: MaskCase, hits: Tensor, trials: Tensor, p: float, what: str,
                       diagnose_even_rows: bool) -> None:  # fmt: skip
    """Each token's draw is its own: the counts per row and per column vary as binomials do.
    A fixed count per sequence is too even; one draw per row or per column too uneven."""
    for dim, groups in ((1, _("rows")), (0, _("columns"))):
        gap = spread_gap(hits, trials, p, dim)
        if gap < -Z_SPREAD:
            fail(
                _("the number of {what} varies too little from one {groups_one} to the next "
                  "({gap:.1f} standard deviations below a binomial spread): draw every token "
                  "independently (one random number per token), not a fixed count per "
                  "sequence").format(what=what, groups_one=_("row") if dim else _("column"),
                                     gap=-gap),
                inputs=case.describe(),
                diagnosis="mlm_fixed_count_per_sequence" if dim == 1 and diagnose_even_rows
                else None,
            )
        if gap > Z_SPREAD:
            fail(
                _("the number of {what} varies far too much across {groups} ({gap:.1f} standard "
                  "deviations above a binomial spread): the draws are shared, one per row or "
                  "per column broadcast over the batch; draw one random number per token, of "
                  "shape (batch, seq)").format(what=what, groups=groups, gap=gap),
                inputs=case.describe(),
            )


def test_about_15_percent_of_the_tokens_are_selected(mask_tokens):
    """about 15% of the ordinary tokens are selected (and 30% when mlm_probability=0.3)"""
    for case in (corpus_batch(5), corpus_batch(6, rows=50, mlm_probability=0.3)):
        inputs, labels = run(mask_tokens, case)
        check_structure(case, inputs, labels)
        check_selection_rate(case, labels)
        check_independence(case, labels != IGNORE_INDEX, ~case.protected, case.mlm_probability,
                           _("selected tokens"), diagnose_even_rows=True)  # fmt: skip


def test_selected_tokens_split_80_10_10(mask_tokens):
    """of the selected tokens 80% become [MASK], 10% a random id and 10% stay unchanged"""
    case = corpus_batch(7)
    inputs, labels = run(mask_tokens, case)
    check_structure(case, inputs, labels)
    check_split(case, inputs, labels)
    selected = labels != IGNORE_INDEX
    check_independence(case, inputs == MASK, selected, case.mask_replace_prob
                       + case.random_replace_prob / case.vocab_size,
                       _("[MASK] tokens among the selected"), diagnose_even_rows=False)  # fmt: skip


def test_other_probabilities_are_honoured(mask_tokens):
    """other probabilities are honoured (30% selected; 50% [MASK], 30% random, 20% unchanged)"""
    case = corpus_batch(
        8,
        rows=60,
        vocab_size=100,
        mlm_probability=0.3,
        mask_replace_prob=0.5,
        random_replace_prob=0.3,
    )
    inputs, labels = run(mask_tokens, case)
    check_structure(case, inputs, labels)
    check_selection_rate(case, labels)
    check_split(case, inputs, labels)


def test_random_replacements_cover_the_vocabulary(mask_tokens):
    """random replacements are uniform over [0, vocab_size), the last id included"""
    vocab_size, rows, cols = 64, 64, 1000
    input_ids = torch.full((rows, cols), FIRST_ORDINARY)
    case = MaskCase(
        input_ids,
        torch.zeros(rows, cols, dtype=torch.bool),
        vocab_size,
        mlm_probability=1.0,
        mask_replace_prob=0.0,
        random_replace_prob=1.0,
        seed=9,
    )
    inputs, labels = run(mask_tokens, case)
    check_structure(case, inputs, labels)
    counts = torch.bincount(inputs.flatten(), minlength=vocab_size).double()
    expected = inputs.numel() / vocab_size
    never = [i for i in range(vocab_size) if counts[i] == 0]
    if never:
        fail(
            _("ids {never} were never drawn in {n} random replacements: draw uniformly from "
              "[0, vocab_size) (torch.randint's upper bound is exclusive; specials are allowed "
              "too)").format(never=str(never[:5]) + ("..." if len(never) > 5 else ""),
                             n=inputs.numel()),
            inputs=case.describe(),
        )
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    dof = vocab_size - 1
    if chi2 > dof + 6 * math.sqrt(2 * dof):
        fail(
            _("the random ids are not uniform over [0, {vocab_size}) (chi-square {chi2:.0f} "
              "with {dof} degrees of freedom)").format(vocab_size=vocab_size, chi2=chi2, dof=dof),
            inputs=case.describe(),
        )


def test_same_seed_same_batch(mask_tokens):
    """the same generator seed gives the same batch; another seed a different one"""
    case = corpus_batch(10, rows=8, cols=200)
    first, second = run(mask_tokens, case), run(mask_tokens, case)
    if not (torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])):
        fail(
            _("two calls with generators seeded alike gave different batches: pass "
              "generator=generator to every torch.rand / bernoulli / randint call"),
            inputs=case.describe(),
        )
    other = run(mask_tokens, dataclasses.replace(case, seed=11))
    if torch.equal(first[1], other[1]):
        fail(
            _("generators with different seeds gave the same selection: the randomness must "
              "come from the generator"),
            inputs=case.describe(),
        )
