"""Mutant: never adds "##": continuation pieces are looked up and returned bare."""

from __future__ import annotations

from collections.abc import Mapping

from .e14_basic_tokenizer import basic_tokenize


def wordpiece_tokenize(
    word: str,
    vocab: Mapping[str, int],
    unk_token: str = "[UNK]",
    max_input_chars_per_word: int = 100,
) -> list[str]:
    # Very long "words" (URLs without punctuation, DNA, base64) are not worth spelling out
    # piece by piece: they become one [UNK] without being looked at. transformers and the Rust
    # tokenizer use 100 characters; Google's tokenization.py used 200.
    if len(word) > max_input_chars_per_word:
        return [unk_token]

    pieces = []
    start = 0
    while start < len(word):
        # Greedy longest match first: try word[start:] whole, then one character shorter, and
        # so on. Longest-first is what makes "tokenization" come out as "token" + "##ization"
        # instead of twelve single letters (every letter and "##letter" is in the vocabulary,
        # so shortest-first always "succeeds" and is always useless). Greedy is not optimal:
        # a greedy choice can strand the rest of the word even when another split exists, and
        # BERT accepts that (the word becomes [UNK]).
        end = len(word)
        piece = None
        while start < end:
            candidate = word[start:end]
            if candidate in vocab:
                piece = candidate
                break
            end -= 1
        if piece is None:
            # No piece fits here. The *whole word* becomes one [UNK]: the pieces found so far
            # are thrown away, since "un" + [UNK] would claim a split the model never saw.
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces


def tokenize(text: str, vocab: Mapping[str, int], do_lower_case: bool = True) -> list[str]:
    # Basic tokenization first (yours, from e14), then WordPiece on every word on its own:
    # "##" pieces never cross a word boundary, and a word that fails becomes one [UNK] while its
    # neighbours are untouched. do_lower_case must match the vocabulary: an uncased vocabulary
    # has no capital letters, so cased input would turn most words into [UNK].
    return [
        piece
        for word in basic_tokenize(text, do_lower_case=do_lower_case)
        for piece in wordpiece_tokenize(word, vocab)
    ]
