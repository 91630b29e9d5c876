"""Checks for exercise distillation_loss (exercises/e32_distillation_loss.py).

Each term against ``reference/variants/distillation.py`` (checked in ``tests/`` against
torch.nn's KLDivLoss / CosineEmbeddingLoss and transformers' distillation example), on fixed
inputs first, then on hypothesis-drawn shapes, temperatures and logit scales; then the whole
loss on padded batches; then the property T² exists for: the soft term's gradient hardly
depends on the temperature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, describe_mask, expect_close, expect_tensor, fail
from grader.checks.strategies import final_example, make_generator, padding_masks, randn, seeds
from grader.i18n import _
from reference.variants import distillation as ref

MODULE = "e32_distillation_loss"
ATOL, RTOL = 1e-5, 1e-4
TEMPERATURES = (2.0, 1.0, 4.0, 0.5)


def scalar(got, name: str, inputs: str) -> torch.Tensor:
    return expect_tensor(got, name=name, shape=(), inputs=inputs, shape_names="(): a scalar")


def expect_unchanged(function: str, passed: dict, originals: dict, inputs: str) -> None:
    """Fail when ``function`` wrote into one of the tensors it was given."""
    for name, tensor in passed.items():
        if not torch.equal(tensor, originals[name]):
            fail(_("{function} changed its argument {name} in place (x /= T, x.div_(...), "
                   "x[...] = ...): the caller still needs it (the teacher's logits, the hidden "
                   "states); compute into new tensors").format(function=function, name=name),
                 inputs=inputs)  # fmt: skip


# --- how the known mistakes compute -----------------------------------------------------------


def wrong_soft_losses(student, teacher, t: float) -> Variants:
    """Soft-target losses written in known wrong ways, on (n, vocab) rows."""

    def kl(input, target, reduction="batchmean"):
        return F.kl_div(input, target, reduction=reduction)

    log_q, p = F.log_softmax(student / t, -1), F.softmax(teacher / t, -1)
    return Variants(
        [
            ("distil_missing_t_squared", lambda: kl(log_q, p)),
            ("distil_missing_t_squared", lambda: kl(log_q, p) * t),  # T where T² belongs
            ("distil_temperature_teacher_only",
             lambda: kl(F.log_softmax(student, -1), p) * t**2),
            ("distil_temperature_teacher_only", lambda: kl(F.log_softmax(student, -1), p)),
            ("distil_temperature_student_only",
             lambda: kl(log_q, F.softmax(teacher, -1)) * t**2),
            ("distil_temperature_student_only", lambda: kl(log_q, F.softmax(teacher, -1))),
            ("distil_kl_arguments_swapped",  # KL(p_student ‖ p_teacher)
             lambda: kl(F.log_softmax(teacher / t, -1), F.softmax(student / t, -1)) * t**2),
            ("distil_kl_arguments_swapped",  # probabilities where log-probabilities go
             lambda: kl(F.softmax(student / t, -1), p) * t**2),
            ("distil_kl_wrong_reduction", lambda: kl(log_q, p, "mean") * t**2),
            ("distil_kl_wrong_reduction", lambda: kl(log_q, p, "sum") * t**2),
        ]
    )  # fmt: skip


# --- the soft-target term ---------------------------------------------------------------------


def compare_soft(learner, student, teacher, t: float) -> None:
    n, vocab = student.shape
    size = float(max(student.abs().max(), teacher.abs().max()))
    inputs = _("n={n} rows, vocab={vocab}, temperature={t:g}; logits up to {size:.3g} in "
               "size").format(n=n, vocab=vocab, t=t, size=size)  # fmt: skip
    passed = {"student_logits": student.clone(), "teacher_logits": teacher.clone()}
    got = scalar(learner.soft_target_loss(*passed.values(), t), "loss_ce", inputs)
    expect_unchanged("soft_target_loss", passed,
                     {"student_logits": student, "teacher_logits": teacher}, inputs)  # fmt: skip
    want = ref.soft_target_loss(student, teacher, t)
    mistakes = wrong_soft_losses(student, teacher, t) if final_example() else None
    expect_close(got, want, name="loss_ce", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


def fixed_soft_case():
    """3 rows, vocab 5, T = 2: teacher and student disagree on which token is likely."""
    student = torch.tensor([[2.0, 1.0, 0.0, -1.0, 0.5], [0.0, 3.0, -2.0, 1.0, 0.0],
                            [1.0, 1.0, 1.0, -3.0, 2.0]])  # fmt: skip
    teacher = torch.tensor([[0.0, 3.0, 1.0, -2.0, 0.0], [1.0, 0.5, 0.0, 2.0, -1.0],
                            [-1.0, 2.0, 0.0, 0.0, 4.0]])  # fmt: skip
    return student, teacher, 2.0


@st.composite
def soft_cases(draw):
    n, vocab, seed = draw(st.integers(1, 6)), draw(st.integers(2, 12)), draw(seeds)
    scale = draw(st.sampled_from([2.0, 0.3, 8.0]))
    student, teacher = randn((n, vocab), seed, scale), randn((n, vocab), seed + 1, scale)
    return student, teacher, draw(st.sampled_from(TEMPERATURES))


def test_soft_target_loss_on_a_fixed_batch(learner):
    """soft_target_loss: T² · KL(teacher ‖ student) on softened rows, batchmean (fixed input)"""
    compare_soft(learner, *fixed_soft_case())


@given(case=soft_cases())
def test_soft_target_loss_matches_the_reference(learner, case):
    """soft_target_loss equals the reference's for drawn rows, vocabularies and temperatures"""
    compare_soft(learner, *case)


def test_soft_target_loss_is_zero_for_a_perfect_student(learner):
    """the soft term is 0 when the student's logits equal the teacher's"""
    _unused, teacher, t = fixed_soft_case()
    inputs = _("n=3 rows, vocab=5, temperature=2; student logits = teacher logits")
    same = scalar(learner.soft_target_loss(teacher.clone(), teacher.clone(), t), "loss_ce", inputs)
    if abs(float(same)) > 1e-6:
        fail(_("the soft term is {same:.4g} for a student identical to its teacher: "
               "KL(p ‖ p) is 0 — is F.kl_div given log-probabilities first and probabilities "
               "second?").format(same=float(same)), inputs=inputs,
             diagnosis="distil_kl_arguments_swapped")  # fmt: skip


def test_soft_term_gradient_hardly_depends_on_temperature(learner):
    """with T², the gradient on the student's logits stays the same size as T grows (Hinton §2)"""
    student = randn((4, 10), 21, 0.5)
    teacher = randn((4, 10), 22, 0.5)
    norms = {}
    for t in (5.0, 10.0):
        x = student.clone().requires_grad_(True)
        loss = learner.soft_target_loss(x, teacher.clone(), t)
        scalar(loss, "loss_ce", f"n=4 rows, vocab=10, temperature={t:g}").backward()
        if x.grad is None:
            fail(_("the soft term has no gradient with respect to the student's logits: keep it "
                   "in the autograd graph (no .item(), no .detach())"))  # fmt: skip
        norms[t] = float(x.grad.norm())
    ratio = norms[5.0] / norms[10.0]
    if not 0.8 < ratio < 1.25:
        fail(
            _("doubling T from 5 to 10 divided the gradient by {ratio:.2f}: the softened KL's "
              "gradient shrinks like 1/T², which the T² factor undoes (expect a ratio near "
              "1)").format(ratio=ratio),
            inputs=_("n=4 rows, vocab=10, logits of size ~0.5; gradient norms at T = 5 and 10"),
            diagnosis="distil_missing_t_squared" if 3.0 < ratio < 5.0 else None,
        )


# --- the cosine term --------------------------------------------------------------------------


def compare_cosine(learner, student, teacher) -> None:
    n, dim = student.shape
    inputs = f"n={n} rows, dim={dim}"
    passed = {"student_hidden": student.clone(), "teacher_hidden": teacher.clone()}
    got = scalar(learner.cosine_embedding_loss(*passed.values()), "loss_cos", inputs)
    expect_unchanged("cosine_embedding_loss", passed,
                     {"student_hidden": student, "teacher_hidden": teacher}, inputs)  # fmt: skip
    want = ref.cosine_embedding_loss(student, teacher)
    expect_close(got, want, name="loss_cos", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_cosine_loss_on_a_fixed_batch(learner):
    """cosine_embedding_loss: mean of 1 - cos over rows (same, opposite, orthogonal vectors)"""
    student = torch.tensor([[1.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    teacher = torch.tensor([[2.0, 4.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    compare_cosine(learner, student, teacher)


@given(n=st.integers(1, 6), dim=st.integers(1, 12), seed=seeds)
def test_cosine_loss_matches_the_reference(learner, n, dim, seed):
    """cosine_embedding_loss equals the reference's on drawn rows"""
    compare_cosine(learner, randn((n, dim), seed, 3.0), randn((n, dim), seed + 1))


# --- the whole loss ---------------------------------------------------------------------------


def batch_case(batch, seq, vocab, dim, seed, mask, t, alphas=(5.0, 2.0, 1.0)):
    gen = make_generator(seed + 2)
    labels = torch.randint(0, vocab, (batch, seq), generator=gen)
    keep = (torch.rand(batch, seq, generator=gen) < 0.4) & mask.bool()
    keep[0, 0] = True  # at least one labelled token (row 0 starts with a real one)
    labels = labels.masked_fill(~keep, -100)
    return dict(
        student_logits=randn((batch, seq, vocab), seed, 2.0),
        teacher_logits=randn((batch, seq, vocab), seed + 1, 2.0),
        labels=labels,
        attention_mask=mask,
        student_hidden=randn((batch, seq, dim), seed + 3),
        teacher_hidden=randn((batch, seq, dim), seed + 4),
        temperature=t,
        alpha_ce=alphas[0],
        alpha_mlm=alphas[1],
        alpha_cos=alphas[2],
    )


def fixed_batch():
    """2 rows of 5, the second with 2 padded positions; vocab 7, dim 4, T = 2."""
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return batch_case(2, 5, 7, 4, 30, mask, 2.0)


@st.composite
def batches(draw):
    batch, seq = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False))
    mask[0, 0] = 1
    return batch_case(batch, seq, draw(st.integers(2, 9)), draw(st.integers(1, 6)),
                      draw(seeds), mask, draw(st.sampled_from(TEMPERATURES)))  # fmt: skip


def compare_batch(learner, kwargs) -> None:
    batch, seq, vocab = kwargs["student_logits"].shape
    inputs = _("batch={batch}, seq={seq}, vocab={vocab}; {mask}; {n} labelled tokens; "
               "temperature={temperature:g}; alpha_ce={alpha_ce:g}, alpha_mlm={alpha_mlm:g}, "
               "alpha_cos={alpha_cos:g}").format(
        batch=batch, seq=seq, vocab=vocab, mask=describe_mask(kwargs["attention_mask"]),
        n=int((kwargs["labels"] != -100).sum()), temperature=kwargs["temperature"],
        alpha_ce=kwargs["alpha_ce"], alpha_mlm=kwargs["alpha_mlm"],
        alpha_cos=kwargs["alpha_cos"])  # fmt: skip
    passed = {k: v.clone() if torch.is_tensor(v) else v for k, v in kwargs.items()}
    result = learner.distillation_loss(**passed)
    expect_unchanged("distillation_loss", {k: v for k, v in passed.items() if torch.is_tensor(v)},
                     kwargs, inputs)  # fmt: skip
    if not isinstance(result, tuple | list) or len(result) != 4:
        fail(_("return (loss, loss_ce, loss_mlm, loss_cos), got {kind}").format(
            kind=type(result).__name__
        ),
             inputs=inputs)  # fmt: skip
    want = ref.distillation_loss(**kwargs)
    real = kwargs["attention_mask"].bool()
    t = kwargs["temperature"]
    soft_mistakes = None
    if final_example():
        soft_mistakes = wrong_soft_losses(kwargs["student_logits"][real],
                                          kwargs["teacher_logits"][real], t)  # fmt: skip
    for name, got, expected, mistakes in (
        ("loss_ce", result[1], want.loss_ce, soft_mistakes),
        ("loss_mlm", result[2], want.loss_mlm, None),
        ("loss_cos", result[3], want.loss_cos, None),
        ("loss", result[0], want.loss, None),
    ):
        scalar(got, name, inputs)
        expect_close(got, expected, name=name, inputs=inputs, atol=ATOL, rtol=RTOL,
                     mistakes=mistakes)  # fmt: skip


def test_distillation_loss_on_a_padded_batch(learner):
    """distillation_loss: each term and the weighted sum on a padded batch (fixed input)"""
    compare_batch(learner, fixed_batch())


@given(kwargs=batches())
@example(kwargs=fixed_batch())
@example(kwargs=batch_case(2, 4, 6, 3, 40, torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]), 4.0,
                           alphas=(0.5, 3.0, 0.25)))  # other weights than DistilBERT's
def test_distillation_loss_matches_the_reference(learner, kwargs):
    """distillation_loss equals the reference's on drawn padded batches and temperatures"""
    compare_batch(learner, kwargs)


def test_a_confident_teacher_gives_a_finite_soft_loss(learner):
    """teacher probabilities that underflow to 0 still give a finite soft loss (no 0 · log 0)"""
    teacher = torch.tensor([[60.0, -60.0, 0.0, 5.0], [-80.0, 2.0, 80.0, 1.0]])
    student = torch.tensor([[1.0, 0.5, -1.0, 2.0], [0.0, 1.0, 2.0, -1.0]])
    inputs = _("n=2 rows, vocab=4, temperature=1; teacher logits up to ±80, so some teacher "
               "probabilities are exactly 0 in float32")  # fmt: skip
    got = scalar(learner.soft_target_loss(student.clone(), teacher.clone(), 1.0), "loss_ce",
                 inputs)  # fmt: skip
    if not bool(torch.isfinite(got)):
        fail(_("the soft term is {got} for a confident teacher: a teacher probability of exactly "
               "0 makes p · log p = 0 · (-inf) = NaN. Use F.kl_div (or log_softmax for the "
               "teacher too), which count those terms as 0").format(got=float(got)),
             inputs=inputs, diagnosis="distil_kl_log_of_zero")  # fmt: skip
    expect_close(got, ref.soft_target_loss(student, teacher, 1.0), name="loss_ce",
                 inputs=inputs, atol=ATOL, rtol=RTOL)  # fmt: skip


def test_extreme_logits_give_a_finite_soft_loss(learner):
    """logits of ±100 at T = 0.5 still give the reference's finite soft loss (no overflow)"""
    student = torch.tensor([[100.0, -100.0, 0.0, 3.0], [0.5, 2.0, -1.0, 1.0]])
    teacher = torch.tensor([[2.0, 1.0, -1.0, 0.0], [1.0, 100.0, -100.0, 0.0]])
    inputs = _("n=2 rows, vocab=4, temperature=0.5; student logits up to ±100 in row 0, teacher "
               "logits up to ±100 in row 1, so exp(logits / T) overflows and some probabilities "
               "underflow to 0 in float32")  # fmt: skip
    got = scalar(learner.soft_target_loss(student.clone(), teacher.clone(), 0.5), "loss_ce",
                 inputs)  # fmt: skip
    if not bool(torch.isfinite(got)):
        fail(_("the soft term is {got} where the reference's is finite: softmax written with "
               "exp overflows, and log(softmax(x)) is log(0) = -inf for a very unlikely token. "
               "Use F.log_softmax for the student (and F.softmax or log_softmax for the "
               "teacher)").format(got=float(got)),
             inputs=inputs,
             diagnosis="distil_log_of_softmax" if float(got) == float("inf") else None)  # fmt: skip
    expect_close(got, ref.soft_target_loss(student, teacher, 0.5), name="loss_ce",
                 inputs=inputs, atol=ATOL, rtol=RTOL)  # fmt: skip


def test_gradients_reach_the_student(learner):
    """the total loss sends gradients to the student's logits and hidden states"""
    kwargs = fixed_batch()
    student_logits = kwargs["student_logits"].clone().requires_grad_()
    student_hidden = kwargs["student_hidden"].clone().requires_grad_()
    inputs = _("the fixed padded batch; student_logits and student_hidden require gradients")
    result = learner.distillation_loss(**{**kwargs, "student_logits": student_logits,
                                          "student_hidden": student_hidden})  # fmt: skip
    if not isinstance(result, tuple | list) or len(result) != 4:
        fail(_("return (loss, loss_ce, loss_mlm, loss_cos), got {kind}").format(
            kind=type(result).__name__), inputs=inputs)  # fmt: skip
    for name, term in zip(("loss", "loss_ce", "loss_mlm", "loss_cos"), result, strict=True):
        term = scalar(term, name, inputs)
        if not term.requires_grad:
            fail(_("{name} is detached (.item(), float(), .detach() or torch.tensor(...) of a "
                   "number): backward() cannot train the student with it").format(name=name),
                 inputs=inputs)  # fmt: skip
    result[0].backward()
    for name, leaf in (("student_logits", student_logits), ("student_hidden", student_hidden)):
        if leaf.grad is None or not bool(leaf.grad.abs().sum() > 0):
            fail(_("no gradient reaches {name} through the total loss").format(name=name),
                 inputs=inputs)  # fmt: skip
