"""Exercise embeddings: BERT's input representation, and the sinusoids it does not use.

BERT's input vector for a token is the sum of three learned embeddings: the WordPiece token,
its segment (sentence A or B) and its absolute position, then LayerNorm and dropout (Devlin
et al. 2018, §3, Figure 2). The positions are *learned* (a 512 x hidden table trained with
the rest), not the fixed sinusoids of the original Transformer (Vaswani et al. 2017, §3.5).
"Which position encoding does BERT use, and why can't it read past 512 tokens?" is a
classic question, so you write both: BERT's embeddings, and the sinusoids for contrast.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """Embed a batch of token ids.

        Args:
            input_ids: (batch, seq) int64 WordPiece ids, seq <= max_position_embeddings.
            token_type_ids: optional (batch, seq) int64 segment ids (0 = sentence A,
                1 = sentence B); None means all zeros (a single sentence).

        Returns:
            (batch, seq, hidden) float: dropout(LayerNorm(word + position + token type)),
            where the token at index p (0, 1, 2, ...) gets position_embeddings row p.
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint embeddings")


def sinusoidal_position_encoding(seq_len: int, dim: int) -> Tensor:
    """The Transformer's fixed position encoding (Vaswani et al. 2017, §3.5) — not BERT's.

    PE[pos, 2i] = sin(pos / 10000^(2i / dim)),  PE[pos, 2i + 1] = cos(pos / 10000^(2i / dim)):
    sines in the even columns, cosines in the odd ones (interleaved), column pair i sharing
    one frequency. For an odd ``dim`` the last column (index dim - 1, even) is a sine with
    exponent (dim - 1) / dim and has no cosine partner.

    Args:
        seq_len: number of positions (rows), pos = 0 .. seq_len - 1.
        dim: encoding width (columns), any positive integer.

    Returns:
        (seq_len, dim) float32.
    """
    raise NotImplementedError(
        "sinusoidal_position_encoding is yours to write; stuck? run: bertprep hint embeddings"
    )
