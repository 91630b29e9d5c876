"""Mutant: strips accents but forgets to lower-case."""

from __future__ import annotations

import unicodedata

# ---------------------------------------------------------------------------------------------
# Character classes (given in the stub: lookup tables, not the lesson)
# ---------------------------------------------------------------------------------------------


def _is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return, and Unicode space/line/paragraph separators."""
    return char in " \t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _is_control(char: str) -> bool:
    """Characters deleted from the text: control (Cc), format (Cf, e.g. zero-width space),
    private-use (Co) and surrogate (Cs) code points. Tab, newline and carriage return are Cc
    too, but they separate words, so they count as whitespace instead."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(char: str) -> bool:
    """Unicode punctuation (categories P*), plus every ASCII character that is neither a letter,
    a digit nor a space: BERT also splits off "$", "+", "<", "=", ">", "^", "`", "|" and "~",
    which Unicode files as symbols (S*)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


# The CJK Unified Ideographs blocks (google-research/bert ``_is_chinese_char``). Hangul,
# hiragana and katakana are deliberately absent. Extension E starts at U+2B920 here, as in
# the Rust tokenizer transformers v5 runs (Google's Python code says U+2B820).
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
    """Whether code point ``cp`` is a CJK ideograph (hanzi, kanji, hanja)."""
    return any(low <= cp <= high for low, high in _CJK_RANGES)


# ---------------------------------------------------------------------------------------------
# The exercise
# ---------------------------------------------------------------------------------------------


def basic_tokenize(text: str, do_lower_case: bool = True) -> list[str]:
    # 1. Clean. Control characters are deleted (not turned into spaces): "zero\u200bwidth"
    #    stays one word, as the zero-width space was meant to be invisible. Every kind of
    #    whitespace (tab, no-break space, ideographic space, ...) becomes a plain " ".
    #    U+FFFD is the "decoding failed" replacement character: noise, so it goes too.
    cleaned = []
    for char in text:
        if char in "\x00\ufffd" or _is_control(char):
            continue
        cleaned.append(" " if _is_whitespace(char) else char)
    text = "".join(cleaned)

    # 2. Chinese (and Japanese kanji) is written without spaces and the vocabulary holds single
    #    ideographs, so each ideograph becomes a word of its own. Hangul and kana are not
    #    touched: Korean puts spaces between words, and the vocabulary has kana/Hangul pieces
    #    that WordPiece can combine. Splitting them too is a classic over-generalisation.
    text = "".join(f" {char} " if _is_chinese_char(ord(char)) else char for char in text)

    # 3. Whitespace split. str.split() with no argument drops empty strings; split(" ") would
    #    give "" for every double space.
    words = []
    for word in text.split():
        # 4. Uncased models (bert-base-uncased, MiniLM) were pre-trained on lower-cased text
        #    with the accents removed, so the vocabulary has "cafe" and no "café"; both steps
        #    go together. NFD splits "é" into "e" + U+0301 (a nonspacing mark, category Mn),
        #    and dropping the Mn characters leaves "e". Lower-casing alone would keep "café"
        #    (-> [UNK] or odd pieces), stripping alone would keep "Cafe" (not in the vocab).
        #    Cased models skip both: "É" and "é" are different tokens there.
        if do_lower_case:
            word = "".join(
                char
                for char in unicodedata.normalize("NFD", word)
                if unicodedata.category(char) != "Mn"
            )
            # NFD also decomposes every Hangul syllable into its jamo (letters, category Lo),
            # which survive the filter: "안" becomes "ᄋ" + "ᅡ" + "ᆫ". HF does the same, and the
            # uncased vocabulary holds jamo for it.

        # 5. Punctuation: every punctuation character is a word of its own, so "don't" gives
        #    "don", "'", "t" and "U.S." gives "u", ".", "s", ".". BERT never glues punctuation
        #    to letters; WordPiece would otherwise need "world!" and "world," in the vocab.
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    words.append(current)
                    current = ""
                words.append(char)
            else:
                current += char
        if current:
            words.append(current)
    return words
