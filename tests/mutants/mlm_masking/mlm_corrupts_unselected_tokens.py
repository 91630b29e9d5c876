"""Mutant: the 80/10/10 replacement is applied to every token, not only the selected ones."""

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
    labels = input_ids.masked_fill(~selected, IGNORE_INDEX)
    split = torch.rand(input_ids.shape, generator=generator)
    inputs = input_ids.clone()
    inputs[split < mask_replace_prob] = mask_token_id
    to_random = (split >= mask_replace_prob) & (split < mask_replace_prob + random_replace_prob)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    inputs[to_random] = random_ids[to_random]
    return inputs, labels
