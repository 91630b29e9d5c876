"""BERT's tokenizer on the real bert-base-uncased vocabulary: ours and transformers' agree.

Each example shows one rule: greedy longest-match-first WordPiece, accent stripping (NFD) when
lower-casing, CJK ideographs split one per token, a whole word -> [UNK] when any piece of it
is missing, the 100-character word limit, and how "longest_first" truncation splits a budget.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import transformers

from reference import BertTokenizer, minilm_dir

ours = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
hf = transformers.BertTokenizer.from_pretrained(str(minilm_dir()))

examples = {
    "unaffable": ["una", "##ffa", "##ble"],  # longest match first, not morphology
    "Héllo, Café!": ["hello", ",", "cafe", "!"],  # lower-case + strip accents, split punctuation
    "東京大学": ["東", "京", "大", "学"],  # every CJK ideograph is its own word
    "中文分词": ["中", "文", "分", "[UNK]"],  # 词 is not in this vocabulary
    "hello☃world": ["[UNK]"],  # one uncoverable character spoils the whole word
    "한국": ["ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ"],  # NFD splits Hangul syllables into jamo
    "a" * 101: ["[UNK]"],  # longer than max_input_chars_per_word = 100
}
for text, expected in examples.items():
    assert ours.tokenize(text) == hf.tokenize(text) == expected, text
    label = repr(text) if len(text) <= 20 else f"{text[0]!r} * {len(text)}"
    print(f"{label:<16} -> {expected}")

specials = {t: ours.vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
assert specials == {t: hf.convert_tokens_to_ids(t) for t in specials}
assert list(specials.values()) == [0, 100, 101, 102, 103]
print(f"special token ids: {specials}")

cjk = [t for t in ours.vocab if len(t) == 1 and 0x4E00 <= ord(t) <= 0x9FFF]
print(f"single CJK ideographs (U+4E00..U+9FFF) in the 30,522-entry vocabulary: {len(cjk):,}")

# A pair of 4 + 4 tokens into max_length 8 leaves 5 for the text ([CLS] A [SEP] B [SEP]).
pair = ours("a b c d", "e f g h", max_length=8, truncation=True)
assert pair == {
    k: v for k, v in hf("a b c d", "e f g h", max_length=8, truncation=True).items() if k in pair
}
tokens = [ours.ids_to_tokens[i] for i in pair["input_ids"]]
assert tokens == ["[CLS]", "a", "b", "[SEP]", "e", "f", "g", "[SEP]"]
assert pair["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1]
print(f"pair truncated to 8: {tokens}, token types {pair['token_type_ids']}")
