"""Part II, after BERT: the pieces later encoders and decoders changed, in plain PyTorch.

No transformers import here; ``tests/test_variants_*.py`` prove each piece equal to
transformers' own implementation (fp32, random configs, max |difference| < 1e-5) or, where
transformers has none, check it by its defining properties. Paths are inside
``transformers/models/`` unless they start with ``masking_utils`` / ``cache_utils``.

1. Causal + padding mask. ``masks``: causal_mask, causal_padding_mask,
   position_ids_from_attention_mask. transformers: ``masking_utils.create_causal_mask``
   (eager form); used by ``gpt2/modeling_gpt2.py`` GPT2Attention and ``llama`` LlamaAttention.
   Vaswani et al. 2017, §3.2.3.
2. KV cache. ``decoder``: KVCache, CausalSelfAttention, DecoderModel, DecoderConfig,
   repeat_kv. transformers: ``llama/modeling_llama.py`` LlamaModel with
   ``cache_utils.DynamicCache``, ``repeat_kv``. No single paper (GPT-2's released code kept a
   ``past``); GQA: Ainslie et al. 2023, §2.
3. RoPE. ``rope``: RotaryEmbedding, rope_inv_freq, rotate_half, apply_rotary_pos_emb; the
   interleaved pairing: rotate_every_two, apply_rotary_pos_emb_interleaved,
   interleaved_to_half, half_to_interleaved. transformers: ``llama/modeling_llama.py``
   LlamaRotaryEmbedding, rotate_half, apply_rotary_pos_emb; ``modernbert`` (same functions,
   one base per layer type); ``gptj/modeling_gptj.py`` rotate_every_two. Su et al. 2021, §3.2.
4. RMSNorm. ``norms``: RMSNorm. transformers: ``llama/modeling_llama.py`` LlamaRMSNorm.
   Zhang & Sennrich 2019, §4.
5. GeGLU / SwiGLU. ``glu``: GatedMLP (``Wi`` / ``Wo``), LlamaMLP. transformers:
   ``modernbert/modeling_modernbert.py`` ModernBertMLP; ``llama`` LlamaMLP. Shazeer 2020, §2.
6. Pre-LN encoder. ``prenorm``: PreLNLayer, PreLNEncoder, PreLNRobertaModel, build_encoder,
   layer_gradient_norms. transformers: ``roberta_prelayernorm`` RobertaPreLayerNormModel.
   Xiong et al. 2020, Thm. 1 and Fig. 3.
7. ModernBERT. ``modernbert``: ModernBertConfig, ModernBertModel, ModernBertEmbeddings,
   ModernBertAttention, ModernBertEncoderLayer; ``masks.sliding_window_mask``. transformers:
   ``modernbert/modeling_modernbert.py`` ModernBertModel, ``masking_utils``
   create_bidirectional_sliding_window_mask. Warner et al. 2024, §2.1.
8. RoBERTa positions. ``roberta``: create_position_ids_from_input_ids, RobertaEmbeddings.
   transformers: ``roberta/modeling_roberta.py`` RobertaEmbeddings (and its static method of
   the same name, from fairseq's ``make_positions``). Liu et al. 2019, §2.
9. ALBERT. ``albert``: AlbertConfig, AlbertModel, AlbertTransformer;
   ``embeddings.FactorizedEmbeddings``. transformers: ``albert/modeling_albert.py``
   AlbertModel. Lan et al. 2019, §3.1.
10. ELECTRA replaced-token detection. ``electra``: ElectraConfig, ElectraModel,
    ElectraForPreTraining, ElectraDiscriminatorPredictions, replaced_token_detection_loss.
    transformers: ``electra/modeling_electra.py`` ElectraForPreTraining. Clark et al. 2020, §2.
11. Distillation. ``distillation``: distillation_loss, soft_target_loss,
    cosine_embedding_loss. transformers: no library class; the training script
    ``examples/research_projects/distillation/distiller.py`` (Distiller.step). Sanh et al.
    2019, §2-3; Hinton et al. 2015, §2.
12. ALiBi. ``alibi``: alibi_slopes, alibi_bias, build_alibi_tensor. transformers:
    ``bloom/modeling_bloom.py`` _get_alibi_slopes, build_alibi_tensor. Press et al. 2022, §3.

Mask convention everywhere: a 2-D ``attention_mask`` is 1 for real tokens, 0 for padding;
additive masks are 0 (attend) / ``finfo(dtype).min`` (blocked), shape (batch, 1, q, kv).
"""

from reference.variants.albert import AlbertConfig, AlbertModel, AlbertTransformer
from reference.variants.alibi import alibi_bias, alibi_slopes, build_alibi_tensor
from reference.variants.decoder import (
    CausalSelfAttention,
    DecoderConfig,
    DecoderModel,
    DecoderOutput,
    KVCache,
    repeat_kv,
)
from reference.variants.distillation import (
    DistillationLoss,
    cosine_embedding_loss,
    distillation_loss,
    soft_target_loss,
)
from reference.variants.electra import (
    ElectraConfig,
    ElectraDiscriminatorPredictions,
    ElectraForPreTraining,
    ElectraModel,
    replaced_token_detection_loss,
)
from reference.variants.embeddings import FactorizedEmbeddings
from reference.variants.glu import GatedMLP, LlamaMLP
from reference.variants.masks import (
    causal_mask,
    causal_padding_mask,
    padding_mask,
    position_ids_from_attention_mask,
    sliding_window_mask,
)
from reference.variants.modernbert import (
    ModernBertAttention,
    ModernBertConfig,
    ModernBertEmbeddings,
    ModernBertEncoderLayer,
    ModernBertModel,
)
from reference.variants.norms import RMSNorm
from reference.variants.prenorm import (
    PreLNEncoder,
    PreLNLayer,
    PreLNRobertaModel,
    build_encoder,
    layer_gradient_norms,
)
from reference.variants.roberta import RobertaEmbeddings, create_position_ids_from_input_ids
from reference.variants.rope import (
    RotaryEmbedding,
    apply_rotary_pos_emb,
    apply_rotary_pos_emb_interleaved,
    half_to_interleaved,
    interleaved_to_half,
    rope_inv_freq,
    rotate_every_two,
    rotate_half,
)

__all__ = [
    "AlbertConfig",
    "AlbertModel",
    "AlbertTransformer",
    "CausalSelfAttention",
    "DecoderConfig",
    "DecoderModel",
    "DecoderOutput",
    "DistillationLoss",
    "ElectraConfig",
    "ElectraDiscriminatorPredictions",
    "ElectraForPreTraining",
    "ElectraModel",
    "FactorizedEmbeddings",
    "GatedMLP",
    "KVCache",
    "LlamaMLP",
    "ModernBertAttention",
    "ModernBertConfig",
    "ModernBertEmbeddings",
    "ModernBertEncoderLayer",
    "ModernBertModel",
    "PreLNEncoder",
    "PreLNLayer",
    "PreLNRobertaModel",
    "RMSNorm",
    "RobertaEmbeddings",
    "RotaryEmbedding",
    "alibi_bias",
    "alibi_slopes",
    "apply_rotary_pos_emb",
    "apply_rotary_pos_emb_interleaved",
    "build_alibi_tensor",
    "build_encoder",
    "causal_mask",
    "causal_padding_mask",
    "cosine_embedding_loss",
    "create_position_ids_from_input_ids",
    "distillation_loss",
    "half_to_interleaved",
    "interleaved_to_half",
    "layer_gradient_norms",
    "padding_mask",
    "position_ids_from_attention_mask",
    "repeat_kv",
    "replaced_token_detection_loss",
    "rope_inv_freq",
    "rotate_every_two",
    "rotate_half",
    "sliding_window_mask",
    "soft_target_loss",
]
