"""reference/variants (Part II) equals transformers' own implementations.

Every cross-check builds the transformers module from a config object (random init, nothing
from a hub), randomises all of its parameters, copies them into the reference with
``load_state_dict`` and compares outputs in fp32 on at least two random configurations.
The largest differences are printed at the end of the run (tests/conftest.py).
"""

from __future__ import annotations

import pytest
import torch
import transformers
from conftest import record_max_diff
from transformers import masking_utils
from transformers.models.bloom import modeling_bloom
from transformers.models.gptj import modeling_gptj
from transformers.models.llama import modeling_llama
from transformers.models.modernbert import modeling_modernbert

from reference import BertConfig
from reference import variants as V

TOLERANCE = 1e-5  # fp32


def check(name: str, got: torch.Tensor, want: torch.Tensor, where: torch.Tensor | None = None):
    """Assert max |got - want| < TOLERANCE (only at ``where`` if given) and record it."""
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    diff = got - want if where is None else (got - want)[where.bool()]
    largest = diff.abs().max().item() if diff.numel() else 0.0
    record_max_diff(f"variants: {name}", largest)
    assert largest < TOLERANCE, f"{name}: max |difference| {largest:.2e}"


def randomize_(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Replace every parameter with random values (norm gains around 1) so that no piece of
    the computation hides behind an initial value of 0 or 1."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            is_gain = p.ndim == 1 and "norm" in name.lower() and name.endswith("weight")
            p.copy_(1 + 0.1 * noise if is_gain else 0.1 * noise)
    return module.eval()


def padded(seed: int, batch: int, seq: int, vocab: int, pad_id: int, left: bool = False):
    """Random ids with per-row lengths (>= 1 real token; row 0 full); pads set to ``pad_id``."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq), generator=gen)
    ids = ids.masked_fill(ids == pad_id, (pad_id + 1) % vocab)  # real tokens are never pad
    lengths = torch.randint(1, seq + 1, (batch,), generator=gen)
    lengths[0] = seq
    pos = torch.arange(seq)[None, :]
    mask = (pos >= seq - lengths[:, None]) if left else (pos < lengths[:, None])
    return ids.masked_fill(~mask, pad_id), mask.long()


def load_into(ours: torch.nn.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict(theirs.state_dict())  # strict: every key present on both sides
    ours.eval()


# --- 1. causal attention -------------------------------------------------------------------


CAUSAL_CONFIGS = [
    dict(seed=0, batch=3, seq=7, hidden=16, heads=2, left=False),
    dict(seed=1, batch=4, seq=11, hidden=24, heads=3, left=True),
]


@pytest.mark.parametrize("case", CAUSAL_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_causal_padding_mask_equals_create_causal_mask(case):
    config = transformers.LlamaConfig(
        hidden_size=case["hidden"], num_attention_heads=case["heads"], attn_implementation="eager"
    )
    _, mask = padded(case["seed"], case["batch"], case["seq"], 50, 0, case["left"])
    embeds = torch.zeros(case["batch"], case["seq"], case["hidden"])
    want = masking_utils.create_causal_mask(
        config=config, inputs_embeds=embeds, attention_mask=mask, cache=None
    )
    got = V.causal_padding_mask(mask, dtype=torch.float32)
    assert torch.equal(got, want.expand_as(got))
    record_max_diff("variants: causal+padding mask vs create_causal_mask", 0.0)


@pytest.mark.parametrize("case", CAUSAL_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_causal_attention_equals_gpt2_attention(case):
    """GPT-2 stores q/k/v in one Conv1D (weight (in, out): y = x W + b): transposed copies."""
    hidden = case["hidden"]
    hf_config = transformers.GPT2Config(
        n_embd=hidden, n_head=case["heads"], attn_pdrop=0.0, attn_implementation="eager"
    )
    theirs = randomize_(
        transformers.models.gpt2.modeling_gpt2.GPT2Attention(hf_config, layer_idx=0), case["seed"]
    )
    ours = V.CausalSelfAttention(
        V.DecoderConfig(hidden_size=hidden, num_attention_heads=case["heads"], attention_bias=True)
    ).eval()
    w, b = theirs.c_attn.weight, theirs.c_attn.bias
    with torch.no_grad():
        for i, proj in enumerate((ours.q_proj, ours.k_proj, ours.v_proj)):
            proj.weight.copy_(w[:, i * hidden : (i + 1) * hidden].T)
            proj.bias.copy_(b[i * hidden : (i + 1) * hidden])
        ours.o_proj.weight.copy_(theirs.c_proj.weight.T)
        ours.o_proj.bias.copy_(theirs.c_proj.bias)
    _, mask = padded(case["seed"], case["batch"], case["seq"], 50, 0, case["left"])
    x = torch.randn(case["batch"], case["seq"], hidden, generator=torch.Generator().manual_seed(9))
    hf_mask = masking_utils.create_causal_mask(
        config=hf_config, inputs_embeds=x, attention_mask=mask, cache=None
    )
    with torch.no_grad():
        want = theirs(x, attention_mask=hf_mask)[0]
        got = ours(x, V.causal_padding_mask(mask))
    check("causal attention vs GPT2Attention (real tokens)", got, want, mask)


@pytest.mark.parametrize("case", CAUSAL_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_causal_attention_with_rope_and_gqa_equals_llama_attention(case):
    kw = dict(
        hidden_size=case["hidden"],
        num_attention_heads=case["heads"] * 2,
        num_key_value_heads=case["heads"],
        head_dim=8,
        rope_theta=500.0 + case["seed"],
        max_position_embeddings=64,
    )
    hf_config = transformers.LlamaConfig(
        **{k: v for k, v in kw.items() if k != "rope_theta"},
        rope_parameters={"rope_type": "default", "rope_theta": kw["rope_theta"]},
        attn_implementation="eager",
    )
    theirs = randomize_(modeling_llama.LlamaAttention(hf_config, layer_idx=0), case["seed"])
    ours = V.CausalSelfAttention(V.DecoderConfig(**kw))
    load_into(ours, theirs)
    ids, mask = padded(case["seed"], case["batch"], case["seq"], 50, 0, case["left"])
    x = torch.randn(*ids.shape, case["hidden"], generator=torch.Generator().manual_seed(5))
    position_ids = V.position_ids_from_attention_mask(mask)
    rope = V.RotaryEmbedding(8, kw["rope_theta"], 64)
    hf_rope = modeling_llama.LlamaRotaryEmbedding(hf_config)
    hf_mask = masking_utils.create_causal_mask(
        config=hf_config, inputs_embeds=x, attention_mask=mask, cache=None
    )
    with torch.no_grad():
        want = theirs(x, position_embeddings=hf_rope(x, position_ids), attention_mask=hf_mask)[0]
        got = ours(x, V.causal_padding_mask(mask), rope(position_ids))
    check("causal attention + RoPE + GQA vs LlamaAttention (real tokens)", got, want, mask)


# --- 2. KV cache ---------------------------------------------------------------------------


DECODER_CONFIGS = [
    dict(seed=0, num_attention_heads=4, num_key_value_heads=4, hidden_size=32, layers=2),
    dict(seed=1, num_attention_heads=4, num_key_value_heads=2, hidden_size=24, layers=3),
]


def decoder_pair(case):
    kw = dict(
        vocab_size=64,
        hidden_size=case["hidden_size"],
        intermediate_size=40,
        num_hidden_layers=case["layers"],
        num_attention_heads=case["num_attention_heads"],
        num_key_value_heads=case["num_key_value_heads"],
        max_position_embeddings=64,
        rms_norm_eps=1e-5,
    )
    theirs = randomize_(
        transformers.LlamaModel(transformers.LlamaConfig(**kw, attn_implementation="eager")),
        case["seed"],
    )
    ours = V.DecoderModel(V.DecoderConfig(**kw))
    load_into(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("case", DECODER_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_kv_cache_decoding_equals_full_recomputation_and_llama_with_dynamic_cache(case):
    """Left-padded prompts of different lengths, prefill, then one token at a time."""
    ours, theirs = decoder_pair(case)
    prompt_len, steps, batch = 6, 4, 3
    gen = torch.Generator().manual_seed(case["seed"])
    ids = torch.randint(1, 64, (batch, prompt_len + steps), generator=gen)
    prompt_lengths = torch.tensor([prompt_len, 2, 1 + case["seed"] * 3])  # left-padded prompts
    mask = (
        torch.arange(prompt_len + steps)[None, :] >= prompt_len - prompt_lengths[:, None]
    ).long()
    ids = ids.masked_fill(mask == 0, 0)
    position_ids = V.position_ids_from_attention_mask(mask)

    with torch.no_grad():
        full = ours(ids, mask).last_hidden_state
        hf_full = theirs(ids, attention_mask=mask, position_ids=position_ids).last_hidden_state
        check("decoder full forward vs LlamaModel (real tokens)", full, hf_full, mask)

        cache, hf_cache = V.KVCache(), transformers.DynamicCache(config=theirs.config)
        chunks = [(0, prompt_len)] + [(t, t + 1) for t in range(prompt_len, prompt_len + steps)]
        for start, end in chunks:
            step_ids, step_mask = ids[:, start:end], mask[:, :end]
            got = ours(step_ids, step_mask, cache=cache).last_hidden_state
            want = theirs(
                step_ids,
                attention_mask=step_mask,
                position_ids=position_ids[:, start:end],
                cache=hf_cache,
                use_cache=True,
            ).last_hidden_state
            real = mask[:, start:end]
            check("KV-cache step vs own full recomputation", got, full[:, start:end], real)
            check("KV-cache step vs LlamaModel + DynamicCache", got, want, real)
            for layer in range(case["layers"]):
                head_dim = case["hidden_size"] // case["num_attention_heads"]
                shape = (batch, case["num_key_value_heads"], end, head_dim)  # (b, kv_heads, seq, d)
                assert cache.keys[layer].shape == cache.values[layer].shape == shape
                check(
                    "cached keys (after RoPE) vs DynamicCache",
                    cache.keys[layer],
                    hf_cache.layers[layer].keys,
                )
                check(
                    "cached values vs DynamicCache",
                    cache.values[layer],
                    hf_cache.layers[layer].values,
                )
        assert cache.get_seq_length() == prompt_len + steps


@pytest.mark.parametrize("case", DECODER_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_left_padded_row_decodes_as_if_alone(case):
    ours, _ = decoder_pair(case)
    ids = torch.randint(1, 64, (2, 8), generator=torch.Generator().manual_seed(case["seed"]))
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    ids[1, :3] = 0
    with torch.no_grad():
        batched = ours(ids, mask).last_hidden_state[1, 3:]
        alone = ours(ids[1:, 3:]).last_hidden_state[0]
    check("left-padded row vs the same row unpadded", batched, alone)


# --- 3. RoPE -------------------------------------------------------------------------------


ROPE_CONFIGS = [dict(seed=0, head_dim=8, theta=10_000.0), dict(seed=1, head_dim=16, theta=500.0)]


@pytest.mark.parametrize("case", ROPE_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_rope_equals_llama_rotary_embedding_and_apply_rotary_pos_emb(case):
    d = case["head_dim"]
    config = transformers.LlamaConfig(
        hidden_size=4 * d,
        num_attention_heads=4,
        max_position_embeddings=128,
        rope_parameters={"rope_type": "default", "rope_theta": case["theta"]},
    )
    gen = torch.Generator().manual_seed(case["seed"])
    position_ids = torch.randint(0, 128, (2, 9), generator=gen)  # any positions, any order
    q, k = torch.randn(2, 4, 9, d, generator=gen), torch.randn(2, 2, 9, d, generator=gen)
    want_cos, want_sin = modeling_llama.LlamaRotaryEmbedding(config)(q, position_ids)
    cos, sin = V.RotaryEmbedding(d, case["theta"], 128)(position_ids)
    check("RoPE cos vs LlamaRotaryEmbedding", cos, want_cos)
    check("RoPE sin vs LlamaRotaryEmbedding", sin, want_sin)
    for got, want in zip(
        V.apply_rotary_pos_emb(q, k, cos, sin),
        modeling_llama.apply_rotary_pos_emb(q, k, want_cos, want_sin),
        strict=True,
    ):
        check("apply_rotary_pos_emb vs Llama's", got, want)
    assert torch.equal(V.rotate_half(q), modeling_llama.rotate_half(q))


@pytest.mark.parametrize("case", ROPE_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_rope_equals_modernbert_rotary_for_global_and_local_theta(case):
    d = case["head_dim"]
    config = transformers.ModernBertConfig(
        hidden_size=2 * d,
        num_attention_heads=2,
        max_position_embeddings=64,
        global_rope_theta=case["theta"] * 16,
        local_rope_theta=case["theta"],
        pad_token_id=0,
    )
    hf_rotary = modeling_modernbert.ModernBertRotaryEmbedding(config)
    gen = torch.Generator().manual_seed(case["seed"])
    q, k = torch.randn(2, 2, 10, d, generator=gen), torch.randn(2, 2, 10, d, generator=gen)
    position_ids = torch.arange(10)[None].expand(2, -1)
    for layer_type, theta in (
        ("full_attention", case["theta"] * 16),
        ("sliding_attention", case["theta"]),
    ):
        want_cos, want_sin = hf_rotary(q, position_ids, layer_type)
        cos, sin = V.RotaryEmbedding(d, theta, 64)(position_ids)
        check(f"RoPE cos vs ModernBertRotaryEmbedding ({layer_type})", cos, want_cos)
        for got, want in zip(
            V.apply_rotary_pos_emb(q, k, cos, sin),
            modeling_modernbert.apply_rotary_pos_emb(q, k, want_cos, want_sin),
            strict=True,
        ):
            check("apply_rotary_pos_emb vs ModernBERT's", got, want)


@pytest.mark.parametrize("case", ROPE_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_interleaved_rope_equals_gptj_and_is_a_permutation_of_rotate_half(case):
    d = case["head_dim"]
    gen = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(2, 7, 3, d, generator=gen)  # GPT-J layout: (batch, seq, heads, d)
    position_ids = torch.arange(7)[None].expand(2, -1)
    sincos = modeling_gptj.create_sinusoidal_positions(32, d)[position_ids]
    sin, cos = sincos.split(d // 2, dim=-1)
    want = modeling_gptj.apply_rotary_pos_emb(x, sin, cos)
    our_cos, our_sin = V.RotaryEmbedding(d, 10_000.0, 32)(position_ids)
    got, _ = V.apply_rotary_pos_emb_interleaved(x, x, our_cos, our_sin, unsqueeze_dim=2)
    check("interleaved RoPE vs GPT-J apply_rotary_pos_emb", got, want)
    assert torch.equal(V.rotate_every_two(x), modeling_gptj.rotate_every_two(x))
    # Same rotation on permuted dims: permute, rotate_half-RoPE, permute back.
    via_half, _ = V.apply_rotary_pos_emb(
        V.interleaved_to_half(x), x, our_cos, our_sin, unsqueeze_dim=2
    )
    check("interleaved RoPE vs permuted rotate_half RoPE", V.half_to_interleaved(via_half), got)
    plain, _ = V.apply_rotary_pos_emb(x, x, our_cos, our_sin, unsqueeze_dim=2)
    assert (plain - got).abs().max() > 1e-2, "the two pairings must differ without the permutation"


# --- 4. RMSNorm ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("case", [dict(seed=0, size=16, eps=1e-6), dict(seed=1, size=40, eps=1e-2)])
def test_rms_norm_equals_llama_rms_norm(case, dtype):
    theirs = randomize_(modeling_llama.LlamaRMSNorm(case["size"], eps=case["eps"]), case["seed"])
    ours = V.RMSNorm(case["size"], eps=case["eps"])
    load_into(ours, theirs)
    gen = torch.Generator().manual_seed(case["seed"])
    x = (torch.randn(3, 5, case["size"], generator=gen) * 3).to(dtype)
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    with torch.no_grad():
        got, want = ours(x), theirs(x)
    assert got.dtype == want.dtype == dtype
    if dtype == torch.float32:
        check("RMSNorm vs LlamaRMSNorm", got, want)
    else:  # same casts in the same order: bit-identical in half precision too
        assert torch.equal(got, want)


# --- 5. GeGLU / SwiGLU ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["gelu", "silu"])
@pytest.mark.parametrize(
    "case",
    [dict(seed=0, hidden=16, inter=24, bias=False), dict(seed=1, hidden=12, inter=40, bias=True)],
)
def test_gated_mlp_equals_modernbert_mlp(case, activation):
    config = transformers.ModernBertConfig(
        hidden_size=case["hidden"],
        intermediate_size=case["inter"],
        num_attention_heads=2,
        hidden_activation=activation,
        mlp_bias=case["bias"],
        pad_token_id=0,
    )
    theirs = randomize_(modeling_modernbert.ModernBertMLP(config), case["seed"])
    ours = V.GatedMLP(case["hidden"], case["inter"], activation, case["bias"])
    load_into(ours, theirs)
    assert set(ours.state_dict()) >= {"Wi.weight", "Wo.weight"}
    x = torch.randn(2, 6, case["hidden"], generator=torch.Generator().manual_seed(case["seed"]))
    with torch.no_grad():
        check(f"GatedMLP ({activation}) vs ModernBertMLP", ours(x), theirs(x))


@pytest.mark.parametrize(
    "case", [dict(seed=0, hidden=16, inter=24), dict(seed=1, hidden=8, inter=20)]
)
def test_llama_mlp_equals_hf_and_a_fused_gated_mlp(case):
    config = transformers.LlamaConfig(
        hidden_size=case["hidden"], intermediate_size=case["inter"], num_attention_heads=2
    )
    theirs = randomize_(modeling_llama.LlamaMLP(config), case["seed"])
    ours = V.LlamaMLP(case["hidden"], case["inter"])
    load_into(ours, theirs)
    fused = V.GatedMLP(case["hidden"], case["inter"], "silu")
    with torch.no_grad():  # Wi = [gate_proj; up_proj] (activated half first), Wo = down_proj
        fused.Wi.weight.copy_(torch.cat((theirs.gate_proj.weight, theirs.up_proj.weight)))
        fused.Wo.weight.copy_(theirs.down_proj.weight)
        x = torch.randn(2, 5, case["hidden"], generator=torch.Generator().manual_seed(7))
        check("LlamaMLP (SwiGLU) vs HF LlamaMLP", ours(x), theirs(x))
        check("fused GatedMLP(silu) vs LlamaMLP", fused(x), theirs(x))


# --- 6. pre-LN encoder (+ 8. RoBERTa embeddings) ------------------------------------------


PRELN_CONFIGS = [
    dict(seed=0, hidden_size=16, num_attention_heads=2, intermediate_size=32, num_hidden_layers=2),
    dict(seed=1, hidden_size=24, num_attention_heads=4, intermediate_size=20, num_hidden_layers=3),
]


@pytest.mark.parametrize("case", PRELN_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_pre_ln_model_equals_roberta_prelayernorm(case):
    kw = {k: v for k, v in case.items() if k != "seed"}
    common = dict(vocab_size=40, max_position_embeddings=40, pad_token_id=1, type_vocab_size=2)
    theirs = randomize_(
        transformers.RobertaPreLayerNormModel(
            transformers.RobertaPreLayerNormConfig(**kw, **common, attn_implementation="eager"),
            add_pooling_layer=False,
        ),
        case["seed"],
    )
    ours = V.PreLNRobertaModel(bert_config(**kw, **common))
    load_into(ours, theirs)
    ids, mask = padded(case["seed"], 3, 12, 40, pad_id=1)
    with torch.no_grad():
        got = ours(ids, mask).last_hidden_state
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
    check("pre-LN encoder + final LN vs RobertaPreLayerNormModel (real tokens)", got, want, mask)


def bert_config(**kw) -> BertConfig:
    """A reference BertConfig with dropout off."""
    return BertConfig(**kw, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


@pytest.mark.parametrize("case", [dict(seed=0, pad=1), dict(seed=1, pad=0), dict(seed=2, pad=5)])
def test_roberta_position_ids_and_embeddings_equal_hf(case):
    roberta = transformers.models.roberta.modeling_roberta
    ids, mask = padded(case["seed"], 4, 10, 30, pad_id=case["pad"])
    want_pos = roberta.RobertaEmbeddings.create_position_ids_from_input_ids(ids, case["pad"])
    got_pos = V.create_position_ids_from_input_ids(ids, case["pad"])
    assert torch.equal(got_pos, want_pos)
    assert torch.equal(got_pos[mask.bool()] - case["pad"], (mask.cumsum(1))[mask.bool()])
    assert (got_pos[~mask.bool()] == case["pad"]).all()  # padding sits on the padding row

    kw = dict(vocab_size=30, hidden_size=16, max_position_embeddings=20, pad_token_id=case["pad"])
    theirs = randomize_(
        roberta.RobertaEmbeddings(transformers.RobertaConfig(**kw, num_attention_heads=2)),
        case["seed"],
    )
    ours = V.RobertaEmbeddings(bert_config(**kw, num_attention_heads=2))
    load_into(ours, theirs)
    types = torch.randint(0, 2, ids.shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        check("RobertaEmbeddings vs HF", ours(ids, types), theirs(ids, token_type_ids=types))
        check("RobertaEmbeddings (no token types) vs HF", ours(ids), theirs(ids))


# --- 7. ModernBERT -------------------------------------------------------------------------


MODERNBERT_CONFIGS = [
    dict(seed=0, hidden_size=32, intermediate_size=48, num_hidden_layers=4,
         num_attention_heads=4, local_attention=6, global_attn_every_n_layers=2),
    dict(seed=1, hidden_size=24, intermediate_size=20, num_hidden_layers=5,
         num_attention_heads=2, local_attention=8, global_attn_every_n_layers=3,
         global_rope_theta=5_000.0, local_rope_theta=300.0, norm_bias=True,
         attention_bias=True, mlp_bias=True, hidden_activation="gelu_new"),
]  # fmt: skip


def modernbert_pair(case, attn_implementation):
    kw = {k: v for k, v in case.items() if k != "seed"}
    common = dict(vocab_size=60, max_position_embeddings=64, pad_token_id=0)
    special = dict(bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2)
    hf_config = transformers.ModernBertConfig(
        **kw, **common, **special, attn_implementation=attn_implementation
    )
    theirs = randomize_(transformers.ModernBertModel(hf_config), case["seed"])
    ours = V.ModernBertModel(V.ModernBertConfig(**kw, **common))
    load_into(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("case", MODERNBERT_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_modernbert_equals_hf_with_padding(case, attn_implementation):
    ours, theirs = modernbert_pair(case, attn_implementation)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    assert isinstance(ours.layers[0].attn_norm, torch.nn.Identity)
    ids, mask = padded(case["seed"], 3, 20, 60, pad_id=0)  # 20 tokens >> the local window
    with torch.no_grad():
        got = ours(ids, mask).last_hidden_state
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        check(f"ModernBertModel vs HF {attn_implementation} (real tokens)", got, want, mask)
        got, want = ours(ids[:1]).last_hidden_state, theirs(input_ids=ids[:1]).last_hidden_state
        check(f"ModernBertModel vs HF {attn_implementation} (no mask)", got, want)


def test_modernbert_comparison_notices_a_wrong_window_or_theta():
    """The cross-check has teeth: a window off by one token per side, or the two RoPE bases
    swapped, is far outside the tolerance."""
    case = MODERNBERT_CONFIGS[1]
    ours, theirs = modernbert_pair(case, "eager")
    ids, mask = padded(0, 2, 20, 60, pad_id=0)
    with torch.no_grad():
        want = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        ours.config.local_attention += 2
        wrong_window = ours(ids, mask).last_hidden_state
        ours.config.local_attention -= 2
        ours.global_rotary, ours.local_rotary = ours.local_rotary, ours.global_rotary
        wrong_theta = ours(ids, mask).last_hidden_state
    for wrong in (wrong_window, wrong_theta):
        assert (wrong - want)[mask.bool()].abs().max() > 1e-3


# --- 9. ALBERT -----------------------------------------------------------------------------


ALBERT_CONFIGS = [
    dict(seed=0, embedding_size=8, hidden_size=16, num_hidden_layers=4, num_hidden_groups=1,
         inner_group_num=1, num_attention_heads=2, intermediate_size=24),
    dict(seed=1, embedding_size=12, hidden_size=24, num_hidden_layers=6, num_hidden_groups=2,
         inner_group_num=2, num_attention_heads=4, intermediate_size=16, hidden_act="gelu"),
]  # fmt: skip


@pytest.mark.parametrize("case", ALBERT_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_albert_equals_hf_and_shares_its_parameters(case):
    kw = {k: v for k, v in case.items() if k != "seed"}
    common = dict(vocab_size=50, max_position_embeddings=32)
    theirs = randomize_(
        transformers.AlbertModel(
            transformers.AlbertConfig(**kw, **common, attn_implementation="eager")
        ),
        case["seed"],
    )
    ours = V.AlbertModel(V.AlbertConfig(**kw, **common))
    load_into(ours, theirs)
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters())
    deeper = V.AlbertModel(
        V.AlbertConfig(**{**kw, "num_hidden_layers": 3 * case["num_hidden_layers"]}, **common)
    )
    assert sum(p.numel() for p in deeper.parameters()) == count  # sharing: depth is free
    ids, mask = padded(case["seed"], 3, 10, 50, pad_id=0)
    types = torch.randint(0, 2, ids.shape, generator=torch.Generator().manual_seed(1)) * mask
    with torch.no_grad():
        got = ours(ids, mask, types)
        want = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    check(
        "AlbertModel last_hidden_state vs HF (real tokens)",
        got.last_hidden_state,
        want.last_hidden_state,
        mask,
    )
    check("AlbertModel pooler_output vs HF", got.pooler_output, want.pooler_output)


# --- 10. ELECTRA ---------------------------------------------------------------------------


ELECTRA_CONFIGS = [
    dict(seed=0, embedding_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
         intermediate_size=24),
    dict(seed=1, embedding_size=12, hidden_size=12, num_hidden_layers=3, num_attention_heads=3,
         intermediate_size=20, hidden_act="relu"),
]  # fmt: skip


@pytest.mark.parametrize("case", ELECTRA_CONFIGS, ids=lambda c: f"seed{c['seed']}")
def test_electra_discriminator_logits_and_loss_equal_hf(case):
    kw = {k: v for k, v in case.items() if k != "seed"}
    common = dict(vocab_size=50, max_position_embeddings=32, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0)  # fmt: skip
    theirs = randomize_(
        transformers.ElectraForPreTraining(
            transformers.ElectraConfig(**kw, **common, attn_implementation="eager")
        ),
        case["seed"],
    )
    ours = V.ElectraForPreTraining(V.ElectraConfig(**kw, **common))
    load_into(ours, theirs)
    assert hasattr(ours.electra, "embeddings_project") == (
        kw["embedding_size"] != kw["hidden_size"]
    )
    ids, mask = padded(case["seed"], 3, 9, 50, pad_id=0)
    labels = torch.randint(0, 2, ids.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = ours(ids, mask, labels=labels)
        want = theirs(input_ids=ids, attention_mask=mask, labels=labels)
        check("ElectraForPreTraining logits vs HF (real tokens)", got.logits, want.logits, mask)
        check("ElectraForPreTraining loss (real tokens only) vs HF", got.loss, want.loss)
        unmasked = theirs(input_ids=ids, labels=labels).loss
        check("ElectraForPreTraining loss (no mask) vs HF", ours(ids, labels=labels).loss, unmasked)
    by_hand = torch.nn.functional.binary_cross_entropy_with_logits(
        got.logits[mask.bool()], labels[mask.bool()].float()
    )
    check("replaced-token-detection loss vs BCE over real tokens", got.loss, by_hand)


# --- 12. ALiBi -----------------------------------------------------------------------------


def test_alibi_slopes_equal_bloom_for_every_head_count():
    for heads in range(1, 41):  # powers of two and everything between
        check(
            "ALiBi slopes vs bloom _get_alibi_slopes",
            V.alibi_slopes(heads),
            modeling_bloom._get_alibi_slopes(heads, "cpu"),
        )
    assert torch.allclose(V.alibi_slopes(8), 2.0 ** -torch.arange(1.0, 9.0))  # 1/2 ... 1/256


@pytest.mark.parametrize(
    "case", [dict(seed=0, heads=8), dict(seed=1, heads=12), dict(seed=2, heads=5)]
)
def test_build_alibi_tensor_equals_bloom(case):
    for left in (False, True):
        _, mask = padded(case["seed"], 3, 9, 10, pad_id=0, left=left)
        want = modeling_bloom.build_alibi_tensor(mask, case["heads"], torch.float32)
        check(
            "build_alibi_tensor vs bloom",
            V.build_alibi_tensor(mask, case["heads"], torch.float32),
            want,
        )
