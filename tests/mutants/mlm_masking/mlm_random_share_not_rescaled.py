"""Mutant: transformers' two coins, but the second uses random_replace_prob as is (0.1 of the
remaining 20%, i.e. 2% random) instead of random_replace_prob / (1 - mask_replace_prob)."""

import torch

IGNORE_INDEX = -100


def mask_tokens(
    input_ids,
    special_tokens_mask,
    *,
    mask_token_id,
    vocab_size,
    mlm_probability=0.15,
    mask_replace_prob=0.8,
    random_replace_prob=0.1,
    generator=None,
):
    shape = input_ids.shape
    probability_matrix = torch.full(shape, mlm_probability)
    probability_matrix.masked_fill_(special_tokens_mask.bool(), 0.0)
    selected = torch.bernoulli(probability_matrix, generator=generator).bool()
    labels = input_ids.clone()
    labels[~selected] = IGNORE_INDEX
    inputs = input_ids.clone()
    masked = torch.bernoulli(torch.full(shape, mask_replace_prob), generator=generator).bool()
    masked &= selected
    inputs[masked] = mask_token_id
    randomized = torch.bernoulli(torch.full(shape, random_replace_prob), generator=generator)
    randomized = randomized.bool() & selected & ~masked
    random_ids = torch.randint(vocab_size, shape, generator=generator)
    inputs[randomized] = random_ids[randomized]
    return inputs, labels
