"""Checks for exercise electra_rtd (exercises/e31_electra_rtd.py).

Each piece against ``reference/variants/electra.py`` (proven equal to transformers'
``ElectraForPreTraining`` in ``tests/``): the head's logits, the labels, the loss; then the
whole discriminator with the reference's weights loaded; then what the loss must do without
any reference: ignore padding, and reach zero on confident right answers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import (
    Variants,
    describe_mask,
    expect_close,
    expect_tensor,
    fail,
    load_weights,
)
from grader.checks.strategies import (
    TokenBatch,
    final_example,
    make_generator,
    padding_masks,
    randn,
    randomize_parameters_,
    seeds,
    token_batches,
)
from grader.i18n import _
from reference.variants import electra as ref

MODULE = "e31_electra_rtd"
ATOL, RTOL = 1e-5, 1e-4


def small_config(**overrides) -> ref.ElectraConfig:
    values = dict(vocab_size=20, embedding_size=6, hidden_size=12, num_hidden_layers=2,
                  num_attention_heads=3, intermediate_size=20,
                  max_position_embeddings=16)  # fmt: skip
    return ref.ElectraConfig(**{**values, **overrides})


def describe(config: ref.ElectraConfig) -> str:
    return (f"embedding_size={config.embedding_size}, hidden={config.hidden_size}, heads="
            f"{config.num_attention_heads}, layers={config.num_hidden_layers}, "
            f"{config.hidden_act}")  # fmt: skip


def expect_unchanged(function: str, names, passed, originals, inputs: str) -> None:
    """Fail when ``function`` wrote into one of the tensors it was given."""
    for name, tensor, original in zip(names, passed, originals, strict=True):
        if tensor is not None and not torch.equal(tensor, original):
            fail(_("{function} changed its argument {name} in place (ne_, masked_fill_, "
                   "x[...] = ...): the caller still needs the tensors it passes (the "
                   "discriminator reads corrupted_ids); compute into new "
                   "tensors").format(function=function, name=name),
                 inputs=inputs)  # fmt: skip


# --- the head ---------------------------------------------------------------------------------


def build_head(learner, config, seed):
    reference = randomize_parameters_(ref.ElectraDiscriminatorPredictions(config), seed).eval()
    mine = learner.ElectraDiscriminatorPredictions(config)
    load_weights(mine, reference.state_dict(), name="ElectraDiscriminatorPredictions")
    return mine.eval(), reference


def compare_head(learner, config, seed, hidden) -> None:
    mine, reference = build_head(learner, config, seed)
    batch, seq, _ = hidden.shape
    inputs = f"hidden={config.hidden_size}, {config.hidden_act}; batch={batch}, seq={seq}"
    with torch.no_grad():
        got, want = mine(hidden), reference(hidden)
    expect_tensor(got, name="logits", shape=(batch, seq), dtype=torch.float32, inputs=inputs,
                  shape_names="(batch, seq): one logit per token")  # fmt: skip
    mistakes = None
    if final_example():
        mistakes = {"electra_sigmoid_twice": lambda: torch.sigmoid(want)}
    expect_close(got, want, name="logits", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


@st.composite
def head_cases(draw):
    hidden = draw(st.integers(1, 16))
    act = draw(st.sampled_from(["gelu", "gelu_new", "relu"]))
    config = small_config(hidden_size=hidden, num_attention_heads=1, hidden_act=act)
    seed = draw(seeds)
    x = randn((draw(st.integers(1, 3)), draw(st.integers(1, 9)), hidden), seed + 1, 2.0)
    return config, seed, x


def test_head_returns_one_logit_per_token(learner):
    """ElectraDiscriminatorPredictions loads the reference's weights; logits are (batch, seq)"""
    config = small_config()
    compare_head(learner, config, 0, randn((2, 5, 12), 1))


@given(case=head_cases())
@example(case=(small_config(hidden_act="relu"), 2, randn((1, 3, 12), 3)))
def test_head_matches_the_reference(learner, case):
    """head logits equal the reference's (dense -> activation -> dense_prediction, no sigmoid)"""
    compare_head(learner, *case)


# --- labels -----------------------------------------------------------------------------------


def corrupt(original: torch.Tensor, seed: int, vocab: int) -> torch.Tensor:
    """Replace about half the tokens with random ids (some of which are the original again)."""
    gen = make_generator(seed)
    chosen = torch.rand(original.shape, generator=gen) < 0.5
    sampled = torch.randint(0, vocab, original.shape, generator=gen)
    return torch.where(chosen, sampled, original)


def compare_labels(learner, original, corrupted) -> None:
    inputs = f"original_ids {original.tolist()}; corrupted_ids {corrupted.tolist()}"
    passed = (original.clone(), corrupted.clone())
    got = learner.replaced_token_labels(*passed)
    expect_unchanged("replaced_token_labels", ("original_ids", "corrupted_ids"), passed,
                     (original, corrupted), inputs)  # fmt: skip
    want = (corrupted != original).long()
    got = expect_tensor(got, name="labels", shape=tuple(original.shape), inputs=inputs,
                        shape_names="(batch, seq)")  # fmt: skip
    if got.dtype != torch.long:
        fail(_("labels should be int64 (0/1), got {dtype}").format(dtype=got.dtype),
             inputs=inputs)  # fmt: skip
    mistakes = {"electra_labels_inverted": lambda: 1 - want}
    expect_close(got, want, name="labels", inputs=inputs, atol=0, rtol=0, mistakes=mistakes)


def test_labels_mark_replaced_tokens(learner):
    """labels: 1 where the token differs from the original, 0 where it is the original (fixed)"""
    original = torch.tensor([[5, 6, 7, 8, 9], [3, 3, 4, 4, 1]])
    corrupted = torch.tensor([[5, 2, 7, 8, 1], [3, 9, 4, 4, 1]])  # replaced: (0,1) (0,4) (1,1)
    compare_labels(learner, original, corrupted)


@given(seed=seeds, batch=st.integers(1, 3), seq=st.integers(1, 9), vocab=st.integers(2, 30))
def test_labels_match_the_reference(learner, seed, batch, seq, vocab):
    """labels compare tokens: a position the generator filled with the original is original"""
    original = torch.randint(0, vocab, (batch, seq), generator=make_generator(seed))
    compare_labels(learner, original, corrupt(original, seed + 1, vocab))


# --- the loss ---------------------------------------------------------------------------------


def wrong_losses(logits, labels, mask) -> Variants:
    def bce(x, y):
        return F.binary_cross_entropy_with_logits(x, y.float())

    real = None if mask is None else mask.bool()

    def on_real(x, y):
        return bce(x, y) if real is None else bce(x[real], y[real])

    mistakes = Variants([
        ("electra_sigmoid_twice", lambda: on_real(torch.sigmoid(logits), labels)),
        ("electra_labels_inverted", lambda: on_real(logits, 1 - labels)),
    ])  # fmt: skip
    if real is not None:
        mistakes.append(("electra_loss_over_padding", lambda: bce(logits, labels)))
        mistakes.append(("electra_sigmoid_twice", lambda: bce(torch.sigmoid(logits), labels)))
        per_token = F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none")
        kept = per_token * mask
        mistakes.append(("electra_loss_over_padding", lambda: kept.sum() / kept.numel()))
        mistakes.append(("electra_loss_mean_of_row_means",
                         lambda: (kept.sum(-1) / mask.sum(-1)).mean()))  # fmt: skip
        rows = mask.long()  # a 0/1 integer tensor indexes rows 0 and 1, it does not select
        mistakes.append(("electra_mask_not_bool", lambda: bce(logits[rows], labels[rows])))
    return mistakes


def compare_loss(learner, logits, labels, mask) -> None:
    batch, seq = logits.shape
    padding = "no attention_mask" if mask is None else describe_mask(mask)
    size = float(logits.abs().max())
    inputs = _("batch={batch}, seq={seq}; {padding}; logits up to {size:.3g} in size").format(
        batch=batch, seq=seq, padding=padding, size=size
    )
    passed = (logits.clone(), labels.clone(), None if mask is None else mask.clone())
    got = learner.replaced_token_detection_loss(*passed)
    expect_unchanged("replaced_token_detection_loss", ("logits", "labels", "attention_mask"),
                     passed, (logits, labels, mask), inputs)  # fmt: skip
    got = expect_tensor(got, name="loss", shape=(), inputs=inputs,
                        shape_names="(): a scalar, the mean over real tokens")  # fmt: skip
    want = ref.replaced_token_detection_loss(logits, labels, mask)
    mistakes = wrong_losses(logits, labels, mask) if final_example() else None
    expect_close(got, want, name="loss", inputs=inputs, atol=ATOL, rtol=RTOL, mistakes=mistakes)


def fixed_loss_case():
    """Two rows of 6, the second with 3 padded positions (logits there are large and wrong)."""
    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0, 1.5, -0.5], [1.0, -2.0, 3.0, 8.0, 9.0, -7.0]])
    labels = torch.tensor([[1, 0, 1, 0, 0, 1], [1, 0, 0, 0, 0, 1]])
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    return logits, labels, mask


@st.composite
def loss_cases(draw):
    batch, seq, seed = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(seeds)
    logits = randn((batch, seq), seed, draw(st.sampled_from([1.0, 4.0, 0.1])))
    labels = torch.randint(0, 2, (batch, seq), generator=make_generator(seed + 1))
    mask = None
    if draw(st.booleans()):
        mask = draw(padding_masks(batch, seq, allow_fully_padded=False))
    return logits, labels, mask


def test_loss_on_a_padded_batch(learner):
    """loss equals the reference's: BCE with logits, mean over real tokens (fixed input)"""
    compare_loss(learner, *fixed_loss_case())


@given(case=loss_cases())
def test_loss_matches_the_reference(learner, case):
    """loss equals the reference's on drawn logits, labels and padding (and with no mask)"""
    compare_loss(learner, *case)


def test_loss_ignores_padding(learner):
    """changing logits and labels at padded positions does not change the loss"""
    logits, labels, mask = fixed_loss_case()
    noisy_logits, flipped = logits.clone(), labels.clone()
    noisy_logits[1, 3:] = torch.tensor([-20.0, 30.0, 5.0])
    flipped[1, 3:] = 1 - flipped[1, 3:]
    inputs = _("batch=2, seq=6; 3 padded in row 1; logits and labels changed at the padded "
               "positions")  # fmt: skip
    before = learner.replaced_token_detection_loss(logits, labels, mask)
    after = learner.replaced_token_detection_loss(noisy_logits, flipped, mask)
    before = expect_tensor(before, name="loss", shape=(), inputs=inputs)
    after = expect_tensor(after, name="loss", shape=(), inputs=inputs)
    if abs(float(after) - float(before)) > 1e-6:
        fail(_("the loss moved from {before:.4g} to {after:.4g} when only padded positions "
               "changed: drop the positions where attention_mask is 0 before averaging").format(
            before=float(before), after=float(after)),
             inputs=inputs, diagnosis="electra_loss_over_padding")  # fmt: skip


def test_confident_right_answers_cost_nothing(learner):
    """logits of +-30 that agree with the labels give a loss near 0 (no second sigmoid)"""
    labels = torch.tensor([[1, 0, 0, 1, 0]])
    logits = (labels.float() * 2 - 1) * 30.0
    got = learner.replaced_token_detection_loss(logits, labels, None)
    inputs = _("batch=1, seq=5; no attention_mask; logits +30 where replaced, -30 where original")
    got = expect_tensor(got, name="loss", shape=(), inputs=inputs)
    if float(got) > 1e-6:
        twice = F.binary_cross_entropy_with_logits(torch.sigmoid(logits), labels.float())
        fail(
            _("the loss is {got:.4g} although every prediction is right and confident: "
              "binary_cross_entropy_with_logits applies the sigmoid itself, so pass it the raw "
              "logits").format(got=float(got)),
            inputs=inputs,
            diagnosis="electra_sigmoid_twice" if abs(float(got) - float(twice)) < 1e-4 else None,
        )


# --- the whole discriminator ------------------------------------------------------------------


def build(learner, config, seed):
    reference = randomize_parameters_(ref.ElectraForPreTraining(config), seed).eval()
    mine = learner.ElectraForPreTraining(config)
    load_weights(mine, reference.state_dict(), name="ElectraForPreTraining")
    return mine.eval(), reference


@st.composite
def model_cases(draw):
    heads = draw(st.integers(1, 3))
    hidden = heads * draw(st.integers(-(-4 // heads), 4))
    embedding = draw(st.sampled_from([hidden, 4, 6]))
    config = small_config(embedding_size=embedding, hidden_size=hidden, num_attention_heads=heads,
                          num_hidden_layers=draw(st.integers(1, 2)),
                          intermediate_size=draw(st.integers(1, 2 * hidden)))  # fmt: skip
    # hidden_act stays "gelu": the body is your e07 BertLayer, which uses your erf GELU.
    case = draw(token_batches(config, masked=None, token_types=None))
    seed = draw(seeds)
    labels = torch.randint(0, 2, case.input_ids.shape, generator=make_generator(seed + 7))
    return config, seed, case, labels


def fixed_model_case():
    config = small_config()
    ids = torch.randint(1, config.vocab_size, (2, 6), generator=make_generator(4))
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]])
    labels = torch.tensor([[0, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 1]])
    return config, 5, TokenBatch(ids.masked_fill(mask == 0, 0), mask, None), labels


def compare_model(learner, config, seed, case: TokenBatch, labels) -> None:
    mine, reference = build(learner, config, seed)
    inputs = _("{dims}; {case}; labels given").format(dims=describe(config), case=case.describe())
    no_labels_inputs = _("{dims}; {case}; no labels").format(dims=describe(config),
                                                            case=case.describe())  # fmt: skip
    with torch.no_grad():
        result = mine(case.input_ids, case.attention_mask, case.token_type_ids, labels)
        want = reference(case.input_ids, case.attention_mask, case.token_type_ids, labels)
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(_("return a pair (loss, logits), got {kind}").format(kind=type(result).__name__),
             inputs=inputs)  # fmt: skip
    loss, logits = result
    real = None if case.attention_mask is None else case.attention_mask.bool()
    expect_close(logits, want.logits, name="logits", inputs=inputs, atol=ATOL, rtol=RTOL,
                 where=real)  # fmt: skip
    expect_tensor(loss, name="loss", shape=(), inputs=inputs,
                  shape_names="(): a scalar")  # fmt: skip
    mistakes = wrong_losses(want.logits, labels, case.attention_mask) if final_example() else None
    expect_close(loss, want.loss, name="loss", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip
    with torch.no_grad():
        no_labels = mine(case.input_ids, case.attention_mask, case.token_type_ids)
    if not isinstance(no_labels, tuple | list) or len(no_labels) != 2 or no_labels[0] is not None:
        fail(
            _("without labels, return (None, logits)"),
            inputs=no_labels_inputs,
        )


def test_discriminator_loads_and_matches_on_a_padded_batch(learner):
    """ElectraForPreTraining loads the reference's weights; (loss, logits) match it (fixed input)"""
    compare_model(learner, *fixed_model_case())


@given(case=model_cases())
def test_discriminator_matches_the_reference(learner, case):
    """ElectraForPreTraining matches the reference on small random configs (E = H and E != H)"""
    compare_model(learner, *case)


def test_confident_wrong_answers_cost_their_logit(learner):
    """logits of +40 on original tokens cost 40 each: the loss takes logits, not probabilities"""
    labels = torch.tensor([[0, 0, 1, 1]])
    logits = torch.tensor([[40.0, 40.0, 40.0, 40.0]])  # wrong on the two originals
    inputs = _("batch=1, seq=4; no attention_mask; logits +40 everywhere, labels [0, 0, 1, 1]")
    got = learner.replaced_token_detection_loss(logits, labels, None)
    got = expect_tensor(got, name="loss", shape=(), inputs=inputs)
    want = F.binary_cross_entropy_with_logits(logits, labels.float())  # (40 + 40 + 0 + 0) / 4
    probabilities = F.binary_cross_entropy(torch.sigmoid(logits), labels.float())
    if abs(float(got) - float(want)) > 1e-4 * float(want):
        fail(_("the loss is {got:.4g}, not {want:.4g}: sigmoid(40) is exactly 1.0 in float32, so "
               "BCE on probabilities takes log(0) and clamps it at -100. Pass the logits to "
               "F.binary_cross_entropy_with_logits, which never forms the "
               "probability").format(got=float(got), want=float(want)),
             inputs=inputs,
             diagnosis="electra_bce_on_probabilities"
             if abs(float(got) - float(probabilities)) < 1e-3 else None)  # fmt: skip


def test_gradients_reach_the_head_and_the_logits(learner):
    """the head's logits and the loss stay in the autograd graph"""
    config = small_config()
    mine, _unused = build_head(learner, config, 3)
    hidden = randn((2, 5, 12), 4).requires_grad_()
    inputs = _("hidden=12; batch=2, seq=5; hidden states and logits require gradients")
    logits = expect_tensor(mine(hidden), name="logits", shape=(2, 5), inputs=inputs)
    if not logits.requires_grad:
        fail(_("the head's logits are detached: no torch.no_grad(), .detach(), .item() or numpy "
               "in forward, or the discriminator cannot be trained"), inputs=inputs)  # fmt: skip
    leaf = logits.detach().clone().requires_grad_()
    loss = learner.replaced_token_detection_loss(leaf, torch.tensor([[0, 1, 0, 0, 1]] * 2),
                                                 torch.tensor([[1] * 5, [1, 1, 1, 0, 0]]))
    loss = expect_tensor(loss, name="loss", shape=(), inputs=inputs)
    if not loss.requires_grad:
        fail(_("the loss is detached from the logits (.item(), float() or torch.tensor(...) of a "
               "number): backward() cannot train anything with it"), inputs=inputs)  # fmt: skip
    loss.backward()
    if leaf.grad is None or not bool(leaf.grad[0].abs().sum() > 0):
        fail(_("no gradient reaches the logits through the loss"), inputs=inputs)
