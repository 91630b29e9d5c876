"""Hypothesis strategies shared by every check module.

Shapes, masks and configs are drawn by hypothesis (so failures shrink to small, readable
cases); tensor *values* come from a torch generator seeded by a drawn integer (drawing
thousands of floats one by one would be slow and shrink to all-zeros, which hides bugs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch import Tensor

from grader.i18n import _, ngettext

SCALES = (1.0, 0.01, 30.0)  # ordinary, tiny (eps matters), large (stability matters)


def make_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(shape: tuple[int, ...], seed: int, scale: float = 1.0, offset: float = 0.0) -> Tensor:
    return torch.randn(shape, generator=make_generator(seed)) * scale + offset


def non_contiguous(x: Tensor) -> Tensor:
    """Same values, non-contiguous memory (a transposed copy transposed back)."""
    if x.dim() < 2:
        return x[None].expand(2, *x.shape)[0]
    return x.transpose(0, -1).contiguous().transpose(0, -1)


seeds = st.integers(min_value=0, max_value=2**31 - 1)
scales = st.sampled_from(SCALES)


@st.composite
def padding_masks(draw, batch: int, seq: int, allow_fully_padded: bool = True) -> Tensor:
    """(batch, seq) int64 masks, 1 = real token. Mostly right-padded (as tokenizers do),
    sometimes arbitrary, sometimes with a row that has no real token at all."""
    low = 0 if allow_fully_padded else 1
    style = draw(st.sampled_from(["right", "right", "scattered"]))
    if style == "right":
        lengths = [draw(st.integers(low, seq)) for _ in range(batch)]
        return (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    rows = []
    for _row in range(batch):
        row = draw(st.lists(st.integers(0, 1), min_size=seq, max_size=seq))
        if not allow_fully_padded and not any(row):
            row[draw(st.integers(0, seq - 1))] = 1
        rows.append(row)
    return torch.tensor(rows, dtype=torch.long)


@dataclass(frozen=True)
class AttentionCase:
    query: Tensor
    key: Tensor
    value: Tensor
    mask: Tensor | None
    scale: float
    contiguous: bool

    def describe(self) -> str:
        b, h, sq, d = self.query.shape
        sk = self.key.shape[2]
        parts = [f"batch={b}, heads={h}, seq_q={sq}, seq_k={sk}, d_head={d}"]
        if self.mask is None:
            parts.append(_("no mask"))
        else:
            padded = (self.mask == 0).sum(-1).tolist()
            rows = [_("{n} padded keys in row {row}").format(n=n, row=i)
                    for i, n in enumerate(padded) if n]  # fmt: skip
            parts.append(_(", ").join(rows) if rows else _("mask with no padding"))
        if self.scale != 1.0:
            parts.append(_("values scaled by {scale:g}").format(scale=self.scale))
        if not self.contiguous:
            parts.append(_("non-contiguous inputs"))
        return _("; ").join(parts)


@st.composite
def attention_cases(
    draw,
    *,
    masked: bool | None = None,
    allow_fully_padded: bool = True,
    self_attention: bool = False,
    max_seq: int = 9,
    max_d_head: int = 16,
) -> AttentionCase:
    batch = draw(st.integers(1, 3))
    heads = draw(st.integers(1, 4))
    seq_q = draw(st.integers(1, max_seq))
    seq_k = seq_q if self_attention else draw(st.integers(1, max_seq))
    d_head = draw(st.integers(1, max_d_head))
    seed, scale = draw(seeds), draw(scales)
    use_mask = draw(st.booleans()) if masked is None else masked
    mask = draw(padding_masks(batch, seq_k, allow_fully_padded)) if use_mask else None
    contiguous = draw(st.booleans())
    q = randn((batch, heads, seq_q, d_head), seed, scale)
    k = randn((batch, heads, seq_k, d_head), seed + 1, scale)
    v = randn((batch, heads, seq_k, d_head), seed + 2)
    if not contiguous:
        q, k, v = non_contiguous(q), non_contiguous(k), non_contiguous(v)
    return AttentionCase(q, k, v, mask, scale, contiguous)


@st.composite
def hidden_shapes(draw, max_batch: int = 3, max_seq: int = 9, max_hidden: int = 48):
    return (draw(st.integers(1, max_batch)), draw(st.integers(1, max_seq)),
            draw(st.integers(1, max_hidden)))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Small BERT configurations, token batches and seeded weights (encoder exercises and up)
# ---------------------------------------------------------------------------------------------


def describe_config(config, *fields: str) -> str:
    """A BertConfig in the learner's terms: "hidden=8, heads=2 (d_head=4), layers=1, ...";
    ``fields`` picks some of hidden, heads, layers, intermediate, vocab, positions,
    type_vocab, eps (default: all)."""
    parts = {
        "hidden": f"hidden={config.hidden_size}",
        "heads": f"heads={config.num_attention_heads} "
        f"(d_head={config.hidden_size // config.num_attention_heads})",
        "layers": f"layers={config.num_hidden_layers}",
        "intermediate": f"intermediate={config.intermediate_size}",
        "vocab": f"vocab={config.vocab_size}",
        "positions": f"max_position_embeddings={config.max_position_embeddings}",
        "type_vocab": f"type_vocab={config.type_vocab_size}",
        "eps": f"layer_norm_eps={config.layer_norm_eps:g}",
    }
    return ", ".join(parts[f] for f in fields or parts)


@st.composite
def bert_configs(
    draw,
    *,
    max_layers: int = 1,
    max_heads: int = 4,
    min_d_head: int = 1,
    max_d_head: int = 8,
    min_hidden: int = 4,
    max_seq: int = 9,
):
    """A small ``reference.BertConfig`` (erf GELU, the plain attention path, dropout 0.1 so a
    module that forgets ``eval()`` semantics is caught). ``max_position_embeddings`` exceeds
    ``max_seq``, so position ids that start at 1 still fit and are caught as wrong values."""
    from reference import BertConfig

    heads = draw(st.integers(1, max_heads))
    # hidden >= 4 by default: LayerNorm over 2 features outputs only +-1 (times its scale),
    # which makes many wrong wirings agree with the right one.
    d_head = draw(st.integers(max(min_d_head, -(-min_hidden // heads)), max_d_head))
    hidden = heads * d_head
    return BertConfig(
        vocab_size=draw(st.integers(5, 40)),
        hidden_size=hidden,
        num_hidden_layers=draw(st.integers(1, max_layers)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(1, 4 * hidden)),
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=max_seq + draw(st.integers(1, 4)),
        type_vocab_size=draw(st.integers(1, 3)),
        layer_norm_eps=draw(st.sampled_from([1e-12, 1e-5])),
        attn_implementation="eager",
    )


@dataclass(frozen=True)
class TokenBatch:
    input_ids: Tensor  # (batch, seq) int64, padding positions hold pad_token_id
    attention_mask: Tensor | None  # (batch, seq) int64, 1 = real token, 0 = padding
    token_type_ids: Tensor | None  # (batch, seq) int64

    def describe(self, *, mask: bool = True) -> str:
        """Like "batch=2, seq=5; 2 padded in row 1; token_type_ids with segment B"; with
        ``mask=False`` the mask is left out (for modules that take none)."""
        batch, seq = self.input_ids.shape
        parts = [f"batch={batch}, seq={seq}"]
        if not mask:
            pass
        elif self.attention_mask is None:
            parts.append(_("no attention_mask"))
        else:
            padded = (self.attention_mask == 0).sum(-1).tolist()
            rows = [_("{n} padded in row {row}").format(n=n, row=i)
                    for i, n in enumerate(padded) if n]  # fmt: skip
            parts.append(_(", ").join(rows) if rows else _("attention_mask with no padding"))
        if self.token_type_ids is None:
            parts.append(_("no token_type_ids"))
        elif bool(self.token_type_ids.any()):
            parts.append(_("token_type_ids with segment B"))
        else:
            parts.append(_("token_type_ids all 0"))
        return _("; ").join(parts)


@st.composite
def token_batches(
    draw,
    config,
    *,
    masked: bool | None = None,
    allow_fully_padded: bool = False,
    token_types: bool | None = True,
    max_batch: int = 3,
    max_seq: int = 9,
) -> TokenBatch:
    """input_ids / attention_mask / token_type_ids for ``config`` (padding holds the pad id)."""
    batch = draw(st.integers(1, max_batch))
    seq = draw(st.integers(1, min(max_seq, config.max_position_embeddings)))
    gen = make_generator(draw(seeds))
    input_ids = torch.randint(0, config.vocab_size, (batch, seq), generator=gen)
    use_mask = draw(st.booleans()) if masked is None else masked
    mask = draw(padding_masks(batch, seq, allow_fully_padded)) if use_mask else None
    if mask is not None:
        input_ids = input_ids.masked_fill(mask == 0, config.pad_token_id)
    use_types = draw(st.booleans()) if token_types is None else token_types
    types = (
        torch.randint(0, config.type_vocab_size, (batch, seq), generator=gen) if use_types else None
    )
    return TokenBatch(input_ids, mask, types)


def randomize_parameters_(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every parameter seeded values of a telling size, in place.

    BERT's own initialisation (N(0, 0.02), zero biases, unit LayerNorm) makes attention almost
    uniform and sub-layers almost linear, so a wrong model can sit within tolerance of the
    right one. Here: embeddings N(0, 1); linear weights N(0, 1/fan_in), so activations stay
    O(1); LayerNorm scales 1 + N(0, 0.2^2); every bias N(0, 0.2^2).
    """
    gen = make_generator(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            noise = torch.randn(parameter.shape, generator=gen, dtype=parameter.dtype)
            if name.endswith("LayerNorm.weight"):
                values = 1.0 + 0.2 * noise
            elif parameter.dim() == 1:
                values = 0.2 * noise
            elif "embeddings" in name:
                values = noise
            else:
                values = noise / parameter.shape[1] ** 0.5
            parameter.copy_(values)
    return module


# ---------------------------------------------------------------------------------------------
# Text for the tokenizer exercises (basic_tokenizer, wordpiece, pair_packing)
# ---------------------------------------------------------------------------------------------

# Words that exercise every rule: punctuation inside words, accents, case, CJK, kana, Hangul,
# emoji, and words WordPiece has to cut. No capital sigma anywhere: its word-final lower case
# is the one place where per-character lower() and str.lower() disagree.
TOKENIZER_WORDS = (
    "Hello", "world", "don't", "It's", "CAFÉ", "café", "naïve", "Straße", "Ångström", "résumé",
    "unaffable", "tokenization", "playing", "unbelievably", "Transformers", "embeddings",
    "BERT", "U.S.A.", "$3.50", "e-mail", "#1", "2021", "x86_64", "a+b=c", "<tag>", "~/.bashrc",
    "北京", "機器學習", "東京タワー", "こんにちは", "カタカナ", "안녕하세요", "한국어",
    "Привет", "Ёлка", "Καλημέρα", "Ωμέγα", "🍕", "👍🏽", "...", "(a)", "«quoted»", "—",
)  # fmt: skip

_ASCII = "".join(chr(cp) for cp in range(32, 127))  # letters, digits, punctuation, space
_TEXT_CHARS = (
    st.sampled_from(_ASCII),
    st.sampled_from("àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÉÎÕÜßẞæøłŁİıœŒ"),  # precomposed accents
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK ideographs
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),  # CJK Extension A
    st.characters(min_codepoint=0x3041, max_codepoint=0x3096),  # hiragana
    st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA),  # katakana
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),  # Hangul syllables
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.sampled_from("«»“”‘’—–…¿¡§¶·•、。，！？「」（）【】：；～＄"),  # punctuation beyond ASCII
    st.sampled_from("ΑΒΓΔαβγδάέήΩωПриветЁё"),  # Greek (no capital sigma), Cyrillic
    # control, format, private-use, NUL and U+FFFD: all deleted
    st.sampled_from("\x00\x01\x07\x1b\x7f\x85\x9f\u200b\u200c\u200d\u2060\ufeff\u00ad\ufffd\ue000"),
    # whitespace of every kind (\x0b and \x0c are control characters, so deleted)
    st.sampled_from("\t\n\r\x0b\x0c\u00a0\u1680\u2003\u2009\u202f\u205f\u2028\u2029\u3000"),
)
# Combining marks and compatibility ideographs change under NFC, so they are only drawn for
# uncased text, where NFD follows anyway (cased text is never normalised). The ideographs are
# written as escapes: typed literally, an editor's NFC turns them into the unified ones.
_UNCASED_ONLY_CHARS = st.sampled_from("\u0300\u0301\u0308\u0327\u20dd\ufe0f\u3099\uf900\U0002f800")


@st.composite
def tokenizer_texts(draw, *, cased: bool = False, max_size: int = 24) -> str:
    """A string mixing whole words (with a trailing space) and single characters from every
    alphabet above; ``cased=True`` leaves out what Unicode normalisation would change."""
    words = st.sampled_from(TOKENIZER_WORDS).map(lambda word: word + " ")
    chars = _TEXT_CHARS if cased else (*_TEXT_CHARS, _UNCASED_ONLY_CHARS)
    items = st.one_of(words, words, words, *chars)
    return "".join(draw(st.lists(items, max_size=max_size)))


def token_difference(expected: list, got: list, unit: str = "token") -> tuple[str, str, str]:
    """Where two token (or id) lists first differ, for a failure message:
    ("at token 3: expected 'x', got 'y'", expected window, got window). Tokens that print
    alike ("é" and "e" + U+0301) or hold invisible characters are also spelled with ascii()."""
    import unicodedata

    index = next(
        (i for i, (e, g) in enumerate(zip(expected, got, strict=False)) if e != g),
        min(len(expected), len(got)),
    )
    pair = [t[index] if index < len(t) else None for t in (expected, got)]
    spell = all(isinstance(t, str) for t in pair) and (
        unicodedata.normalize("NFKC", pair[0]) == unicodedata.normalize("NFKC", pair[1])
        or any(unicodedata.category(c)[0] in "MCZ" for c in pair[0] + pair[1])
    )

    def at(tokens: list) -> str:
        if index >= len(tokens):
            return _("nothing (the list ends there)")
        token = tokens[index]
        return repr(token) + (f" = {token!a}" if spell and ascii(token) != repr(token) else "")

    def window(tokens: list) -> str:
        start, stop = max(0, index - 3), index + 4
        shown = ", ".join(repr(t) for t in tokens[start:stop])
        return (
            "[" + ("..., " if start else "") + shown + (", ..." if stop < len(tokens) else "")
            + f"]  ({_count(unit, len(tokens))})"
        )  # fmt: skip

    where = _at_unit(unit).format(index=index, expected=at(expected), got=at(got))
    return where, window(expected), window(got)


def _count(unit: str, n: int) -> str:
    """"5 tokens", "1 word": a count of ``unit`` (token, piece, position, word)."""
    counts = {
        "piece": ngettext("{n} piece", "{n} pieces", n),
        "position": ngettext("{n} position", "{n} positions", n),
        "word": ngettext("{n} word", "{n} words", n),
    }
    return counts.get(unit, ngettext("{n} token", "{n} tokens", n)).format(n=n)


def _at_unit(unit: str) -> str:
    return {
        "piece": _("at piece {index}: expected {expected}, got {got}"),
        "position": _("at position {index}: expected {expected}, got {got}"),
        "word": _("at word {index}: expected {expected}, got {got}"),
    }.get(unit, _("at token {index}: expected {expected}, got {got}"))


def final_example() -> bool:
    """True on hypothesis's final replay of the (shrunk) failing example, and outside
    ``@given``; False while it is still searching or shrinking. Known-mistake models cost a
    model run each: compute them only for the example the learner will be shown."""
    from hypothesis.control import current_build_context
    from hypothesis.errors import InvalidArgument

    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # no build context: not running under @given
        return True
