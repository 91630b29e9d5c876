"""Exercise bert_model: the capstone — a whole BertModel from your own pieces.

    input_ids ─► your BertEmbeddings (e06)
              ─► num_hidden_layers x your BertLayer (e07), each given the padding mask
              ─► last_hidden_state (batch, seq, hidden)
              ─► your BertPooler (e09) on it ─► pooler_output (batch, hidden)

"Implement a simple BERT" is the interview question this answers. __init__ already builds
Hugging Face's module tree from your classes, so real pretrained weights load with
load_state_dict unchanged: the grader runs your model on all-MiniLM-L6-v2 and compares it
with the reference and with transformers itself.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e06_embeddings import BertEmbeddings
from .e07_encoder_layer import BertLayer
from .e09_pooler import BertPooler


class BertEncoder(nn.Module):
    """Only holds the layers (``encoder.layer.0``, ``encoder.layer.1``, ...), under Hugging
    Face's names; BertModel.forward runs them."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def _no_forward(self, *args, **kwargs):
        raise TypeError(
            "BertEncoder only holds the layers and has no forward of its own: loop over "
            "self.encoder.layer in BertModel.forward"
        )

    forward = _no_forward


class BertModel(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Run BERT on a batch.

        Args:
            input_ids: (batch, seq) int64 WordPiece ids, [CLS] first.
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding;
                None means no padding.
            token_type_ids: optional (batch, seq) int64 segment ids; None means all zeros.

        Returns:
            (last_hidden_state, pooler_output): (batch, seq, hidden) from the last layer,
            and (batch, hidden) from your pooler.
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint bert_model")
