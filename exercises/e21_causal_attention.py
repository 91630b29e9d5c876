"""Exercise causal_attention: a decoder's attention, causal mask and padding mask combined.

BERT's encoder lets every token see every other real token. A decoder (GPT, Llama) predicts
token t + 1 from tokens 0..t, so token t must not see the future: its scores for keys j > t
are masked before the softmax (Vaswani et al. 2017, §3.2.3). With a batch of different
lengths the padding mask still applies, and the two must be combined. "Now make your
attention causal" is the classic next question after BERT's attention; so is "why do
decoders pad on the left, and where does that create rows with nothing to attend to?".
"""

from __future__ import annotations

import torch
from torch import Tensor


def causal_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """The additive mask of a decoder: causal AND padding.

    Args:
        attention_mask: (batch, seq) integers, 1 = real token, 0 = padding (right or left
            padding, or anywhere).
        dtype: the dtype of the scores the mask is added to.

    Returns:
        (batch, 1, seq, seq) of ``dtype``: entry [b, 0, i, j] is 0.0 when query i may attend
        to key j — j is not in i's future (j <= i) and key j is a real token — and
        ``torch.finfo(dtype).min`` otherwise (finite: never -inf).
    """
    raise NotImplementedError(
        "causal_mask is yours to write; stuck? run: bertprep hint causal_attention"
    )


def causal_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None = None,
    is_causal: bool = True,
) -> tuple[Tensor, Tensor]:
    """Self-attention for a decoder (``is_causal=True``) or an encoder (``is_causal=False``).

    Args:
        query, key, value: (batch, heads, seq, d_head), all for the same seq positions.
        attention_mask: optional (batch, seq), 1 = real token, 0 = padding (None: no padding).
        is_causal: True for a decoder (causal + padding mask), False for BERT's encoder
            attention (padding mask only, every real key visible to every query).

    Returns:
        context: (batch, heads, seq, d_head), in the dtype of query (float16 in, float16 out).
        probs: (batch, heads, seq, seq); each row sums to 1; zero weight on the future (when
            causal) and on padded keys. A query with nothing to attend to (a padded query at
            the start of a left-padded row) must still give finite numbers; its values are
            not compared.

    Write the math yourself: do not call torch.nn.functional.scaled_dot_product_attention.
    """
    raise NotImplementedError(
        "causal_attention is yours to write; stuck? run: bertprep hint causal_attention"
    )
