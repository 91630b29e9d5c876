"""Exercise pooler: BERT's pooled output, tanh(W h_[CLS] + b).

BERT puts a [CLS] token first in every input; its final hidden state, passed through one
dense layer and tanh, is the "pooled output" that next sentence prediction and sentence
classification read (Devlin et al. 2018, §3: "C"). Interviewers ask which token it is, why
there is a tanh, and how this differs from mean pooling (which sentence-transformers uses).
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Pool a batch of sequences into one vector each.

        Args:
            hidden_states: (batch, seq, hidden), the encoder's last hidden states; position
                0 of every row holds the [CLS] token.

        Returns:
            (batch, hidden): activation(dense(the [CLS] token's hidden state)).
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint pooler")
