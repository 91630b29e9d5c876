"""Solution question_answering: one Linear(hidden, 2) gives start and end scores; the loss is
the mean of two cross-entropies over positions, with out-of-window answers ignored.

The paper (Devlin et al. 2018, §4.2): "We only introduce a start vector S ∈ R^H and an end
vector E ∈ R^H during fine-tuning. The probability of word i being the start of the answer
span is computed as a dot product between T_i and S followed by a softmax over all of the
words in the paragraph". S and E are the two rows of ``qa_outputs.weight`` (plus a bias,
which a softmax over positions ignores anyway). The paper calls the objective "the sum of
the log-likelihoods of the correct start and end positions"; the code divides by two:
google-research/bert ``run_squad.py`` has ``total_loss = (start_loss + end_loss) / 2.0`` and
transformers does the same. SQuAD fine-tuning used lr 5e-5, batch 32, 3 epochs (§4.2).

Long passages are cut into overlapping windows (``doc_stride``). When the answer is not in a
window, Google's ``run_squad.py`` points both positions at [CLS] (index 0), which is also
how SQuAD 2.0 marks "no answer" (§4.3). transformers' model additionally guards against
positions past the window: it clamps them to seq and ignores that index, so they add nothing
to the loss instead of crashing cross_entropy with an out-of-range class.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig


class QuestionAnsweringHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        # Row 0 of the weight is S (start), row 1 is E (end): 2·(H + 1) new parameters.
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.qa_outputs(sequence_output)  # (batch, seq, 2)
        start_logits, end_logits = logits.unbind(dim=-1)  # each (batch, seq)
        # .contiguous(): unbind returns strided views; later .view() calls would fail on them.
        return start_logits.contiguous(), end_logits.contiguous()


def question_answering_loss(
    start_logits: Tensor, end_logits: Tensor, start_positions: Tensor, end_positions: Tensor
) -> Tensor:
    seq = start_logits.size(1)
    # Position seq is one past the last token: clamp anything beyond the window onto it and
    # tell cross_entropy to skip that class. (Clamping to seq - 1 instead would train the
    # model that the answer is the last token of the window.)
    start = start_positions.clamp(0, seq)
    end = end_positions.clamp(0, seq)
    # Each is a softmax over the seq positions of a row: cross_entropy on raw logits.
    start_loss = F.cross_entropy(start_logits, start, ignore_index=seq)
    end_loss = F.cross_entropy(end_logits, end, ignore_index=seq)
    return (start_loss + end_loss) / 2
