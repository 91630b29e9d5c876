"""Exercise multi_head: multi-head self-attention, as Hugging Face's BertSelfAttention.

One attention over the whole hidden vector would let every position look at the others in
a single way. BERT runs ``heads`` attentions side by side, each on its own d_head-wide slice
of the projected queries, keys and values (Vaswani et al. 2017, §3.2.2). Interviewers ask
you to write the reshapes, because that is where the bugs are: the transpose after the
split, the transpose back before the merge, and which width the scores are scaled by.

This module stops before the output projection: in BERT that projection (``dense``) belongs
to the next block together with the residual and LayerNorm (exercise encoder_layer).
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e04_attention import scaled_dot_product_attention  # noqa: F401 (yours, for forward)


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads  # heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads  # d_head
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:
        """(batch, seq, hidden) -> (batch, heads, seq, d_head).

        Head h is made of the features h * d_head ... (h + 1) * d_head - 1 of every position,
        and the positions must stay in order inside each head.
        """
        raise NotImplementedError(
            "split_heads is yours to write; stuck? run: bertprep hint multi_head"
        )

    def merge_heads(self, x: Tensor) -> Tensor:
        """(batch, heads, seq, d_head) -> (batch, seq, hidden): the exact inverse of
        split_heads, so merge_heads(split_heads(x)) == x. ``x`` may be non-contiguous."""
        raise NotImplementedError(
            "merge_heads is yours to write; stuck? run: bertprep hint multi_head"
        )

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Multi-head self-attention over one sequence batch.

        Args:
            hidden_states: (batch, seq, hidden) float.
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding;
                padded positions must get zero weight as keys.

        Returns:
            context: (batch, seq, hidden), the heads' outputs merged back side by side
            (before any output projection). Only the context: not (context, probs).

        Project hidden_states with query / key / value, split each into heads, attend with
        your ``scaled_dot_product_attention`` (it takes the 0/1 mask as it is), merge the
        heads. In training mode BERT applies ``self.dropout`` to the attention
        probabilities (and nowhere else); the grader compares in eval mode, and in training
        mode under a fixed seed.
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint multi_head")
