"""reference/variants (Part II) checked by the properties that define each piece.

These need no transformers class: the distillation loss (no library class exists), the
pre-LN / post-LN gradient behaviour of Xiong et al. 2020, and invariants (causality, RoPE's
relative positions, the sliding window's reach, ALiBi's two forms) that hold whatever the weights.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import record_max_diff
from torch import nn

from reference import BertConfig
from reference import variants as V

TOLERANCE = 1e-5


def close(name: str, got: torch.Tensor, want: torch.Tensor, tol: float = TOLERANCE) -> None:
    largest = (got - want).abs().max().item()
    record_max_diff(f"variants (property): {name}", largest)
    assert largest < tol, f"{name}: max |difference| {largest:.2e}"


# --- causal attention and the KV cache ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_decoder_is_causal_future_tokens_change_nothing_before_them(seed):
    torch.manual_seed(seed)
    model = V.DecoderModel(
        V.DecoderConfig(vocab_size=30, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32)
    ).eval()  # fmt: skip
    ids = torch.randint(0, 30, (2, 10))
    changed = ids.clone()
    changed[:, 6:] = torch.randint(0, 30, (2, 4))
    with torch.no_grad():
        a, b = model(ids).last_hidden_state, model(changed).last_hidden_state
    close("decoder: prefix unchanged when the future changes", a[:, :6], b[:, :6], 0.0 + 1e-7)


def test_causal_mask_with_a_cache_lets_the_new_token_see_everything():
    mask = V.causal_padding_mask(torch.tensor([[0, 1, 1, 1, 1]]), q_len=1)
    assert mask.shape == (1, 1, 1, 5)
    assert mask[0, 0, 0, 0] == torch.finfo(torch.float32).min and (mask[0, 0, 0, 1:] == 0).all()
    full = V.causal_mask(4)[0, 0]
    assert torch.equal(full == 0, torch.ones(4, 4, dtype=torch.bool).tril())


# --- RoPE --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_rope_scores_depend_only_on_relative_position(seed):
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(1, 1, 1, 16, generator=gen), torch.randn(1, 1, 1, 16, generator=gen)
    rope = V.RotaryEmbedding(16, 10_000.0, 256)

    def score(m: int, n: int) -> torch.Tensor:
        cos_m, sin_m = rope(torch.tensor([[m]]))
        cos_n, sin_n = rope(torch.tensor([[n]]))
        qm, _ = V.apply_rotary_pos_emb(q, q, cos_m, sin_m)
        _, kn = V.apply_rotary_pos_emb(k, k, cos_n, sin_n)
        return (qm * kn).sum()

    for m, n, shift in [(3, 1, 50), (10, 17, 100), (0, 0, 200)]:
        close("RoPE: q_m·k_n == q_(m+s)·k_(n+s)", score(m, n), score(m + shift, n + shift), 1e-4)
    assert (score(5, 1) - score(1, 5)).abs() > 1e-3  # but it does see the direction


def test_rope_rotation_keeps_norms_and_position_zero_is_identity():
    x = torch.randn(2, 3, 7, 8)
    cos, sin = V.RotaryEmbedding(8)(torch.arange(7)[None].expand(2, -1))
    rotated, _ = V.apply_rotary_pos_emb(x, x, cos, sin)
    close("RoPE preserves norms", rotated.norm(dim=-1), x.norm(dim=-1))
    close("RoPE at position 0 is the identity", rotated[:, :, 0], x[:, :, 0], 0.0 + 1e-7)


# --- RMSNorm -------------------------------------------------------------------------------


def test_rms_norm_is_scale_invariant_and_not_mean_centred():
    norm = V.RMSNorm(32, eps=1e-6)
    x = torch.randn(4, 32) + 3.0
    close("RMSNorm(c·x) == RMSNorm(x)", norm(7.5 * x), norm(x))
    assert norm(x).mean(-1).abs().min() > 0.5  # a LayerNorm would have mean 0 here
    close("RMSNorm output has unit RMS", norm(x).pow(2).mean(-1), torch.ones(4), 1e-4)
    tiny = torch.full((1, 32), 1e-4)  # eps inside the root: rsqrt(1e-8 + eps), not 1/(rms + eps)
    close("RMSNorm eps inside the sqrt", norm(tiny), tiny / math.sqrt(1e-8 + 1e-6))


# --- pre-LN vs post-LN (Xiong et al. 2020) --------------------------------------------------


def mean_gradient_norms(layers: int, norm_first: bool, seeds=(0, 1, 2, 3)) -> torch.Tensor:
    """Per-layer ‖∂loss/∂W_ffn_out‖ at initialisation, averaged over a few random draws."""
    config = BertConfig(hidden_size=32, num_attention_heads=4, intermediate_size=128,
                        num_hidden_layers=layers, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)  # fmt: skip
    total = torch.zeros(layers)
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        x, y = torch.randn(4, 16, 32, generator=gen), torch.randn(4, 16, 32, generator=gen)
        encoder = V.build_encoder(config, norm_first, seed)
        total += torch.tensor(V.layer_gradient_norms(encoder, x, y))
    return total / len(seeds)


@pytest.fixture(scope="module")
def gradient_norms():
    return {
        (layers, norm_first): mean_gradient_norms(layers, norm_first)
        for layers in (2, 16)
        for norm_first in (False, True)
    }


def test_top_layer_gradient_shrinks_with_depth_in_pre_ln_but_not_in_post_ln(gradient_norms):
    """Xiong et al. Thm. 1: last-layer gradient O(d√ln d) for post-LN whatever L, but
    O(d√(ln d / L)) for pre-LN."""
    post = gradient_norms[(16, False)][-1] / gradient_norms[(2, False)][-1]
    pre = gradient_norms[(16, True)][-1] / gradient_norms[(2, True)][-1]
    assert 0.7 < post < 1.4, f"post-LN top-layer gradient should not depend on depth ({post:.2f})"
    expected = math.sqrt(2 / 16)  # the 1/√L of the theorem
    assert 0.5 * expected < pre < 1.5 * expected, f"pre-LN: {pre:.2f}, 1/√L predicts {expected:.2f}"


def test_post_ln_gradients_lean_toward_the_top_more_than_pre_ln(gradient_norms):
    for layers in (2, 16):
        post, pre = gradient_norms[(layers, False)], gradient_norms[(layers, True)]
        assert post[-1] > pre[-1], "near the output post-LN gradients are the larger ones"
        assert post[-1] / post[0] > pre[-1] / pre[0], "post-LN's profile tilts to the top"


def test_pre_ln_final_norm_normalises_the_growing_residual_stream():
    config = BertConfig(hidden_size=32, num_attention_heads=4, intermediate_size=64,
                        num_hidden_layers=8)  # fmt: skip
    encoder = V.build_encoder(config, norm_first=True, seed=0).eval()
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        out = encoder(x, None)
        stream = x
        for layer in encoder.layer:
            stream = layer(stream, None)
    assert stream.std() > 1.5 * x.std()  # the un-normalised residual stream grew
    close(
        "pre-LN output has LayerNorm statistics",
        out.std(-1, unbiased=False),
        torch.ones(2, 5),
        1e-3,
    )


# --- ModernBERT's local attention --------------------------------------------------------------


def test_local_layer_ignores_tokens_outside_the_window_and_global_layer_does_not():
    config = V.ModernBertConfig(vocab_size=20, hidden_size=16, intermediate_size=24,
                                num_hidden_layers=2, num_attention_heads=2, local_attention=4,
                                global_attn_every_n_layers=2, max_position_embeddings=32,
                                pad_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    model = V.ModernBertModel(config).eval()
    x = torch.randn(1, 12, 16)
    far = x.clone()
    far[:, 9] += 5.0  # token 9 is 9 away from token 0; the half-window is 2
    mask = torch.ones(1, 12, dtype=torch.long)
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            is_global = config.is_global(i)
            attn_mask = V.padding_mask(mask) if is_global else V.sliding_window_mask(mask, 2)
            rotary = model.global_rotary if is_global else model.local_rotary
            rope = rotary(torch.arange(12)[None])
            moved = (layer(x, attn_mask, rope) - layer(far, attn_mask, rope))[0, :7].abs().max()
            assert (moved > 1e-4) if is_global else (moved == 0), (i, moved)
    allowed = V.sliding_window_mask(mask, 2)[0, 0] == 0
    assert allowed.sum(-1).tolist() == [3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 4, 3]  # 2 each side + self


# --- ALBERT --------------------------------------------------------------------------------


def test_albert_factorised_embedding_parameter_count():
    config = V.AlbertConfig(vocab_size=1000, embedding_size=16, hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=4, intermediate_size=128)  # fmt: skip
    model = V.AlbertModel(config)
    table = model.embeddings.word_embeddings.weight.numel()
    projection = sum(p.numel() for p in model.encoder.embedding_hidden_mapping_in.parameters())
    assert table + projection == 1000 * 16 + 16 * 64 + 64  # V·E + E·H (+ bias), not V·H
    assert table + projection < 1000 * 64


# --- distillation --------------------------------------------------------------------------


def distiller_step_losses(s_logits, t_logits, labels, mask, s_hidden, t_hidden, temperature):
    """transformers' research_projects/distillation Distiller.step, with torch.nn losses."""
    sel = mask.unsqueeze(-1).expand_as(s_logits).bool()
    s_slct = torch.masked_select(s_logits, sel).view(-1, s_logits.size(-1))
    t_slct = torch.masked_select(t_logits, sel).view(-1, s_logits.size(-1))
    loss_ce = (
        nn.KLDivLoss(reduction="batchmean")(
            F.log_softmax(s_slct / temperature, dim=-1), F.softmax(t_slct / temperature, dim=-1)
        )
        * temperature**2
    )
    loss_mlm = nn.CrossEntropyLoss(ignore_index=-100)(
        s_logits.view(-1, s_logits.size(-1)), labels.view(-1)
    )
    hmask = mask.unsqueeze(-1).expand_as(s_hidden).bool()
    s_h = torch.masked_select(s_hidden, hmask).view(-1, s_hidden.size(-1))
    t_h = torch.masked_select(t_hidden, hmask).view(-1, s_hidden.size(-1))
    loss_cos = nn.CosineEmbeddingLoss(reduction="mean")(s_h, t_h, s_h.new_ones(s_h.size(0)))
    return loss_ce, loss_mlm, loss_cos


def distillation_batch(seed: int, batch=3, seq=7, vocab=11, dim=6):
    gen = torch.Generator().manual_seed(seed)
    s_logits = torch.randn(batch, seq, vocab, generator=gen) * 2
    t_logits = torch.randn(batch, seq, vocab, generator=gen) * 2
    mask = (torch.arange(seq)[None] < torch.tensor([seq, 4, 2])[:, None]).long()
    labels = torch.randint(0, vocab, (batch, seq), generator=gen)
    chosen = (torch.rand(batch, seq, generator=gen) < 0.4) & mask.bool()
    chosen[:, 0] = True
    labels = labels.masked_fill(~chosen, -100)
    s_hidden, t_hidden = (torch.randn(batch, seq, dim, generator=gen) for _ in range(2))
    return s_logits, t_logits, labels, mask, s_hidden, t_hidden


@pytest.mark.parametrize("seed,temperature", [(0, 2.0), (1, 1.0), (2, 4.5)])
def test_distillation_loss_equals_the_distiller_with_torch_losses(seed, temperature):
    s_logits, t_logits, labels, mask, s_hidden, t_hidden = distillation_batch(seed)
    alphas = dict(alpha_ce=5.0, alpha_mlm=2.0, alpha_cos=1.0)
    got = V.distillation_loss(
        s_logits, t_logits, labels, mask, s_hidden, t_hidden, temperature=temperature, **alphas
    )
    ce, mlm, cos = distiller_step_losses(
        s_logits, t_logits, labels, mask, s_hidden, t_hidden, temperature
    )
    close("distillation L_ce vs KLDivLoss(batchmean)·T²", got.loss_ce, ce)
    close("distillation L_mlm vs CrossEntropyLoss", got.loss_mlm, mlm)
    close("distillation L_cos vs CosineEmbeddingLoss", got.loss_cos, cos)
    close("distillation total = 5·ce + 2·mlm + 1·cos", got.loss, 5 * ce + 2 * mlm + cos)


def test_distillation_restrict_ce_to_mask_uses_only_the_mlm_positions():
    s_logits, t_logits, labels, mask, s_hidden, t_hidden = distillation_batch(3)
    got = V.distillation_loss(s_logits, t_logits, labels, mask, s_hidden, t_hidden,
                              restrict_ce_to_mask=True)  # fmt: skip
    chosen = labels != -100
    want = F.kl_div(F.log_softmax(s_logits[chosen] / 2, -1), F.softmax(t_logits[chosen] / 2, -1),
                    reduction="batchmean") * 4  # fmt: skip
    close("distillation L_ce over MLM positions only", got.loss_ce, want)


def test_soft_target_loss_is_zero_for_a_perfect_student_and_positive_otherwise():
    s_logits, t_logits, *_ = distillation_batch(4)
    s, t = s_logits.flatten(0, 1), t_logits.flatten(0, 1)
    assert V.soft_target_loss(t, t, 3.0).abs() < 1e-6
    assert V.soft_target_loss(t + 5.0, t, 3.0).abs() < 1e-6  # a shift of all logits is no change
    assert V.soft_target_loss(s, t, 3.0) > 0


def test_t_squared_keeps_soft_target_gradients_the_same_size_across_temperatures():
    """Hinton et al. §2: ∂L/∂z ≈ (z_s - z_t) / (N·T²) for large T; the T² factor cancels it."""
    s_logits, t_logits, *_ = distillation_batch(5)
    s, t = s_logits.flatten(0, 1), t_logits.flatten(0, 1)
    s, t = s - s.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)  # the approximation's premise

    def grad_norm(temperature: float, squared: bool) -> float:
        z = s.clone().requires_grad_(True)
        loss = V.soft_target_loss(z, t, temperature)
        (loss if squared else loss / temperature**2).backward()
        return z.grad.norm().item()

    with_t2 = grad_norm(20.0, True) / grad_norm(10.0, True)
    without = grad_norm(20.0, False) / grad_norm(10.0, False)
    assert 0.95 < with_t2 < 1.05, with_t2
    assert 0.2 < without < 0.3, without  # ~1/4 without the T² factor


# --- ALiBi ---------------------------------------------------------------------------------


@pytest.mark.parametrize("heads", [4, 6])
def test_alibi_per_key_and_relative_forms_give_the_same_causal_attention(heads):
    gen = torch.Generator().manual_seed(heads)
    scores = torch.randn(heads, 9, 9, generator=gen)
    causal = V.causal_mask(9)[0]
    relative = (scores + V.alibi_bias(9, num_heads=heads) + causal).softmax(-1)
    per_key = V.build_alibi_tensor(torch.ones(1, 9, dtype=torch.long), heads, torch.float32)
    bloom_style = (scores + per_key + causal).softmax(-1)
    close("ALiBi: per-key (BLOOM) form == relative form under softmax", bloom_style, relative)
    bias = V.alibi_bias(4, num_heads=heads)
    assert (bias.diagonal(dim1=-2, dim2=-1) == 0).all()  # no penalty for attending to yourself
    assert (bias[:, 3, 0] == -3 * V.alibi_slopes(heads)).all()  # distance 3 costs 3 slopes


def test_alibi_slopes_for_a_non_power_of_two_interleave_the_next_sequence():
    six = V.alibi_slopes(6)
    close("ALiBi 6 heads: the 4-head slopes first", six[:4], V.alibi_slopes(4))
    close(
        "ALiBi 6 heads: then odd powers of the 8-head ratio", six[4:], V.alibi_slopes(8)[0::2][:2]
    )
