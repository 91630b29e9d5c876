"""Solution pooler: the [CLS] token's last hidden state -> dense -> tanh.

Only token 0 is read. Self-attention lets [CLS] gather from every other token in every
layer, and pre-training (NSP) trains this dense + tanh to summarise the pair. The tanh keeps
each feature in (-1, 1); it comes from google-research/bert (modeling.py, get_pooled_output).

Mean pooling over the real tokens is a different recipe (Sentence-BERT, Reimers & Gurevych
2019): all-MiniLM-L6-v2 was fine-tuned with it (mean over real tokens, then L2-normalise),
so that is how its sentence embeddings are made. It is not BertModel's pooler_output.
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
        first_token = hidden_states[:, 0]  # (batch, hidden): [CLS], the first position
        return self.activation(self.dense(first_token))
