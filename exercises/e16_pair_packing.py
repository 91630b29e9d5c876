"""Exercise pair_packing: [CLS] A [SEP] B [SEP], token types, truncation and padding.

The last step from text to BERT's inputs. A single text becomes ``[CLS] A [SEP]``; a pair
(question + passage, premise + hypothesis, the two sentences of next-sentence prediction)
becomes ``[CLS] A [SEP] B [SEP]``, with token type (segment id) 0 for the first part and 1 for
the second. Long inputs are truncated to ``max_length`` *including* the special tokens; a batch
is padded on the right with attention 0. Interviewers ask which token type the [SEP]s get,
what max_length counts, which segment loses tokens, and where the padding goes.
"""

from __future__ import annotations

from collections.abc import Mapping


def pack_pair(
    tokens_a: list[str],
    tokens_b: list[str] | None,
    vocab: Mapping[str, int],
    max_length: int | None = None,
) -> dict[str, list[int]]:
    """Pack one text or a pair of texts (already WordPiece tokens) into BERT's inputs.

    Args:
        tokens_a: the first segment's tokens (may be empty). Leave tokens_a and tokens_b
            unchanged: the caller keeps them (truncate copies, not the lists passed in).
        tokens_b: the second segment's tokens, or None for a single text. An empty list is a
            real, empty second segment: ``[CLS] A [SEP] [SEP]``.
        vocab: token -> id. A token that is not in it maps to ``vocab["[UNK]"]``. Take the ids
            of "[CLS]", "[SEP]" and "[UNK]" from it (101, 102 and 100 in the real vocabulary).
        max_length: None for no truncation. Otherwise the returned lists hold at most
            max_length ids, special tokens included. A single text keeps the first
            ``max_length - 2`` tokens of A. A pair is truncated "longest_first", keeping the
            start of each segment, to a budget of ``max_length - 3`` tokens:

            * if A and B fit, nothing is cut;
            * else if the shorter segment has at most ``budget // 2`` tokens, it is kept whole
              and the longer one keeps ``budget - len(shorter)`` tokens;
            * else both are cut to ``budget // 2``, and for an odd budget the spare token goes
              to the longer segment, to B when they are equally long.

            (This is transformers v5 / Rust ``tokenizers``. Google's ``_truncate_seq_pair``
            pops one token at a time from the longer segment, B on ties: for A=4, B=4 and a
            budget of 5 it keeps A=3, B=2, where this rule keeps A=2, B=3.)
            Raise ValueError when max_length cannot hold the special tokens (< 2 for a
            single text, < 3 for a pair).

    Returns:
        ``{"input_ids": [...], "token_type_ids": [...], "attention_mask": [...]}``, three lists
        of Python ints of the same length. input_ids is ``[CLS] A [SEP]`` or
        ``[CLS] A [SEP] B [SEP]``; token_type_ids is 0 on [CLS], A and the first [SEP], 1 on B
        and its [SEP]; attention_mask is all 1 (nothing is padded yet). Example::

            pack_pair(["the", "cat"], ["it", "sat"], vocab) == {
                "input_ids":      [101, 1996, 4937, 102, 2009, 2938, 102],
                "token_type_ids": [0,   0,    0,    0,   1,    1,    1],
                "attention_mask": [1,   1,    1,    1,   1,    1,    1],
            }
    """
    raise NotImplementedError("pack_pair is yours to write; stuck? run: bertprep hint pair_packing")


def pad_batch(encodings: list[dict[str, list[int]]], pad_id: int) -> dict[str, list[list[int]]]:
    """Pad encodings (as pack_pair returns them) to the longest one, on the right.

    Args:
        encodings: dicts with "input_ids", "token_type_ids" and "attention_mask" lists of equal
            length within each dict; lengths differ between dicts. Leave them unchanged (build
            new lists).
        pad_id: the id to pad input_ids with (``vocab["[PAD]"]``, 0 in the real vocabulary).

    Returns:
        ``{"input_ids": [[...], ...], "token_type_ids": [[...], ...], "attention_mask":
        [[...], ...]}``: one row per encoding, in order, every row as long as the longest
        encoding. Padding goes at the end (right): input_ids get pad_id, token_type_ids get 0,
        attention_mask gets 0. An empty list of encodings gives three empty lists.
    """
    raise NotImplementedError("pad_batch is yours to write; stuck? run: bertprep hint pair_packing")
