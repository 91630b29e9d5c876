"""Solution mlm_head: transform -> tied decoder + bias, and cross-entropy on selected tokens.

Why tie the decoder to the input embeddings? The embedding row of a token and the output
vector that scores it describe the same thing, so sharing them saves vocab x hidden
parameters (23M of BERT-base's 110M) and regularises: Press & Wolf 2017 ("Using the Output
Embedding to Improve Language Models") and Inan et al. 2017 showed tying improves language
models. BERT inherits it (google-research/bert ``run_pretraining.py``: ``logits =
tf.matmul(input_tensor, output_weights, transpose_b=True)`` with ``output_weights =
model.get_embedding_table()``) and keeps one untied thing: "an output-only bias for each
token".

Why the transform? The last encoder layer has to serve every position for every task; one
more dense + GELU + LayerNorm lets the MLM task reshape it before the dot products with the
embeddings, and it is thrown away at fine-tuning time with the rest of the head.

Why no softmax: cross-entropy takes logits and applies log-softmax itself, stably.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu

IGNORE_INDEX = -100


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        # Order matters: dense, then GELU, then LayerNorm (transformers'
        # BertPredictionHeadTransform; Google's get_masked_lm_output does the same with its
        # tanh-GELU). The exact erf GELU is what BERT checkpoints in transformers run.
        return self.LayerNorm(gelu(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, sequence_output: Tensor) -> Tensor:
        # (batch, seq, hidden) -> (batch, seq, hidden) -> (batch, seq, vocab).
        # decoder = h @ E^T + b: decoder.weight is E (vocab, hidden) once tied, and
        # decoder.bias is self.bias, so nothing else is added. Writing h @ E^T alone drops
        # the output bias (it models each token's prior frequency); adding self.bias after
        # self.decoder adds it twice.
        #
        # Google's trainer saves most of this (batch * seq) x vocab matmul by scoring only
        # the selected positions (run_pretraining.py gathers them first, `gather_indexes`).
        # transformers, and this head, score every position and let the loss pick.
        return self.decoder(self.transform(sequence_output))

    def tie_to(self, word_embeddings: nn.Embedding) -> None:
        # Assign the Parameter object itself. Copying values (.data.copy_, a clone, or
        # nn.Parameter(weight.clone())) gives two matrices that drift apart at the first
        # optimiser step, and that the checkpoint stores twice. nn.Linear's weight is
        # (out_features, in_features) = (vocab, hidden): the embedding matrix's own shape,
        # so no transpose is needed (and a transposed view would not be a Parameter).
        self.decoder.weight = word_embeddings.weight
        # The bias stays the head's own, under both of its names.
        self.decoder.bias = self.bias


def masked_lm_loss(prediction_logits: Tensor, labels: Tensor) -> Tensor:
    # Flatten (batch, seq, vocab) -> (batch * seq, vocab): F.cross_entropy wants the classes
    # on dim 1, and for a 3-D input it would take dim 1 (seq!) as the classes. ignore_index
    # drops the -100 positions from the sum *and* from the count the mean divides by, so the
    # loss is the average over the selected tokens only; unselected tokens would be free
    # answers (they are in the input) and would swamp the signal.
    #
    # Pass raw logits: cross_entropy = log_softmax + nll_loss, computed stably. A softmax
    # before it squashes the scores into [0, 1] and the gradients almost vanish.
    vocab = prediction_logits.size(-1)
    return F.cross_entropy(
        prediction_logits.reshape(-1, vocab), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )
