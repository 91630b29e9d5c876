"""reference.tokenizer equals transformers' BertTokenizer (v5, Rust-backed) on the real vocabulary.

Everything is compared with Hugging Face on the bundled bert-base-uncased vocab: tokens, ids,
token types, attention masks, truncation, padding, decoding and special-token masks, on a
hand-written corpus, drawn strings and (nearly) every Unicode code point. The WordPiece algorithm
itself is also pinned down on a toy vocabulary, independently of HF.
"""

from __future__ import annotations

import ast
import string
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.tokenizer import (
    BasicTokenizer,
    BertTokenizer,
    WordpieceTokenizer,
    load_vocab,
    truncate_pair,
)

KEYS = ("input_ids", "token_type_ids", "attention_mask")


@pytest.fixture(scope="module")
def hf(minilm_dir):
    import transformers

    tok = transformers.BertTokenizer.from_pretrained(str(minilm_dir))
    # The comparisons below are only meaningful against the Rust pipeline with this config.
    assert tok.is_fast and tok.do_lower_case and tok.model_max_length == 512
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # silence "longer than 512 tokens" warnings
    yield tok
    transformers.logging.set_verbosity(verbosity)


@pytest.fixture(scope="module")
def ours(minilm_dir):
    return BertTokenizer.from_vocab_file(minilm_dir / "vocab.txt")


def hf_encode(hf, *args, **kwargs) -> dict:
    out = hf(*args, **kwargs)
    return {key: out[key] for key in KEYS}


def assert_same_as_hf(ours, hf, *args, **kwargs) -> bool:
    """Same encoding as HF; or, where HF refuses (a Rust "Truncation error"), a ValueError.

    Returns whether HF produced an encoding.
    """
    try:
        want = hf_encode(hf, *args, **kwargs)
    except Exception as hf_error:  # the Rust tokenizer raises a plain Exception
        assert "Truncation error" in str(hf_error)
        with pytest.raises(ValueError):
            ours(*args, **kwargs)
        return False
    assert ours(*args, **kwargs) == want, (args, kwargs)
    return True


# ---------------------------------------------------------------------------------------------
# A hand-written corpus
# ---------------------------------------------------------------------------------------------

CORPUS = [
    # English, punctuation, contractions, numbers
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I can't believe it's not butter; they'd've known, wouldn't they?",
    "Don't stop—won't stop… (really?) [maybe] {yes} <no> «quoted» “curly” ‘single’",
    "Mr. O'Neil paid $1,234.56 for 3.14159 apples @ 10% off & more #tag ^caret ~tilde `tick`",
    "a|pipe| under_score back\\slash \"double\" 'single' a=b<c>d*e%f",
    "Version 2.0.1-beta, released 2021-03-04T12:00:00Z; see RFC 3339.",
    "1 22 333 4444 55555 1e10 0x1F -7 +8 3/4 ½ ² ³ 1,000,000 007",
    "unaffable antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "SHOUTING IN ALL CAPS and MiXeD CaSe WoRdS",
    # URLs and e-mail
    "https://www.example.com/path/to/page?query=1&lang=en#frag",
    "Contact me at jane.doe+spam@mail.example.org!",
    "ftp://user:pass@host:21/file_name-v2.tar.gz",
    # Accents, ligatures, German ß, dotted capital I
    "café naïve Ångström résumé façade jalapeño coöperate",
    "CAFÉ NAÏVE ÅNGSTRÖM RÉSUMÉ",
    "cafe\u0301 nai\u0308ve (decomposed accents)",
    "Straße STRASSE ẞ groß Fuß",
    "Øresund Łódź Dvořák Ærø Œuvre ﬁnancial ǅemal",
    "İstanbul ıi İI",
    # Other scripts
    "Καλημέρα κόσμε, ΟΔΟΣ ΣΟΦΟΣ ἀρχή",
    "Привет, мир! Ёлка ЁЖИК щётка",
    "مرحبا بالعالم، كيف حالك؟ مُحَمَّد",
    "नमस्ते दुनिया। हिन्दी भाषा",
    "שָׁלוֹם עולם",
    "สวัสดีชาวโลก",
    "Ελληνικά, Українська, ქართული, Հայերեն",
    # Chinese: simplified, traditional, mixed, full-width punctuation
    "我爱北京天安门",
    "機器學習與自然語言處理",
    "BERT模型在NLP任务中表现很好。",
    "你好，世界！你好吗？是的。",
    "「引号」『书名』（括号）【方括号】、顿号；分号：冒号",
    "中文English混合123数字",
    "𠀀𠀁 𪜀 丽 豈 (extension B, compatibility ideographs)",
    "\U0002b820\U0002b91f\U0002b920 (extension E edge)",
    # Japanese and Korean
    "こんにちは世界",
    "カタカナとひらがなと漢字。東京タワー",
    "ｶﾀｶﾅ ＡＢＣ １２３ ！？",
    "안녕하세요 세계",
    "한국어 문장입니다. 韓國語 漢字",
    # Emoji
    "I love 🍕 and 🎉!",
    "family 👨‍👩‍👧‍👦 zwj sequence",
    "thumbs 👍🏽 👍🏿 skin tones",
    "flags 🇯🇵🇺🇸 and ❤️ heart with VS16, 🥰 🫠 newer emoji",
    "☃ ★ ♥ ✓ © ® ™ € £ ¥ → ∞",
    # Control characters, whitespace of all kinds
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three\r",
    "non\u00a0breaking\u00a0space",
    "zero\u200bwidth\u200bspace, zwnj\u200cand zwj\u200d",
    "em\u2003space thin\u2009space ideographic\u3000space narrow\u202fnbsp",
    "line\u2028separator para\u2029graph",
    "bell\x07 null\x00 del\x7f esc\x1b end",
    "replacement \ufffd char and BOM \ufeff here",
    "vertical\x0btab form\x0cfeed next\x85line",
    "soft\u00adhyphen and word\u2060joiner",
    # Combining marks
    "a\u0300\u0301\u0302 e\u0327 o\u0308\u0304",
    "Z̸̢̧a̵̡l̶g̷o̴ text",
    # Very long words, words that become [UNK]
    "a" * 100,
    "a" * 101,
    "supercalifragilistic" * 6 + " short",
    "x" + "y" * 99 + " z" + "é" * 101,
    "Ⅷ Ⅸ ∑∫∂ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ ᚠᚢᚦ 𓀀",
    "\ue000 private use \U000f0000 and unassigned \u0378",
    # Special tokens typed in the text
    "hello [MASK] world",
    "[CLS] sentence one [SEP] sentence two [SEP]",
    "[cls] [sep] [mask] [Mask] lower-case ones",
    "x[MASK]y[UNK]z[PAD]w",
    "[MASK][MASK]  [SEP]",
    "[ MASK ] [MASK [MASK]] [[SEP]]",
    "CAFÉ[MASK]Ñ",
    # Empty and whitespace-only
    "",
    " ",
    "   \t\n  ",
    "\u3000\u00a0\u2028",
    "\x00\x01\ufffd",
    "...!!!???",
    "a",
]


def _corpus_id(text: str) -> str:
    return ascii(text)[:40]


def test_reference_tokenizer_uses_only_the_standard_library():
    import reference.tokenizer

    tree = ast.parse(Path(reference.tokenizer.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots and roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_corpus_is_varied():
    assert len(CORPUS) >= 60
    assert len(set(CORPUS)) == len(CORPUS)


@pytest.mark.parametrize("text", CORPUS, ids=_corpus_id)
def test_tokenize_matches_hf(ours, hf, text):
    assert ours.tokenize(text) == hf.tokenize(text)


@pytest.mark.parametrize("text", CORPUS, ids=_corpus_id)
def test_encode_matches_hf(ours, hf, text):
    assert ours(text) == hf_encode(hf, text)


def test_corpus_as_one_batch_with_padding(ours, hf):
    got = ours(CORPUS, padding=True, truncation=True, max_length=48)
    assert got == hf_encode(hf, CORPUS, padding=True, truncation=True, max_length=48)
    assert len({len(ids) for ids in got["input_ids"]}) == 1


def test_corpus_as_pairs(ours, hf):
    a, b = CORPUS[::2], CORPUS[1::2][: len(CORPUS[::2])]
    a = a[: len(b)]
    assert ours(a, b) == hf_encode(hf, a, b)
    assert ours(a, b, padding="max_length", truncation=True, max_length=40) == hf_encode(
        hf, a, b, padding="max_length", truncation=True, max_length=40
    )


# ---------------------------------------------------------------------------------------------
# Drawn strings
# ---------------------------------------------------------------------------------------------

_MIXED = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + string.punctuation + " \t\n\r"),
    st.sampled_from("àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÉÎÕÜßẞæøłŁİıΣσς\u0301\u0308\u0327"),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
    st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),  # hiragana, katakana
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),  # Hangul syllables
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.sampled_from("\u200d\ufe0f\U0001f3fd\u00a0\u3000\u2028\u200b\ufeff\ufffd\x00\x7f\x85"),
    st.characters(min_codepoint=0, max_codepoint=0x1F),  # C0 controls
    st.sampled_from(["[MASK]", "[SEP]", "[CLS]", "[UNK]", "[PAD]", "[mask]", "##", "[", "]"]),
)
MIXED_TEXT = st.lists(_MIXED, max_size=40).map("".join)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=2000)
@given(text=MIXED_TEXT)
def test_drawn_mixed_text_matches_hf(ours, hf, text):
    assert ours.tokenize(text) == hf.tokenize(text)
    assert ours(text) == hf_encode(hf, text)


@settings(max_examples=1500)
@given(text=ANY_TEXT)
def test_drawn_any_unicode_matches_hf(ours, hf, text):
    assert ours.tokenize(text) == hf.tokenize(text)


@settings(max_examples=600)
@given(
    a=MIXED_TEXT,
    b=MIXED_TEXT,
    max_length=st.integers(3, 40),
    strategy=st.sampled_from(["longest_first", "only_first", "only_second"]),
)
def test_drawn_pairs_truncation_matches_hf(ours, hf, a, b, max_length, strategy):
    assert_same_as_hf(ours, hf, [a], [b], truncation=strategy, max_length=max_length)


@pytest.mark.slow
def test_every_code_point_matches_hf(ours, hf):
    """Each code point between two letters: control/whitespace/punctuation/accent/CJK handling.

    Planes 0-3 (everything assigned but the tag characters, incl. all CJK extensions) and plane
    14 are scanned whole; the unassigned and private-use planes every 97th code point. Chunks of
    2000 keep it fast; a failing chunk is searched for its code points. Pins down the Unicode 8.0
    table of reference/tokenizer.py.
    """
    if unicodedata.unidata_version != "14.0.0":
        pytest.skip("the Rust-compatibility table was checked against Unicode 14.0 (Python 3.11)")
    code_points = [cp for cp in range(0x40000) if not 0xD800 <= cp <= 0xDFFF]
    code_points += range(0xE0000, 0xF0000)
    code_points += [*range(0x40000, 0xE0000, 97), *range(0xF0000, 0x110000, 97), 0x10FFFF]
    mismatches = []
    for start in range(0, len(code_points), 2000):
        chunk = code_points[start : start + 2000]
        text = " ".join(f"a{chr(cp)}b" for cp in chunk)
        if ours.tokenize(text) != hf.tokenize(text):
            for cp in chunk:
                text = f"a{chr(cp)}b"
                if ours.tokenize(text) != hf.tokenize(text):
                    mismatches.append(hex(cp))
    assert mismatches == []


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("strip", [None, True, False])
@pytest.mark.parametrize("chinese", [True, False])
def test_basic_tokenizer_options_match_rust_normalizer(lower, strip, chinese):
    """The words of every corpus string equal BertNormalizer + BertPreTokenizer, for all options."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=chinese, strip_accents=strip, lowercase=lower
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    basic = BasicTokenizer(do_lower_case=lower, tokenize_chinese_chars=chinese, strip_accents=strip)
    for text in CORPUS:
        want = [word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))]
        assert basic.tokenize(text) == want, text


def test_basic_tokenizer_examples():
    basic = BasicTokenizer()
    assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == ["hello", "!", "how", "are", "you", "?"]
    assert basic.tokenize("Héllo wörld") == ["hello", "world"]
    assert basic.tokenize("我爱NLP") == ["我", "爱", "nlp"]
    # Kana and Hangul are not split into characters; but accent stripping (NFD) does break the
    # Hangul syllables into their jamo, in HF too.
    assert basic.tokenize("こんにちは 안녕") == ["こんにちは", unicodedata.normalize("NFD", "안녕")]
    assert basic.tokenize("ΟΔΟΣ") == ["οδοσ"]  # per-character lower-casing: no final sigma
    assert BasicTokenizer(do_lower_case=False).tokenize("Héllo") == ["Héllo"]
    assert BasicTokenizer(never_split=["[FOO]"]).tokenize("a [FOO] b[FOO]") == [
        "a", "[FOO]", "b", "[", "foo", "]",
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Pairs: packing, truncation, padding
# ---------------------------------------------------------------------------------------------

WORDS = list("abcdefghijklmnop")  # each one token with its own id


def _text(n: int, offset: int = 0) -> str:
    return " ".join(WORDS[offset : offset + n])


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
def test_pair_truncation_grid_matches_hf(ours, hf, strategy):
    """All (len_a, len_b, max_length) with lengths 0..6, max_length 3..(len_a + len_b + 4).

    Pairs are passed as one-item batches (so an empty text_pair is a real empty segment) and as
    a plain pair (where HF treats an empty text_pair as no pair). Where HF refuses
    (only_first/only_second with too short a segment) we must raise ValueError.
    """
    outcomes = []
    for len_a in range(7):
        for len_b in range(7):
            a, b = _text(len_a), _text(len_b, offset=8)
            for max_length in range(3, len_a + len_b + 5):
                kwargs = {"truncation": strategy, "max_length": max_length}
                outcomes.append(assert_same_as_hf(ours, hf, [a], [b], **kwargs))
                outcomes.append(assert_same_as_hf(ours, hf, a, b, **kwargs))
    assert outcomes.count(True) > 500
    assert (False in outcomes) == (strategy != "longest_first")


def test_single_truncation_grid_matches_hf(ours, hf):
    for strategy in ("longest_first", "only_first", True):
        for n in range(10):
            for max_length in range(2, 14):
                kwargs = {"truncation": strategy, "max_length": max_length}
                assert ours(_text(n), **kwargs) == hf_encode(hf, _text(n), **kwargs)


def test_longest_first_tie_break_is_the_rust_one(ours, hf, minilm_dir):
    """A=4, B=4 tokens, max_length=8 (budget 5): Rust keeps A=2, B=3; Google/legacy A=3, B=2."""
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    a, b = "a b c d", "e f g h"
    want = [101, 1037, 1038, 102, 1041, 1042, 1043, 102]
    assert hf(a, b, truncation=True, max_length=8)["input_ids"] == want
    assert ours(a, b, truncation=True, max_length=8)["input_ids"] == want
    legacy = BertTokenizerLegacy(str(minilm_dir / "vocab.txt"))
    assert legacy(a, b, truncation=True, max_length=8)["input_ids"] != want
    # The odd token goes to the longer side: A=5, B=4 keeps A=3, B=2.
    assert (
        ours("a b c d e", b, truncation=True, max_length=8)["input_ids"]
        == hf_encode(hf, "a b c d e", b, truncation=True, max_length=8)["input_ids"]
    )


def test_truncate_pair_directly():
    a, b = list(range(4)), list(range(10, 14))
    assert truncate_pair(a, b, 5, "longest_first") == ([0, 1], [10, 11, 12])
    assert truncate_pair(a, b[:1], 3, "longest_first") == ([0, 1], [10])
    assert truncate_pair(a, [], 3, "longest_first") == ([0, 1, 2], [])
    assert truncate_pair(a, b, 0, "only_first") == ([], [])
    assert truncate_pair(a, b, 6, "only_second") == (a, [10, 11])
    assert truncate_pair(a, None, 2, "longest_first") == ([0, 1], None)
    with pytest.raises(ValueError, match="too few"):
        truncate_pair(a, b, 4, "only_first")


def test_pair_with_empty_sides_matches_hf(ours, hf):
    for a, b in [("hello", ""), ("", "world"), ("", ""), ("hello world", "")]:
        assert ours(a, b) == hf_encode(hf, a, b)
        assert ours([a], [b]) == hf_encode(hf, [a], [b])
        assert ours([a], [b], truncation=True, max_length=3) == hf_encode(
            hf, [a], [b], truncation=True, max_length=3
        )
    # HF quirk, kept: a single empty text_pair means "no pair", but in a batch it is a segment.
    assert ours("hi", "")["input_ids"] == [101, 7632, 102]
    assert ours(["hi"], [""])["input_ids"] == [[101, 7632, 102, 102]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"padding": "max_length", "max_length": 12},
        {"padding": "max_length", "max_length": 12, "truncation": True},
        {"padding": "max_length", "max_length": 3},  # longer than max_length, no truncation
        {"padding": "max_length"},  # to model_max_length = 512
        {"padding": True},
        {"padding": "longest", "truncation": "only_second", "max_length": 14},
        {"padding": True, "max_length": 4},  # HF: max_length ignored (warns)
        {"padding": "do_not_pad", "truncation": "do_not_truncate", "max_length": 4},
        {"truncation": False, "max_length": 4},
        {"max_length": 5},  # a bare max_length means longest_first truncation
        {"max_length": 5, "add_special_tokens": False},
        {"add_special_tokens": False, "padding": True},
    ],
)
@pytest.mark.filterwarnings("ignore:`max_length` is ignored")
def test_padding_matches_hf(ours, hf, kwargs):
    singles = ["a b c", "hello world, how are you today?", "", "我爱北京"]
    pairs = ["x", "a b c d e f g", "second", "y z"]
    assert_same_as_hf(ours, hf, singles, **kwargs)
    assert_same_as_hf(ours, hf, singles[0], **kwargs)
    assert assert_same_as_hf(ours, hf, singles, pairs, **kwargs)
    assert assert_same_as_hf(ours, hf, singles[1], pairs[1], **kwargs)


def test_default_truncation_is_model_max_length(ours, hf):
    long_text = "word " * 600
    got = ours(long_text, truncation=True)
    assert len(got["input_ids"]) == 512
    assert got == hf_encode(hf, long_text, truncation=True)
    assert len(ours(long_text)["input_ids"]) == 602  # no truncation unless asked


def test_batch_shapes_and_types(ours):
    out = ours(["a", "b c"], padding=True)
    assert out == {
        "input_ids": [[101, 1037, 102, 0], [101, 1038, 1039, 102]],
        "token_type_ids": [[0, 0, 0, 0], [0, 0, 0, 0]],
        "attention_mask": [[1, 1, 1, 0], [1, 1, 1, 1]],
    }
    assert all(type(i) is int for i in out["input_ids"][0])
    assert ours([]) == {"input_ids": [], "token_type_ids": [], "attention_mask": []}
    assert ours(("a", "b"), ("c", "d"))["token_type_ids"] == [[0, 0, 0, 1, 1], [0, 0, 0, 1, 1]]


# ---------------------------------------------------------------------------------------------
# Ids, special-token masks, decoding
# ---------------------------------------------------------------------------------------------


def test_vocab_and_special_ids_match_hf(ours, hf):
    assert ours.vocab == hf.get_vocab()
    assert ours.vocab_size == hf.vocab_size == 30522
    assert ours.ids_to_tokens[7592] == "hello"
    for name in ("cls", "sep", "pad", "mask", "unk"):
        assert getattr(ours, f"{name}_token_id") == getattr(hf, f"{name}_token_id"), name
    assert ours.all_special_tokens == hf.all_special_tokens
    assert ours.all_special_ids == hf.all_special_ids
    tokens = ["hello", "[MASK]", "##ing", "not-a-token", "[mask]", ""]
    assert ours.convert_tokens_to_ids(tokens) == hf.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("world") == hf.convert_tokens_to_ids("world")
    ids = [0, 100, 101, 102, 103, 999, 7592, 2015, 30521]
    assert ours.convert_ids_to_tokens(ids) == hf.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(7592) == "hello"
    with pytest.raises(ValueError, match="30522"):
        ours.convert_ids_to_tokens([30522])


@pytest.mark.parametrize("text", CORPUS[::3], ids=_corpus_id)
def test_special_tokens_mask_matches_hf(ours, hf, text):
    ids = ours(text, "pair [MASK] zzqxjv", padding="max_length", max_length=64)["input_ids"]
    want = hf.get_special_tokens_mask(ids, already_has_special_tokens=True)
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == want
    assert ours.get_special_tokens_mask(ids) == want  # True is the default here


def test_special_tokens_mask_flags_unk_and_unpacked_form(ours):
    assert ours.get_special_tokens_mask([101, 100, 7592, 103, 102, 0]) == [1, 1, 0, 1, 1, 1]
    assert ours.get_special_tokens_mask([5, 6], already_has_special_tokens=False) == [1, 0, 0, 1]
    assert ours.get_special_tokens_mask([5], [6, 7], already_has_special_tokens=False) == [
        1, 0, 1, 0, 0, 1,
    ]  # fmt: skip
    with pytest.raises(ValueError):
        ours.get_special_tokens_mask([101, 102], [5])


DECODE_CASES = [
    [101, 7592, 1010, 2088, 999, 2023, 1005, 1055, 2025, 1012, 1029, 102, 0, 0],
    [2015, 7592],  # a leading ## piece keeps its ##
    [100, 101, 7592, 100, 102, 0, 103],
    [2296, 7592, 99999, 5, 30521],  # unknown ids are skipped
    [],
    [7592, 2075, 2075, 1011, 2088, 1005, 2310, 1005, 1049],
]


@pytest.mark.parametrize("ids", DECODE_CASES)
@pytest.mark.parametrize("skip", [False, True])
def test_decode_matches_hf(ours, hf, ids, skip):
    assert ours.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)


@pytest.mark.parametrize("text", CORPUS, ids=_corpus_id)
def test_decode_of_corpus_matches_hf(ours, hf, text):
    ids = hf(text)["input_ids"]
    assert ours.decode(ids) == hf.decode(ids)
    assert ours.decode(ids, skip_special_tokens=True) == hf.decode(ids, skip_special_tokens=True)


def test_decode_examples(ours):
    ids = ours("Hello, world! It's unaffable.")["input_ids"]
    assert ours.decode(ids) == "[CLS] hello, world! it ' s unaffable. [SEP]"
    assert ours.decode(ids, skip_special_tokens=True) == "hello, world! it ' s unaffable."
    assert ours.decode(7592) == "hello"


# ---------------------------------------------------------------------------------------------
# WordPiece on a toy vocabulary (no HF)
# ---------------------------------------------------------------------------------------------

TOY = {"[UNK]", "un", "unaff", "##aff", "##able", "##a", "a", "##b", "ab", "##bc", "x", "##x"}


def test_wordpiece_longest_match_first():
    wp = WordpieceTokenizer(TOY)
    assert wp.tokenize("unaffable") == ["unaff", "##able"]  # not "un" + "##aff" + "##able"
    assert wp.tokenize("unable") == ["un", "##able"]
    # Greedy, not optimal: "abc" = "a" + "##bc" exists, but "ab" is taken first and "##c" fails.
    assert wp.tokenize("abc") == ["[UNK]"]


def test_wordpiece_continuation_prefix():
    wp = WordpieceTokenizer(TOY)
    assert wp.tokenize("aab") == ["a", "##a", "##b"]
    assert wp.tokenize("xxx") == ["x", "##x", "##x"]
    assert wp.tokenize("ab x") == ["ab", "x"]  # whitespace-separated words start afresh
    # A piece after the first must be a ## piece: "un" + "aff" (no ##) is not allowed.
    assert WordpieceTokenizer({"un", "aff"}).tokenize("unaff") == ["[UNK]"]


def test_wordpiece_unk_replaces_the_whole_word():
    wp = WordpieceTokenizer(TOY, unk_token="<unk>")
    assert wp.tokenize("unaffablez") == ["<unk>"]
    assert wp.tokenize("z un") == ["<unk>", "un"]
    assert wp.tokenize("") == []


def test_wordpiece_max_input_chars_per_word():
    wp = WordpieceTokenizer({"a", "##a"}, max_input_chars_per_word=5)
    assert wp.tokenize("aaaaa") == ["a", "##a", "##a", "##a", "##a"]
    assert wp.tokenize("aaaaaa") == ["[UNK]"]
    assert WordpieceTokenizer({"a", "##a"}).max_input_chars_per_word == 100  # HF, not Google's 200


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_missing_vocab_file_names_the_path(tmp_path):
    missing = tmp_path / "nope" / "vocab.txt"
    with pytest.raises(FileNotFoundError, match="nope"):
        BertTokenizer.from_vocab_file(missing)
    with pytest.raises(FileNotFoundError, match=str(missing).replace("\\", "\\\\")):
        load_vocab(missing)


def test_vocab_without_special_tokens_is_refused(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        BertTokenizer.from_vocab_file(path)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("a b",), {"truncation": "bogus"}, "truncation"),
        (("a b",), {"truncation": "longest"}, "truncation"),
        (("a b",), {"padding": "bogus"}, "padding"),
        (("a b",), {"max_length": -1, "truncation": True}, "max_length"),
        (("a b",), {"max_length": 1, "truncation": True}, "special tokens"),
        (("a b", "c"), {"max_length": 2, "truncation": True}, "special tokens"),
        (("a b", ["c"]), {}, "text_pair"),
        ((["a b"], "c"), {}, "text_pair"),
        ((["a", "b"], ["c"]), {}, "batch length"),
        ((123,), {}, "text must be"),
        (([["pre", "tokenized"]],), {}, "text must be"),
        (("a b c d",), {"truncation": "only_second", "max_length": 4}, "text_pair"),
        (("a b c", "d e f"), {"truncation": "only_first", "max_length": 5}, "only_first"),
    ],
)
def test_bad_requests_raise_value_error(ours, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ours(*args, **kwargs)


def test_max_length_below_special_tokens_is_an_error_not_a_silent_overflow(ours, hf):
    # HF ignores such a max_length (the Rust subtraction underflows) and returns everything.
    assert len(hf("a b", "c d", truncation=True, max_length=2)["input_ids"]) == 7
    with pytest.raises(ValueError, match="max_length=2"):
        ours("a b", "c d", truncation=True, max_length=2)
    # Exactly the special tokens is fine: both segments are emptied, as in HF.
    assert ours("a b", "c d", truncation=True, max_length=3) == hf_encode(
        hf, "a b", "c d", truncation=True, max_length=3
    )
