"""Exercise roberta_positions: RoBERTa's position ids, the reason BERT ports break.

RoBERTa is BERT's architecture retrained (Liu et al. 2019), but its embeddings inherited one
rule from fairseq: position ids are not arange(seq). They count the *real* tokens, starting at
padding_idx + 1, and every padding token gets position padding_idx:

    input_ids    [<s>, a,  b,  </s>, <pad>, <pad>]        padding_idx = 1
    position_ids [ 2,  3,  4,  5,    1,     1   ]
    input_ids    [<pad>, <pad>, <s>, a,  b,  </s>]        (left padding)
    position_ids [ 1,     1,     2,  3,  4,  5   ]

So a sentence gets the same positions however it is padded, the padding row of the position
table (a zero row) is the only one padding ever reads, and the first padding_idx + 1 rows are
never used by real tokens: roberta-base has max_position_embeddings = 514 for 512 tokens.
"Why does my RoBERTa port disagree with transformers on padded batches?" and "why 514?" are
the interview questions. Write both functions below.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


def create_position_ids_from_input_ids(input_ids: Tensor, padding_idx: int) -> Tensor:
    """RoBERTa's position ids.

    Args:
        input_ids: (batch, seq) int64 token ids; a token equal to padding_idx is padding
            (wherever it sits: right, left or in the middle).
        padding_idx: the padding token's id (1 in roberta-base), which is also the padding row
            of the position table.

    Returns:
        (batch, seq) int64: in each row, the real tokens get padding_idx + 1, padding_idx + 2,
        ... in order (counting real tokens only), and every padding token gets padding_idx.
    """
    raise NotImplementedError(
        "create_position_ids_from_input_ids is yours to write; stuck? run: "
        "bertprep hint roberta_positions"
    )


class RobertaEmbeddings(nn.Module):
    """transformers' ``RobertaEmbeddings``: BERT's embeddings with RoBERTa's position ids."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
        )

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """Embed a batch of token ids.

        Args:
            input_ids: (batch, seq) int64, padding = self.padding_idx; every row needs
                seq + padding_idx < max_position_embeddings.
            token_type_ids: optional (batch, seq) int64; None means all zeros.

        Returns:
            (batch, seq, hidden) float: dropout(LayerNorm(word + position + token type)), the
            positions from your create_position_ids_from_input_ids (padded positions too).
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint roberta_positions"
        )
