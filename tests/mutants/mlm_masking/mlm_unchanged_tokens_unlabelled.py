"""Mutant: labels only where the input was actually changed, so the 10% of selected tokens
left unchanged get -100 and are never predicted."""

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
    selected = torch.rand(input_ids.shape, generator=generator) < mlm_probability
    selected &= ~special_tokens_mask.bool()
    split = torch.rand(input_ids.shape, generator=generator)
    to_mask = selected & (split < mask_replace_prob)
    to_random = selected & (split >= mask_replace_prob)
    to_random &= split < mask_replace_prob + random_replace_prob
    inputs = input_ids.clone()
    inputs[to_mask] = mask_token_id
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    inputs[to_random] = random_ids[to_random]
    labels = input_ids.masked_fill(inputs == input_ids, IGNORE_INDEX)
    return inputs, labels
