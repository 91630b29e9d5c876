"""Solution mlm_masking: select 15%, then 80% [MASK] / 10% random / 10% unchanged.

Why corrupt at all, and why not always [MASK]? The model must predict a token from both
sides of its context, so the token has to be hidden (a bidirectional model would otherwise
see the answer). But [MASK] never occurs when the model is fine-tuned, so always masking
creates a mismatch between pre-training and fine-tuning. Leaving 10% unchanged and putting a
random token in 10% means the model cannot tell which inputs are corrupted and must keep a
good representation of *every* token (Devlin et al. 2018, §3.1 and Appendix C.2, where
80/10/10 beats 100% [MASK] on NER with a feature-based model).

Why labels only at the selected positions: predicting an unselected token is trivial (it is
in the input), so including it would drown the 15% signal in free answers. -100 is the
``ignore_index`` default of ``F.cross_entropy``: those positions contribute nothing to the
loss or its average.

Two implementations to know:

* transformers ``DataCollatorForLanguageModeling.torch_mask_tokens`` (on the fly, used here):
  each token selected independently with probability 0.15, so the count varies per sequence.
  It then tosses a Bernoulli(0.8) coin for [MASK], and for the rest a Bernoulli(0.1 / (1 -
  0.8) = 0.5) coin for random: the *conditional* probability, since only 20% are left. Using
  0.1 there directly gives 2% random tokens, a classic bug.
* google-research/bert ``create_pretraining_data.py`` (offline): a fixed count
  ``min(max_predictions_per_seq, max(1, round(len(tokens) * 0.15)))`` of positions per
  sequence, whole sets of masked positions stored with the data (with ``dupe_factor`` copies
  masked differently). RoBERTa (Liu et al. 2019) showed dynamic masking is as good or better.
"""

from __future__ import annotations

import torch
from torch import Tensor

IGNORE_INDEX = -100


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
    for name, p in (
        ("mlm_probability", mlm_probability),
        ("mask_replace_prob", mask_replace_prob),
        ("random_replace_prob", random_replace_prob),
    ):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p}")
    if mask_replace_prob + random_replace_prob > 1.0:
        raise ValueError("mask_replace_prob + random_replace_prob must not exceed 1")

    shape, device = input_ids.shape, input_ids.device
    # A bool view of the protected positions. An integer 0/1 mask used directly as an index
    # would gather rows 0 and 1 instead of selecting positions, and masked_fill wants bool.
    protected = special_tokens_mask.to(device=device, dtype=torch.bool)

    # 1. Selection: one uniform number per token, selected when below p. torch.rand is in
    #    [0, 1), so p = 1 selects every ordinary token and p = 0 none. `> p` would select
    #    1 - p of them (85%): check the direction of the comparison.
    selected = torch.rand(shape, generator=generator, device=device) < mlm_probability
    selected &= ~protected  # [CLS], [SEP] and padding are never training targets

    # 2. Labels: the original id where selected, -100 everywhere else. Build them from the
    #    *original* ids (before corruption): the model must predict what was there.
    labels = input_ids.masked_fill(~selected, IGNORE_INDEX)

    # 3. The 80/10/10 split, with a second uniform number cut into three intervals:
    #       [0, 0.8) -> [MASK],  [0.8, 0.9) -> random id,  [0.9, 1) -> unchanged.
    #    One draw gives the three shares of *all selected* tokens directly, with no
    #    conditional probability to get wrong (transformers tosses two coins instead, the
    #    second with probability 0.1 / (1 - 0.8)). Everything is ANDed with `selected`: the
    #    split applies to the selected tokens only, never to the other 85%.
    split = torch.rand(shape, generator=generator, device=device)
    to_mask = selected & (split < mask_replace_prob)
    to_random = (
        selected & (split >= mask_replace_prob) & (split < mask_replace_prob + random_replace_prob)
    )
    # The rest of the selected tokens keep their id, yet still carry their label: the model
    # is asked to "predict" a token it can see, which it cannot tell apart from the others.

    # clone(): never modify the caller's tensor (transformers' collator does, in place).
    inputs = input_ids.clone()
    inputs[to_mask] = mask_token_id
    # Uniform over the whole vocabulary, like both reference implementations: randint's upper
    # bound is exclusive, so vocab_size (not vocab_size - 1) reaches the last id.
    random_ids = torch.randint(
        vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype
    )
    inputs[to_random] = random_ids[to_random]
    return inputs, labels
