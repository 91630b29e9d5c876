"""Exercise basic_tokenizer: raw text to words, the first stage of BERT's tokenizer.

"Implement a simple BERT" starts before the model: text becomes words (this exercise), words
become WordPiece pieces (e15), pieces become ``[CLS] A [SEP] B [SEP]`` ids (e16). Interviewers
like this stage because it hides decisions people get wrong from memory: Chinese is cut into
single characters but Korean and Japanese kana are not; uncased BERT strips accents as well
as lower-casing; "don't" is three words; "$" counts as punctuation.

The character classes are given below (they are lookup tables, not the lesson); the pipeline
that uses them is yours. Standard library only (``unicodedata`` is all you need).
"""

from __future__ import annotations

import unicodedata

# ---------------------------------------------------------------------------------------------
# Character classes (given: use them as they are)
# ---------------------------------------------------------------------------------------------


def _is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return, and Unicode space/line/paragraph separators."""
    return char in " \t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _is_control(char: str) -> bool:
    """Characters to delete: control (Cc), format (Cf, e.g. zero-width space), private-use (Co)
    and surrogate (Cs) code points. Tab, newline and carriage return are whitespace instead."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(char: str) -> bool:
    """Unicode punctuation (categories P*), plus every ASCII character that is neither a letter,
    a digit nor a space ("$", "+", "<", "=", ">", "^", "`", "|", "~" are symbols to Unicode)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


# The CJK Unified Ideographs blocks of google-research/bert ``_is_chinese_char`` (Extension E
# as the Rust tokenizer of transformers v5 has it). Hangul, hiragana, katakana: not in here.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3400, 0x4DBF),  # Extension A
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2B73F),  # Extension C
    (0x2B740, 0x2B81F),  # Extension D
    (0x2B920, 0x2CEAF),  # Extension E
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
)


def _is_chinese_char(cp: int) -> bool:
    """Whether code point ``cp`` (an int: ``ord(char)``) is a CJK ideograph."""
    return any(low <= cp <= high for low, high in _CJK_RANGES)


# ---------------------------------------------------------------------------------------------
# Yours
# ---------------------------------------------------------------------------------------------


def basic_tokenize(text: str, do_lower_case: bool = True) -> list[str]:
    """Split raw text into BERT's "words", before WordPiece.

    In this order:

    1. Clean: delete U+0000, U+FFFD and every character ``_is_control`` accepts; replace every
       character ``_is_whitespace`` accepts by a plain space " ".
    2. Put a space before and after every CJK ideograph (``_is_chinese_char(ord(char))``), so
       each becomes a word of its own. Hangul and kana are *not* ideographs: leave them alone.
    3. Split on whitespace, with no empty words.
    4. Only if ``do_lower_case`` (uncased models): lower-case every character
       (``char.lower()``, one at a time) and strip accents: Unicode-decompose the word (NFD)
       and drop the nonspacing combining marks (category "Mn"). If ``do_lower_case`` is False,
       change nothing: no lower-casing, no accent stripping, no other Unicode normalisation
       (not even NFC).
    5. Split every word on punctuation (``_is_punctuation``): each punctuation character
       becomes a word of its own and the runs of other characters between them stay whole.

    Args:
        text: any string (any script, emoji, control characters, odd whitespace).
        do_lower_case: True for uncased checkpoints (bert-base-uncased, the bundled MiniLM).

    Returns:
        The words in order, each a non-empty str without whitespace. Examples::

            basic_tokenize("Hello, World!")           == ["hello", ",", "world", "!"]
            basic_tokenize("Don't pay $5")            == ["don", "'", "t", "pay", "$", "5"]
            basic_tokenize("Café 北京ok")              == ["cafe", "北", "京", "ok"]
            basic_tokenize("こんにちは")                == ["こんにちは"]  # kana: one word
            basic_tokenize("Café", do_lower_case=False) == ["Café"]

        With ``do_lower_case`` the NFD of step 4 also splits every Hangul syllable into its
        jamo letters ("안" -> "ᄋ" + "ᅡ" + "ᆫ"), which are kept: Hugging Face does the same.
        (Per-character ``lower()`` and ``str.lower()`` differ only for a word-final capital
        sigma, which the checks leave out.)
    """
    raise NotImplementedError(
        "basic_tokenize is yours to write; stuck? run: bertprep hint basic_tokenizer"
    )
