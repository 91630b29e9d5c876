"""Exercise attention: scaled dot-product attention with a padding mask.

The heart of the Transformer (Vaswani et al. 2017, §3.2.1) and of every BERT interview:
softmax(Q K^T / sqrt(d_head) + mask) V. Expect to be asked why the scale, over which axis
the softmax runs, and where the mask goes.
"""

from __future__ import annotations

from torch import Tensor


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attend from every query position to every key position.

    Args:
        query: (batch, heads, seq_q, d_head)
        key: (batch, heads, seq_k, d_head)
        value: (batch, heads, seq_k, d_head)
        attention_mask: optional (batch, seq_k), 1 = real token, 0 = padding. Padded keys
            must get zero attention weight. A batch row with no real key at all must still
            give finite numbers (no NaN); its values are not compared.

    Returns:
        context: (batch, heads, seq_q, d_head), the weighted sum of values.
        probs: (batch, heads, seq_q, seq_k), the attention weights; each row sums to 1.

    Write the math yourself: do not call torch.nn.functional.scaled_dot_product_attention.
    You may use your additive_attention_mask from e03_padding_mask.
    """
    raise NotImplementedError(
        "scaled_dot_product_attention is yours to write; stuck? run: bertprep hint attention"
    )
