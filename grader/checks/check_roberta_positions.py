"""Checks for exercise roberta_positions (exercises/e29_roberta_positions.py).

Position ids are integers, so they must equal the reference's
(``reference/variants/roberta.py``, proven equal to transformers' ``RobertaEmbeddings``)
exactly, on right-, left- and scattered padding; then the embeddings, with the reference's
weights loaded; then what the rule is for: a sentence gets the same positions however it is
padded.
"""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import final_example, make_generator, randomize_parameters_, seeds
from grader.i18n import _
from reference import BertConfig
from reference.variants import roberta as ref

MODULE = "e29_roberta_positions"
ATOL, RTOL = 1e-5, 1e-5


# --- inputs -----------------------------------------------------------------------------------


def ids_with_padding(real: torch.Tensor, padding_idx: int, vocab: int, seed: int) -> torch.Tensor:
    """Token ids (batch, seq): random ids other than padding_idx where ``real`` is 1, the
    padding id elsewhere."""
    ids = torch.randint(0, vocab - 1, real.shape, generator=make_generator(seed))
    ids = ids + (ids >= padding_idx).long()  # skip padding_idx itself
    return ids.masked_fill(real == 0, padding_idx)


@st.composite
def real_masks(draw, batch: int, seq: int) -> torch.Tensor:
    """(batch, seq) 1 = real token: right-, left-, scattered or no padding, rows may be empty."""
    style = draw(st.sampled_from(["right", "left", "scattered", "none"]))
    if style == "none":
        return torch.ones(batch, seq, dtype=torch.long)
    if style == "scattered":
        bits = torch.tensor([draw(st.integers(0, 2**seq - 1)) for _ in range(batch)])
        return (bits[:, None] >> torch.arange(seq)[None, :]) & 1
    lengths = torch.tensor([draw(st.integers(0, seq)) for _ in range(batch)])
    right = (torch.arange(seq)[None, :] < lengths[:, None]).long()
    return right if style == "right" else right.flip(-1)


@st.composite
def id_cases(draw):
    """(input_ids, padding_idx)."""
    padding_idx = draw(st.sampled_from([1, 0, 2, 5]))
    batch, seq = draw(st.integers(1, 3)), draw(st.integers(1, 9))
    real = draw(real_masks(batch, seq))
    return ids_with_padding(real, padding_idx, padding_idx + 8, draw(seeds)), padding_idx


@st.composite
def embedding_cases(draw):
    """(config, seed, input_ids, token_type_ids or None)."""
    input_ids, padding_idx = draw(id_cases())
    batch, seq = input_ids.shape
    heads_free_hidden = draw(st.integers(4, 16))
    config = BertConfig(
        vocab_size=padding_idx + 8,
        hidden_size=heads_free_hidden,
        num_attention_heads=1,
        max_position_embeddings=padding_idx + seq + 1 + draw(st.integers(0, 3)),
        type_vocab_size=draw(st.integers(1, 2)),
        layer_norm_eps=draw(st.sampled_from([1e-12, 1e-5])),
        pad_token_id=padding_idx,
        hidden_dropout_prob=0.1,
    )
    seed = draw(seeds)
    types = None
    if draw(st.booleans()):
        types = torch.randint(0, config.type_vocab_size, (batch, seq),
                              generator=make_generator(seed + 1))  # fmt: skip
    return config, seed, input_ids, types


def describe_ids(input_ids: torch.Tensor, padding_idx: int) -> str:
    rows = input_ids.tolist()
    shown = "; ".join(
        "[" + ", ".join("pad" if t == padding_idx else str(t) for t in row) + "]" for row in rows
    )
    return f"padding_idx={padding_idx}; input_ids {shown}"


def fixed_ids(padding_idx: int = 1) -> torch.Tensor:
    """Right padding, left padding and none, as in the module docstring (pad = padding_idx)."""
    real = torch.tensor([[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    return ids_with_padding(real, padding_idx, padding_idx + 8, 3)


# --- how the known mistakes compute -----------------------------------------------------------


def wrong_position_ids(input_ids: torch.Tensor, padding_idx: int) -> Variants:
    is_real = input_ids.ne(padding_idx).long()
    counts = torch.cumsum(is_real, dim=1)
    arange = torch.arange(input_ids.shape[1]).expand_as(input_ids)
    mistakes = Variants(
        [
            ("roberta_positions_from_zero", lambda: arange),
            ("roberta_positions_count_padding", lambda: arange + padding_idx + 1),
            ("roberta_positions_count_padding",  # pads on padding_idx, but arange for the text
             lambda: torch.where(is_real.bool(), arange + padding_idx + 1, padding_idx)),
            ("roberta_cumsum_without_mask", lambda: counts + padding_idx),
            ("roberta_positions_offset_missing", lambda: counts * is_real),
        ]
    )
    if padding_idx != 1:  # RoBERTa's own pad id 1 written in, instead of the argument
        one = input_ids.ne(1).long()
        mistakes.append(("roberta_padding_idx_hardcoded",
                         lambda: ref.create_position_ids_from_input_ids(input_ids, 1)))
        mistakes.append(("roberta_padding_idx_hardcoded",
                         lambda: torch.cumsum(one, dim=1) * one + padding_idx))
    return mistakes


def embed(reference, input_ids, types, position_ids) -> torch.Tensor:
    """The reference embeddings' weights with the given position ids (eval mode)."""
    types = torch.zeros_like(input_ids) if types is None else types
    summed = (reference.word_embeddings(input_ids) + reference.token_type_embeddings(types)
              + reference.position_embeddings(position_ids))  # fmt: skip
    return reference.LayerNorm(summed)


def wrong_embeddings(reference, input_ids, types) -> Variants:
    size = reference.position_embeddings.num_embeddings

    def model(make_positions):
        def run():
            positions = make_positions()
            if int(positions.max()) >= size:
                raise IndexError  # this mistake cannot run here: says nothing
            with torch.no_grad():
                return embed(reference, input_ids, types, positions)

        return run

    return Variants((m, model(f)) for m, f in wrong_position_ids(input_ids, reference.padding_idx))


# --- position ids -----------------------------------------------------------------------------


def learner_position_ids(learner, input_ids, padding_idx, inputs) -> torch.Tensor:
    argument = input_ids.clone()
    got = learner.create_position_ids_from_input_ids(argument, padding_idx)
    if not torch.equal(argument, input_ids):
        fail(_("create_position_ids_from_input_ids changed input_ids in place (e.g. ne_ or "
               "masked_fill_): the caller still needs the token ids; compute into new "
               "tensors"), inputs=inputs)  # fmt: skip
    got = expect_tensor(got, name="position_ids", shape=tuple(input_ids.shape), inputs=inputs,
                        shape_names="(batch, seq)")  # fmt: skip
    if got.dtype != torch.long:
        fail(_("position_ids should be int64 (torch.long) to index nn.Embedding, got "
               "{dtype}").format(dtype=got.dtype),
             inputs=inputs)  # fmt: skip
    return got


def compare_position_ids(learner, input_ids, padding_idx) -> None:
    inputs = describe_ids(input_ids, padding_idx)
    got = learner_position_ids(learner, input_ids, padding_idx, inputs)
    want = ref.create_position_ids_from_input_ids(input_ids, padding_idx)
    mistakes = wrong_position_ids(input_ids, padding_idx) if final_example() else None
    expect_close(got, want, name="position_ids", inputs=inputs, atol=0, rtol=0,
                 mistakes=mistakes)  # fmt: skip


def test_position_ids_on_right_and_left_padding(learner):
    """position ids of [text, pad], [pad, text] and [text] with padding_idx = 1 (fixed input)"""
    compare_position_ids(learner, fixed_ids(1), 1)


def middle_padded_ids(padding_idx: int) -> torch.Tensor:
    """Padding inside the text too: [a, pad, b, c, pad, d], [pad, a, pad, pad, b, pad]."""
    real = torch.tensor([[1, 0, 1, 1, 0, 1], [0, 1, 0, 0, 1, 0]])
    return ids_with_padding(real, padding_idx, padding_idx + 8, 4)


@given(case=id_cases())
@example(case=(fixed_ids(0), 0))
@example(case=(middle_padded_ids(2), 2))
def test_position_ids_match_the_reference(learner, case):
    """position ids equal the reference's for any padding_idx and any padding layout"""
    compare_position_ids(learner, *case)


def test_padding_gets_padding_idx(learner):
    """every padding token gets position padding_idx (the table's zero padding row)"""
    input_ids = fixed_ids(2)
    inputs = describe_ids(input_ids, 2)
    got = learner_position_ids(learner, input_ids, 2, inputs)
    pads = input_ids == 2
    if bool((got[pads] != 2).any()):
        wrong = got[pads][got[pads] != 2].tolist()
        counts = torch.cumsum((~pads).long(), 1) + 2
        diagnosis = "roberta_cumsum_without_mask" if torch.equal(got, counts) else None
        fail(_("padding tokens got positions {wrong}, not padding_idx = 2: multiply the running "
               "count by the is-real mask before adding padding_idx").format(wrong=wrong),
             inputs=inputs, diagnosis=diagnosis)  # fmt: skip


def test_a_sentence_gets_the_same_positions_however_padded(learner):
    """a sentence's real tokens get the same positions alone, right-padded and left-padded"""
    sentence = ids_with_padding(torch.ones(1, 4, dtype=torch.long), 1, 9, 5)
    pad = torch.ones(1, 3, dtype=torch.long)
    variants = {"alone": sentence, "right-padded": torch.cat([sentence, pad], 1),
                "left-padded": torch.cat([pad, sentence], 1)}  # fmt: skip
    shown = {"alone": _("alone"), "right-padded": _("right-padded"),
             "left-padded": _("left-padded")}  # fmt: skip
    alone = learner_position_ids(learner, sentence, 1, describe_ids(sentence, 1))
    for name, ids in variants.items():
        got = learner_position_ids(learner, ids, 1, describe_ids(ids, 1))
        real = got[ids != 1].reshape(1, -1)
        if not torch.equal(real, alone):
            fail(
                _("the sentence's tokens got positions {got} {name}, but {alone} alone: count "
                  "real tokens only, so padding never shifts them").format(
                    got=real.tolist()[0], name=shown[name], alone=alone.tolist()[0]
                ),
                inputs=describe_ids(ids, 1),
                diagnosis=(
                    "roberta_positions_count_padding"
                    if torch.equal(got, torch.arange(ids.shape[1])[None] + 2)
                    else "roberta_positions_from_zero"
                    if torch.equal(got, torch.arange(ids.shape[1])[None])
                    else None
                ),
            )


# --- embeddings -------------------------------------------------------------------------------


def build(learner, config: BertConfig, seed: int):
    reference = randomize_parameters_(ref.RobertaEmbeddings(config), seed).eval()
    mine = learner.RobertaEmbeddings(config)
    load_weights(mine, reference.state_dict(), name="RobertaEmbeddings")
    return mine.eval(), reference


def compare_embeddings(learner, config, seed, input_ids, types) -> None:
    mine, reference = build(learner, config, seed)
    batch, seq = input_ids.shape
    given_types = _("token_type_ids given") if types is not None else "token_type_ids None"
    inputs = (f"hidden={config.hidden_size}, max_position_embeddings="
              f"{config.max_position_embeddings}; {describe_ids(input_ids, config.pad_token_id)}"
              f"; {given_types}")  # fmt: skip
    argument = input_ids.clone()
    try:
        with torch.no_grad():
            got = mine(argument, types)
    except IndexError as err:
        hardcoded = ref.create_position_ids_from_input_ids(input_ids, 1)
        size = config.max_position_embeddings
        fail(_("indexing an embedding table failed ({err}): a position id is outside "
               "0 .. max_position_embeddings - 1").format(err=err), inputs=inputs,
             diagnosis="roberta_padding_idx_hardcoded"
             if config.pad_token_id != 1 and int(hardcoded.max()) >= size else None)  # fmt: skip
    if not torch.equal(argument, input_ids):
        fail(_("RobertaEmbeddings changed input_ids in place: the caller still needs the token "
               "ids; compute into new tensors"), inputs=inputs)  # fmt: skip
    with torch.no_grad():
        want = reference(input_ids, types)
    expect_tensor(got, name="embeddings", shape=(batch, seq, config.hidden_size), inputs=inputs,
                  shape_names="(batch, seq, hidden)")  # fmt: skip
    mistakes = wrong_embeddings(reference, input_ids, types) if final_example() else None
    expect_close(got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


def fixed_embedding_case():
    config = BertConfig(vocab_size=9, hidden_size=8, num_attention_heads=1,
                        max_position_embeddings=8, type_vocab_size=1, pad_token_id=1)  # fmt: skip
    return config, 7, fixed_ids(1), None


def test_embeddings_load_reference_weights_and_return_batch_seq_hidden(learner):
    """RobertaEmbeddings loads the reference's state dict and returns (batch, seq, hidden) floats"""
    config, seed, input_ids, _ = fixed_embedding_case()
    mine, _ = build(learner, config, seed)
    with torch.no_grad():
        got = mine(input_ids)
    expect_tensor(got, name="embeddings", shape=(3, 6, 8), dtype=torch.float32,
                  inputs=describe_ids(input_ids, 1),
                  shape_names="(batch, seq, hidden)")  # fmt: skip


@given(case=embedding_cases())
@example(case=fixed_embedding_case())
def test_embeddings_match_the_reference(learner, case):
    """embeddings equal the reference RobertaEmbeddings' (same weights, eval mode), pads included"""
    compare_embeddings(learner, *case)


def test_train_mode_dropout_matches_the_reference(learner):
    """in train mode dropout falls on the LayerNorm's output, with the reference's masks"""
    config, seed, input_ids, _unused = fixed_embedding_case()
    config = BertConfig(**{**config.__dict__, "hidden_dropout_prob": 0.3})
    mine, reference = build(learner, config, seed)
    mine.train()
    reference.train()
    inputs = _("{ids}; hidden_dropout_prob=0.3; train mode, torch.manual_seed(5)").format(
        ids=describe_ids(input_ids, 1)
    )
    with torch.no_grad():
        torch.manual_seed(5)
        got = mine(input_ids)
        torch.manual_seed(5)
        want = reference(input_ids)
    got = expect_tensor(got, name="embeddings", shape=(3, 6, 8), inputs=inputs)
    expect_close(got, want, name="embeddings (train mode)", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_gradients_reach_the_embedding_tables(learner):
    """the output stays in the autograd graph: gradients reach the word and position tables"""
    config, seed, input_ids, _unused = fixed_embedding_case()
    mine, _unused = build(learner, config, seed)
    inputs = describe_ids(input_ids, 1)
    out = expect_tensor(mine(input_ids), name="embeddings", shape=(3, 6, 8), inputs=inputs)
    if not out.requires_grad:
        fail(_("the embeddings are detached: no torch.no_grad(), .detach(), .item() or numpy in "
               "forward, or the tables cannot be trained"), inputs=inputs)  # fmt: skip
    out.sum().backward()
    for name in ("word_embeddings", "position_embeddings"):
        grad = getattr(mine, name).weight.grad
        if grad is None or not bool(grad.abs().sum() > 0):
            fail(_("no gradient reaches {name}.weight: look its rows up with the "
                   "module (self.{name}(ids))").format(name=name), inputs=inputs)  # fmt: skip
