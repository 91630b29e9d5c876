"""BERT's WordPiece tokenizer, from scratch, in the standard library only.

Text becomes model input in three steps.

1. **Basic tokenization** (:class:`BasicTokenizer`) turns raw text into "words": it drops
   control characters and normalises whitespace, puts spaces around every CJK ideograph,
   lower-cases and strips accents (uncased models), then splits on whitespace and punctuation.
2. **WordPiece** (:class:`WordpieceTokenizer`) splits every word into vocabulary pieces, greedily
   taking the longest piece that matches; pieces after the first carry a ``##`` prefix, and a word
   that cannot be covered becomes a single ``[UNK]``.
3. **Packing** (:meth:`BertTokenizer.__call__`) maps pieces to ids and lays them out as
   ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` with token types 0 for the first segment and 1
   for the second, truncating to ``max_length`` and padding with ``[PAD]`` on request.

Special tokens typed in the text (``"[MASK]"``, exact spelling and case) are cut out of the raw
text before step 1 and kept whole, as Hugging Face does for its added special tokens.

Sources: google-research/bert ``tokenization.py`` (``BasicTokenizer``, ``WordpieceTokenizer``,
``_is_chinese_char``, ``_is_punctuation``, ``_is_control``, ``_is_whitespace``) and Hugging Face
transformers ``models/bert/tokenization_bert_legacy.py``. The behaviour matched, character for
character, is that of transformers v5 ``BertTokenizer``, which runs the Rust ``tokenizers``
pipeline (``BertNormalizer``, ``BertPreTokenizer``, ``WordPiece``, ``TemplateProcessing``); the
few places where that pipeline differs from the Python original are marked in the code.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------------------------


def _category(char: str) -> str:
    """The Unicode general category of ``char``, as the Rust ``tokenizers`` pipeline sees it.

    That pipeline classifies characters with Unicode 8.0 tables, so to it the ~500 marks, format
    characters and punctuation signs added to Unicode since then are unassigned (Cn), and three
    characters keep an older category: see the appendix at the end of this file. Everything else
    is ``unicodedata.category``.
    """
    cp = ord(char)
    if cp in _RUST_OLD_CATEGORY:
        return _RUST_OLD_CATEGORY[cp]
    i = bisect.bisect_right(_NEWER_THAN_UNICODE_8_STARTS, cp) - 1
    if i >= 0 and cp <= _NEWER_THAN_UNICODE_8[i][1]:
        return "Cn"
    return unicodedata.category(char)


def _is_whitespace(char: str) -> bool:
    """Space separators (Zs), line/paragraph separators, and tab/newline/carriage return.

    Google's ``_is_whitespace`` takes " ", "\\t", "\\n", "\\r" and category Zs. The Rust
    normaliser uses Unicode's White_Space property, which also has U+2028/U+2029 (Zl/Zp); the
    Python original splits on those too (``str.split``), so both agree that they separate words.
    """
    return char in " \t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _is_control(char: str) -> bool:
    """Control, format, private-use and surrogate characters: these are deleted from the text.

    Tab, newline and carriage return are categorised Cc but are treated as whitespace instead.
    Unassigned code points (Cn) are kept: the Rust normaliser keeps them (so does Google's
    ``_is_control``, which deletes Cc and Cf only; transformers' legacy Python tokenizer deletes
    every C* category), and WordPiece then turns them into [UNK].
    """
    if char in "\t\n\r":
        return False
    return _category(char) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(char: str) -> bool:
    """Unicode punctuation (P*), plus every ASCII symbol that is not a letter or a digit.

    BERT counts "$", "^", "`", "+", "<", "=", ">", "|", "~" as punctuation for consistency, although
    Unicode files them as symbols (S*).
    """
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return _category(char).startswith("P")


# The CJK Unified Ideographs blocks of Google's ``_is_chinese_char``. Hangul, hiragana and katakana
# are NOT here: those scripts are written with spaces between words, so they are tokenized like any
# other alphabet. One difference: Google starts Extension E at U+2B820 but the Rust normaliser
# starts it at U+2B920, so U+2B820..U+2B91F are not split there; we follow Rust.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3400, 0x4DBF),  # Extension A
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2B73F),  # Extension C
    (0x2B740, 0x2B81F),  # Extension D
    (0x2B920, 0x2CEAF),  # Extension E (Google: from 0x2B820)
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x2F800, 0x2FA1F),  # CJK Compatibility Ideographs Supplement
)


def _is_chinese_char(cp: int) -> bool:
    """Whether the code point is a CJK ideograph (Chinese hanzi, Japanese kanji, Korean hanja)."""
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


# ---------------------------------------------------------------------------------------------
# Stage 1: basic tokenization
# ---------------------------------------------------------------------------------------------


class BasicTokenizer:
    """Cleans, normalises and splits text into words on whitespace and punctuation.

    Follows Google's ``BasicTokenizer`` and the one in transformers' ``tokenization_bert_legacy``,
    but in the order of the Rust ``BertNormalizer``: strip accents, then lower-case, and no NFC
    pass (the legacy Python class composes to NFC first; the Rust pipeline does not).

    Args:
        do_lower_case: lower-case the text (uncased models).
        never_split: whitespace-delimited words passed through untouched (no lower-casing, accent
            stripping or punctuation splitting).
        tokenize_chinese_chars: put every CJK ideograph in a word of its own.
        strip_accents: remove combining accents; ``None`` means "exactly when lower-casing".
    """

    def __init__(
        self,
        do_lower_case: bool = True,
        never_split: Iterable[str] | None = None,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
    ) -> None:
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = tokenize_chinese_chars
        # Uncased BERT was trained on text with accents removed, so stripping follows lower-casing
        # unless asked otherwise; cased models keep "é" distinct from "e".
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into normalised words and single punctuation characters."""
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            # Chinese is written without spaces, and the vocabulary holds single ideographs, so
            # each ideograph is made a word of its own.
            text = self._space_out_chinese_chars(text)
        words = []
        for word in text.split():
            if word in self.never_split:
                words.append(word)
            else:
                words.extend(self._split_on_punctuation(self._normalize(word)))
        return words

    def _clean_text(self, text: str) -> str:
        """Delete NUL, U+FFFD and control characters; turn every whitespace character into " "."""
        out = []
        for char in text:
            if char in "\x00\ufffd" or _is_control(char):
                continue
            out.append(" " if _is_whitespace(char) else char)
        return "".join(out)

    def _space_out_chinese_chars(self, text: str) -> str:
        return "".join(f" {c} " if _is_chinese_char(ord(c)) else c for c in text)

    def _normalize(self, word: str) -> str:
        if self.strip_accents:
            word = self._strip_accents(word)
        if self.do_lower_case:
            # Character by character, like Rust's char::to_lowercase: str.lower() would turn a
            # word-final capital sigma into "ς", where BERT (and its vocabulary) has "σ".
            word = "".join(c.lower() for c in word)
        return word

    @staticmethod
    def _strip_accents(word: str) -> str:
        """Decompose (NFD) and drop the nonspacing combining marks: "café" -> "cafe"."""
        decomposed = unicodedata.normalize("NFD", word)
        return "".join(c for c in decomposed if _category(c) != "Mn")

    @staticmethod
    def _split_on_punctuation(word: str) -> list[str]:
        """Make every punctuation character a word of its own: "don't" -> ["don", "'", "t"]."""
        pieces: list[str] = []
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(char)
            else:
                current += char
        if current:
            pieces.append(current)
        return pieces


# ---------------------------------------------------------------------------------------------
# Stage 2: WordPiece
# ---------------------------------------------------------------------------------------------


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece (Google's and transformers' ``WordpieceTokenizer``).

    Example: with pieces "un", "##aff", "##able" in the vocabulary, "unaffable" becomes
    ["un", "##aff", "##able"].

    ``max_input_chars_per_word`` is 100 in transformers and in the Rust WordPiece model (Google's
    ``tokenization.py`` uses 200); a longer word becomes [UNK] without being looked at.
    """

    def __init__(
        self, vocab: Iterable[str], unk_token: str = "[UNK]", max_input_chars_per_word: int = 100
    ) -> None:
        self.vocab = vocab if isinstance(vocab, dict | set | frozenset) else set(vocab)
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text: str) -> list[str]:
        """WordPiece every whitespace-separated word of ``text`` (normally already one word)."""
        pieces: list[str] = []
        for word in text.split():
            pieces.extend(self._tokenize_word(word))
        return pieces

    def _tokenize_word(self, word: str) -> list[str]:
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            match = self._longest_piece_at(word, start)
            if match is None:
                # One uncoverable stretch spoils the whole word: emit a single [UNK] for it.
                return [self.unk_token]
            piece, start = match
            pieces.append(piece)
        return pieces

    def _longest_piece_at(self, word: str, start: int) -> tuple[str, int] | None:
        """The longest vocabulary piece for ``word[start:end]``, and its ``end``.

        A piece that does not begin the word is looked up with the ``##`` prefix.
        """
        prefix = "##" if start > 0 else ""
        for end in range(len(word), start, -1):
            piece = prefix + word[start:end]
            if piece in self.vocab:
                return piece, end
        return None


# ---------------------------------------------------------------------------------------------
# Stage 3: the full tokenizer, ids and packing
# ---------------------------------------------------------------------------------------------

TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


def load_vocab(path: str | Path) -> dict[str, int]:
    """Read a vocab.txt (one token per line; the line number is the id)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no WordPiece vocabulary file at {str(path)!r}")
    with path.open(encoding="utf-8") as f:
        # Like transformers' load_vocab: strip only the newline (a token may contain spaces), and a
        # duplicated line keeps its last id.
        return {line.rstrip("\n"): index for index, line in enumerate(f)}


class BertTokenizer:
    """Text to BERT inputs: basic tokenization, WordPiece, then ``[CLS] A [SEP] B [SEP]`` packing.

    Equal, on the bert-base-uncased vocabulary, to transformers v5 ``BertTokenizer`` (the Rust
    backed one): same tokens, ids, token types, attention masks, truncation and padding.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        do_lower_case: bool = True,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        model_max_length: int = 512,
    ) -> None:
        self.vocab = dict(vocab)
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        # The order of HF's all_special_tokens.
        self.all_special_tokens = [unk_token, sep_token, pad_token, cls_token, mask_token]
        missing = [t for t in self.all_special_tokens if t not in self.vocab]
        if missing:
            raise ValueError(f"special tokens {missing} are not in the vocabulary")
        self.unk_token_id = self.vocab[unk_token]
        self.sep_token_id = self.vocab[sep_token]
        self.pad_token_id = self.vocab[pad_token]
        self.cls_token_id = self.vocab[cls_token]
        self.mask_token_id = self.vocab[mask_token]
        self.all_special_ids = [self.vocab[t] for t in self.all_special_tokens]
        self._special_ids = frozenset(self.all_special_ids)
        self.model_max_length = model_max_length

        self.basic_tokenizer = BasicTokenizer(
            do_lower_case=do_lower_case,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
        )
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab, unk_token=unk_token)
        # Longest first, so that with overlapping tokens the regex finds the longest match.
        alternatives = sorted(self.all_special_tokens, key=len, reverse=True)
        self._special_token_pattern = re.compile("|".join(map(re.escape, alternatives)))

    @classmethod
    def from_vocab_file(
        cls, path: str | Path, do_lower_case: bool = True, **kwargs
    ) -> BertTokenizer:
        """Build from a vocab.txt: ``BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")``.

        Further keyword arguments go to the constructor (``tokenize_chinese_chars``, ...).
        """
        return cls(load_vocab(path), do_lower_case=do_lower_case, **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -- text <-> tokens <-> ids ------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Text to WordPiece tokens, without [CLS]/[SEP].

        Special tokens written in the text are matched on the raw text, exactly and case-sensitively
        (``"[MASK]"`` yes, ``"[mask]"`` no: it is lower-cased and split as "[", "mask", "]"), and
        need no spaces around them (``"x[MASK]y"`` -> ["x", "[MASK]", "y"]). This is how Hugging
        Face handles its added special tokens (``normalized=False``).
        """
        tokens: list[str] = []
        start = 0
        for match in self._special_token_pattern.finditer(text):
            tokens.extend(self._tokenize_plain(text[start : match.start()]))
            tokens.append(match.group())
            start = match.end()
        tokens.extend(self._tokenize_plain(text[start:]))
        return tokens

    def _tokenize_plain(self, text: str) -> list[str]:
        return [
            piece
            for word in self.basic_tokenizer.tokenize(text)
            for piece in self.wordpiece_tokenizer.tokenize(word)
        ]

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token(s) to id(s); a token not in the vocabulary maps to [UNK]'s id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(token, self.unk_token_id) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        """Id(s) to token(s); raises ValueError for an id outside the vocabulary."""
        if isinstance(ids, int):
            return self._id_to_token(ids)
        return [self._id_to_token(index) for index in ids]

    def _id_to_token(self, index: int) -> str:
        try:
            return self.ids_to_tokens[int(index)]
        except KeyError:
            raise ValueError(f"token id {index} is not in the vocabulary") from None

    def get_special_tokens_mask(
        self,
        token_ids_0: Sequence[int],
        token_ids_1: Sequence[int] | None = None,
        already_has_special_tokens: bool = True,
    ) -> list[int]:
        """1 where a special token is (or will be), 0 elsewhere.

        With ``already_has_special_tokens=True`` this is HF's definition: 1 for every id among
        [CLS], [SEP], [PAD], [MASK] *and* [UNK]. With ``False`` the ids are taken as unpacked
        segments and the mask marks where packing will put [CLS]/[SEP] (the legacy Python
        ``BertTokenizer``; the v5 Rust-backed one raises NotImplementedError there).
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("token_ids_1 must be None when the ids already hold [CLS]/[SEP]")
            return [1 if int(index) in self._special_ids else 0 for index in token_ids_0]
        mask = [1] + [0] * len(token_ids_0) + [1]
        if token_ids_1 is not None:
            mask += [0] * len(token_ids_1) + [1]
        return mask

    def decode(self, ids: int | Sequence[int], skip_special_tokens: bool = False) -> str:
        """Ids back to text, like HF's WordPiece decoder (``decoders.WordPiece(cleanup=True)``).

        Tokens are joined with spaces except that a ``##`` piece glues onto the previous token.
        HF's cleanup then runs on each token separately (not on the joined string), so in effect
        only a space before ".", "?", "!" or "," disappears: "it ' s" is not turned into "it's".
        ``clean_up_tokenization_spaces`` is False for this tokenizer, so nothing else is cleaned.
        Ids outside the vocabulary are skipped, as in HF. ``skip_special_tokens`` also drops
        [UNK].
        """
        if isinstance(ids, int):
            ids = [ids]
        tokens = []
        for index in map(int, ids):
            if index < 0:
                raise ValueError(f"token ids are non-negative, got {index}")
            if index not in self.ids_to_tokens:
                continue
            if skip_special_tokens and index in self._special_ids:
                continue
            tokens.append(self.ids_to_tokens[index])
        return "".join(_decode_piece(token, first=i == 0) for i, token in enumerate(tokens))

    # -- packing --------------------------------------------------------------------------------

    def __call__(
        self,
        text: str | Sequence[str],
        text_pair: str | Sequence[str] | None = None,
        *,
        max_length: int | None = None,
        truncation: bool | str | None = None,
        padding: bool | str = False,
        add_special_tokens: bool = True,
    ) -> dict[str, list]:
        """Encode one text (or pair) or a batch into ``input_ids``, ``token_type_ids`` and
        ``attention_mask``: lists of ints, or lists of such lists for a batch.

        Arguments mean what they mean in HF's ``tokenizer(...)``:

        * ``truncation``: True/"longest_first", "only_first", "only_second", False/
          "do_not_truncate". ``None`` (the default) is HF's default: truncate "longest_first" when
          a ``max_length`` is given without padding, otherwise not at all.
        * ``padding``: False/"do_not_pad", True/"longest" (to the longest in the batch),
          "max_length". Padding is on the right with [PAD], attention 0, token type 0.
        * ``max_length``: defaults to ``model_max_length`` (512) when truncating or padding to
          max_length.

        Also as in HF, an empty ``text_pair`` string with a single ``text`` counts as no pair.
        """
        padding, truncation, max_length = self._resolve_strategies(padding, truncation, max_length)
        batch, is_batch = _as_batch(text, text_pair)
        encodings = []
        for a, b in batch:
            ids_a = self.convert_tokens_to_ids(self.tokenize(a))
            ids_b = None if b is None else self.convert_tokens_to_ids(self.tokenize(b))
            if truncation != "do_not_truncate":
                n_special = (2 if b is None else 3) if add_special_tokens else 0
                if max_length < n_special:
                    # HF silently skips truncation here (an unsigned underflow in the Rust
                    # tokenizer), returning more than max_length tokens: refuse instead.
                    raise ValueError(
                        f"max_length={max_length} cannot even hold the {n_special} special tokens"
                        f" of a {'single' if b is None else 'pair'} encoding"
                    )
                ids_a, ids_b = truncate_pair(ids_a, ids_b, max_length - n_special, truncation)
            encodings.append(self._pack(ids_a, ids_b, add_special_tokens))

        if padding != "do_not_pad" and encodings:
            target = (
                max_length
                if padding == "max_length"
                else max(len(e["input_ids"]) for e in encodings)
            )
            encodings = [self._pad(e, target) for e in encodings]

        keys = ("input_ids", "token_type_ids", "attention_mask")
        if not is_batch:
            return {key: encodings[0][key] for key in keys}
        return {key: [e[key] for e in encodings] for key in keys}

    def _resolve_strategies(
        self, padding: bool | str, truncation: bool | str | None, max_length: int | None
    ) -> tuple[str, str, int]:
        """Normalise the arguments the way HF's ``_get_padding_truncation_strategies`` does."""
        # HF's backward-compatible rule: a bare max_length (no padding) switches truncation on.
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"
        if padding is True or padding is False:
            padding = "longest" if padding else "do_not_pad"
        if truncation is True:
            truncation = "longest_first"
        elif truncation is None or truncation is False:
            truncation = "do_not_truncate"
        if padding not in PADDING_STRATEGIES:
            raise ValueError(f"padding={padding!r} is not one of {PADDING_STRATEGIES} or a bool")
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(
                f"truncation={truncation!r} is not one of {TRUNCATION_STRATEGIES} or a bool"
            )
        if max_length is None:
            max_length = self.model_max_length
        elif isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 0:
            raise ValueError(f"max_length must be a non-negative int, got {max_length!r}")
        return padding, truncation, max_length

    def _pack(self, ids_a: list[int], ids_b: list[int] | None, add_special_tokens: bool) -> dict:
        """``[CLS] A [SEP]`` (types 0...) or ``[CLS] A [SEP] B [SEP]`` (types 0... then 1...)."""
        if add_special_tokens:
            first = [self.cls_token_id, *ids_a, self.sep_token_id]
            second = [] if ids_b is None else [*ids_b, self.sep_token_id]
        else:
            first, second = list(ids_a), list(ids_b or [])
        return {
            "input_ids": first + second,
            "token_type_ids": [0] * len(first) + [1] * len(second),
            "attention_mask": [1] * (len(first) + len(second)),
        }

    def _pad(self, encoding: dict, length: int) -> dict:
        """Right-pad to ``length`` with [PAD] (token type 0, attention 0); never cuts."""
        n = max(0, length - len(encoding["input_ids"]))
        return {
            "input_ids": encoding["input_ids"] + [self.pad_token_id] * n,
            "token_type_ids": encoding["token_type_ids"] + [0] * n,
            "attention_mask": encoding["attention_mask"] + [0] * n,
        }


def _decode_piece(token: str, first: bool) -> str:
    """One token's share of the decoded string (the Rust ``decoders.WordPiece``, step by step)."""
    if not first:
        token = token[2:] if token.startswith("##") else " " + token
    for dirty, clean in _DECODE_CLEANUP:
        token = token.replace(dirty, clean)
    return token


# HF's ``clean_up_tokenization`` replacements, in order (Rust ``decoders::wordpiece::cleanup``).
_DECODE_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def _as_batch(
    text: str | Sequence[str], text_pair: str | Sequence[str] | None
) -> tuple[list[tuple[str, str | None]], bool]:
    """Check the inputs and return ``([(a, b_or_None), ...], is_batch)``."""
    if isinstance(text, str):
        if text_pair is not None and not isinstance(text_pair, str):
            raise ValueError(
                "text is a single str, so text_pair must be a str too "
                f"(got {type(text_pair).__name__}); pass lists for a batch of pairs"
            )
        # HF tests ``if text_pair``: an empty second text means a single-sequence encoding.
        return [(text, text_pair or None)], False
    if not isinstance(text, list | tuple) or not all(isinstance(t, str) for t in text):
        raise ValueError(
            f"text must be a str or a list of str, got {type(text).__name__}"
            " (pre-tokenized input is not supported)"
        )
    if text_pair is None:
        return [(t, None) for t in text], True
    if not isinstance(text_pair, list | tuple) or not all(isinstance(t, str) for t in text_pair):
        raise ValueError("text is a batch (list of str), so text_pair must be a list of str too")
    if len(text_pair) != len(text):
        raise ValueError(
            f"batch length of text ({len(text)}) differs from that of text_pair ({len(text_pair)})"
        )
    # In a batch an empty string is a real (empty) second segment, again as in HF.
    return list(zip(text, text_pair, strict=True)), True


def truncate_pair(
    ids_a: list[int], ids_b: list[int] | None, budget: int, strategy: str
) -> tuple[list[int], list[int] | None]:
    """Cut segments A (and B) so that together they hold at most ``budget`` tokens.

    ``budget`` is ``max_length`` minus the special tokens. Follows the Rust ``tokenizers``
    ``truncate_encodings``, including its quirks: a budget of 0 empties both segments whatever the
    strategy, and "only_first"/"only_second" refuse to cut their segment down to nothing.
    """
    if budget == 0:
        return [], (None if ids_b is None else [])
    total = len(ids_a) + len(ids_b or ())
    if total <= budget:
        return ids_a, ids_b
    if strategy == "longest_first":
        if ids_b is None:
            return ids_a[:budget], None
        keep_a, keep_b = _longest_first_lengths(len(ids_a), len(ids_b), budget)
        return ids_a[:keep_a], ids_b[:keep_b]

    if strategy == "only_second" and ids_b is None:
        raise ValueError("truncation='only_second' needs a text_pair, but only one text was given")
    target = ids_a if strategy == "only_first" else ids_b
    excess = total - budget
    if len(target) <= excess:
        which = "first" if strategy == "only_first" else "second"
        raise ValueError(
            f"truncation={strategy!r}: the {which} sequence has {len(target)} tokens, too few to "
            f"remove the {excess} needed to fit the budget; try truncation='longest_first'"
        )
    kept = target[: len(target) - excess]
    return (kept, ids_b) if strategy == "only_first" else (ids_a, kept)


def _longest_first_lengths(len_a: int, len_b: int, budget: int) -> tuple[int, int]:
    """How many tokens of A and of B "longest_first" keeps (``len_a + len_b > budget``).

    If the shorter segment fits in half the budget it is kept whole and the longer one gets the
    rest. Otherwise both are cut to half the budget, and an odd budget's spare token goes to the
    longer segment -- to B when they are equally long.

    That tie-break is the Rust ``tokenizers`` one. We match it because it is what transformers v5
    ``BertTokenizer`` (Rust-backed) returns, so what any HF pipeline feeds this model. Google's
    ``_truncate_seq_pair`` and the legacy Python tokenizer instead pop one token at a time from
    the longer segment, B on ties: A=4, B=4, budget 5 keeps A=3, B=2 there but A=2, B=3 here.
    """
    shorter = min(len_a, len_b)
    if 2 * shorter <= budget:
        return (len_a, budget - len_a) if len_a < len_b else (budget - len_b, len_b)
    half, spare = divmod(budget, 2)
    return (half + spare, half) if len_a > len_b else (half, half + spare)


# ---------------------------------------------------------------------------------------------
# Appendix: the Rust pipeline's Unicode 8.0 character tables
# ---------------------------------------------------------------------------------------------
#
# HF's Rust ``BertNormalizer``/``BertPreTokenizer`` decide "control", "punctuation" and
# "nonspacing mark" with the ``unicode_categories`` crate, whose tables are Unicode 8.0 (2015);
# Python 3.11's ``unicodedata`` is Unicode 14.0. To give the same tokens for every code point,
# ``_category`` reports as unassigned (Cn) the marks (Mn), format characters (Cf) and punctuation
# (P*) that Unicode added after 8.0: the Rust pipeline neither strips, deletes nor splits them,
# so each ends up inside a word that WordPiece maps to [UNK]. The ranges were found by comparing
# every code point against HF and may also cover letters in between, for which the answer is the
# same either way; tests/test_tokenizer.py re-checks all of them under Unicode 14.0.
#
# Two smaller differences do not change any token, so they are not copied: Rust's NFD (another
# crate, also older) does not decompose U+11938, and Rust's lower-casing knows ~40 capital letters
# added in Unicode 16. Both only occur in words that become [UNK] either way.

_NEWER_THAN_UNICODE_8 = (
    (0x61D, 0x61D), (0x7FD, 0x7FD), (0x890, 0x8E2), (0x9FD, 0x9FE), (0xA76, 0xA76),
    (0xAFA, 0xAFF), (0xB55, 0xB55), (0xC04, 0xC3C), (0xC77, 0xC77), (0xC84, 0xC84),
    (0xD00, 0xD00), (0xD3B, 0xD3C), (0xD81, 0xD81), (0xEBA, 0xEBA), (0x180F, 0x180F),
    (0x1885, 0x1886), (0x1ABF, 0x1ACE), (0x1B7D, 0x1B7E), (0x1DF6, 0x1DFB), (0x2E43, 0x2E5D),
    (0xA82C, 0xA82C), (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD), (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAD), (0x10F46, 0x10F89), (0x11070, 0x11074), (0x110C2, 0x110CD),
    (0x111CF, 0x111CF), (0x1123E, 0x1123E), (0x1133B, 0x1133B),
    (0x11438, 0x1145E), (0x11660, 0x1166C), (0x116B9, 0x116B9), (0x1182F, 0x1183B),
    (0x1193B, 0x11946), (0x119D4, 0x11AA2), (0x11C30, 0x11CB6), (0x11D31, 0x11D47),
    (0x11D90, 0x11D97), (0x11EF3, 0x11EF8), (0x11FFF, 0x11FFF), (0x12FF1, 0x12FF2),
    (0x13430, 0x13438), (0x16E97, 0x16E9A), (0x16F4F, 0x16F4F), (0x16FE2, 0x16FE4),
    (0x1CF00, 0x1CF46), (0x1E000, 0x1E02A), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2EF),
    (0x1E944, 0x1E95F),
)  # fmt: skip
_NEWER_THAN_UNICODE_8_STARTS = tuple(start for start, _ in _NEWER_THAN_UNICODE_8)

# Characters whose category changed after Unicode 8.0. In the Rust tables U+166D CANADIAN
# SYLLABICS CHI SIGN (now So) and U+111C9 SHARADA SANDHI MARK (now Mn) are still punctuation, so
# they split words; U+1734 HANUNOO SIGN PAMUDPOD (now Mc) is still a nonspacing mark, so it is
# stripped like an accent.
_RUST_OLD_CATEGORY = {0x166D: "Po", 0x111C9: "Po", 0x1734: "Mn"}
