"""Exercise mlm_masking: corrupt a batch for masked-language-model (MLM) pre-training.

BERT learns by filling in blanks (Devlin et al. 2018, §3.1, "Task #1: Masked LM"): pick 15%
of the tokens at random, corrupt them, and train the model to predict the original ids at
exactly those positions. Of the picked tokens, 80% become [MASK], 10% a random token and 10%
stay as they are, because [MASK] never appears at fine-tuning time (Appendix C.2 ablates the
mix). This is the blog's Q2 ("what is the MLM?") and the first half of Q5 ("implement it"):
expect to be asked for the 15%, the 80/10/10 and why, which positions get a label, and why
[CLS], [SEP] and padding are never picked.

You write the rule transformers applies on the fly in
``DataCollatorForLanguageModeling.torch_mask_tokens`` (each token picked independently), not
Google's offline fixed count per sequence. Vectorise it: no Python loop over tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor

IGNORE_INDEX = -100  # the label F.cross_entropy skips by default (ignore_index=-100)


def mask_tokens(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Pick tokens for the MLM loss and corrupt them; return ``(inputs, labels)``.

    Args:
        input_ids: (batch, seq) int64 token ids. Do not modify it: return new tensors.
        special_tokens_mask: (batch, seq), bool or 0/1 integers. Careful, this is *not* an
            attention mask: here 1 (True) marks a token that must never be picked ([CLS],
            [SEP] and padding), 0 an ordinary token that may be.
        mask_token_id: the id of [MASK].
        vocab_size: random replacements are drawn uniformly from [0, vocab_size), any id
            (special ones and the original included), as transformers and Google do.
        mlm_probability: each ordinary token is picked ("selected") independently with this
            probability (paper: 0.15). Special tokens never are.
        mask_replace_prob: fraction of the selected tokens that become ``mask_token_id``
            (paper: 0.8).
        random_replace_prob: fraction of the selected tokens that become a random id (paper:
            0.1). Both fractions are of *all selected* tokens; the rest of the selected
            tokens (1 - 0.8 - 0.1 = 10%) keep their id. Their sum is at most 1.
        generator: make every random draw with it (``generator=generator``), so that a seeded
            generator reproduces the same batch. The grader checks the statistics of your
            output, not your exact draws: any correct order of draws passes.

    Returns:
        inputs: (batch, seq), dtype of input_ids: the corrupted copy the model will read.
            Unselected tokens are unchanged.
        labels: (batch, seq), dtype of input_ids: the original id at every selected position
            (whether it became [MASK], a random id, or stayed the same) and ``IGNORE_INDEX``
            (-100) everywhere else, so the loss sees the selected positions only.
    """
    raise NotImplementedError(
        "mask_tokens is yours to write; stuck? run: bertprep hint mlm_masking"
    )
