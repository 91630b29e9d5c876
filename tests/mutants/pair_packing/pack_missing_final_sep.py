"""Mutant: no [SEP] after segment B: [CLS] A [SEP] B."""

from __future__ import annotations

from collections.abc import Mapping

KEYS = ("input_ids", "token_type_ids", "attention_mask")


def _truncate_longest_first(len_a: int, len_b: int, budget: int) -> tuple[int, int]:
    """How many tokens of A and of B to keep so that together they fit in ``budget``.

    "longest_first" cuts the longer segment first: each segment is entitled to half the budget;
    a segment shorter than its half keeps everything and leaves the rest to the other. When
    both are longer than half, both are cut to half, and an odd budget's spare token goes to
    the *longer* segment, to B when they are equally long.

    That last rule is the one transformers v5 (the Rust ``tokenizers`` library) applies, so it is
    what every Hugging Face pipeline feeds BERT today. Google's ``_truncate_seq_pair`` and the
    legacy Python tokenizer pop one token at a time from the longer segment, B on ties, and end
    up giving the spare token to A: A=4, B=4, budget 5 keeps (3, 2) there and (2, 3) here. Both
    are reasonable; what matters is to train and serve with the same rule.
    """
    if len_a + len_b <= budget:
        return len_a, len_b
    half, spare = divmod(budget, 2)
    if min(len_a, len_b) <= half:
        # The shorter one fits in its half: keep it whole, the longer one gets the rest.
        return (len_a, budget - len_a) if len_a <= len_b else (budget - len_b, len_b)
    return (half + spare, half) if len_a > len_b else (half, half + spare)


def pack_pair(
    tokens_a: list[str],
    tokens_b: list[str] | None,
    vocab: Mapping[str, int],
    max_length: int | None = None,
) -> dict[str, list[int]]:
    unk = vocab["[UNK]"]
    ids_a = [vocab.get(token, unk) for token in tokens_a]
    ids_b = None if tokens_b is None else [vocab.get(token, unk) for token in tokens_b]

    if max_length is not None:
        # max_length counts *everything* the model sees, special tokens included: a model
        # with 512 positions has room for 509 tokens of a pair, 510 of a single text.
        n_special = 2 if ids_b is None else 3
        if max_length < n_special:
            raise ValueError(
                f"max_length={max_length} cannot even hold the {n_special} special tokens"
            )
        budget = max_length - n_special
        if ids_b is None:
            ids_a = ids_a[:budget]
        else:
            # Cutting only A (or only the end of A + B) can throw away one segment entirely,
            # e.g. the whole question of a QA pair; longest_first shares the cut.
            keep_a, keep_b = _truncate_longest_first(len(ids_a), len(ids_b), budget)
            ids_a, ids_b = ids_a[:keep_a], ids_b[:keep_b]

    # Segment A with its [CLS] and [SEP] is type 0; segment B with *its* closing [SEP] is
    # type 1. All zeros would make the segment embedding useless for telling A from B.
    first = [vocab["[CLS]"], *ids_a, vocab["[SEP]"]]
    second = [] if ids_b is None else list(ids_b)
    return {
        "input_ids": first + second,
        "token_type_ids": [0] * len(first) + [1] * len(second),
        "attention_mask": [1] * (len(first) + len(second)),
    }


def pad_batch(encodings: list[dict[str, list[int]]], pad_id: int) -> dict[str, list[list[int]]]:
    if not encodings:
        return {key: [] for key in KEYS}
    longest = max(len(encoding["input_ids"]) for encoding in encodings)
    batch: dict[str, list[list[int]]] = {key: [] for key in KEYS}
    for encoding in encodings:
        n = longest - len(encoding["input_ids"])
        # Right padding, as BERT's tokenizer does: with absolute position embeddings the real
        # tokens then keep positions 0, 1, 2, ... whatever the batch. Padding gets attention 0
        # (the additive mask turns it into a very negative score) and token type 0.
        # New lists (+), never .extend(): the caller's encodings must stay as they were.
        batch["input_ids"].append(encoding["input_ids"] + [pad_id] * n)
        batch["token_type_ids"].append(encoding["token_type_ids"] + [0] * n)
        batch["attention_mask"].append(encoding["attention_mask"] + [0] * n)
    return batch
