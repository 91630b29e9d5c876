"""Facts the docs state in prose (not in a snippet's output), checked against the code they
describe, so that a page cannot drift away from what the project really computes.

- the word-piece example on the token-classification page is what the reference tokenizer
  (and transformers' tokenizer) give on the bundled vocabulary;
- the two GELU figures used everywhere (the tanh approximation's largest error per activation,
  and what it does to all-MiniLM-L6-v2's hidden states) are measured here, and every page that
  quotes them quotes these values, in both languages and in ``reference/modeling.py``;
- no page types a transformers release number (the installed one changes; read it instead);
- the character classes the basic-tokenizer page attributes to transformers' Python tokenizer
  and to the Rust tokenizer are the ones the installed code uses, and the reference follows Rust.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGUAGES = ("en", "zh")


def page(language: str, name: str) -> str:
    return (DOCS / language / name).read_text(encoding="utf-8")


@cache
def reference_tokenizer():
    import reference

    return reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")


# ---------------------------------------------------------------- token classification example

# A word the bundled uncased vocabulary splits (the page used to say "Washington", which is one
# token there).
SPLIT_WORD, SPLIT_PIECES = "Schwarzenegger", ["schwarz", "##ene", "##gger"]


def test_split_word_example_is_what_the_tokenizers_give(minilm_dir) -> None:
    import transformers

    assert reference_tokenizer().tokenize(SPLIT_WORD) == SPLIT_PIECES
    hf = transformers.BertTokenizer.from_pretrained(str(minilm_dir))
    assert hf.tokenize(SPLIT_WORD) == SPLIT_PIECES
    assert reference_tokenizer().tokenize("Washington") == ["washington"]  # the old example


@pytest.mark.parametrize("language", LANGUAGES)
def test_token_classification_page_shows_the_computed_split(language: str) -> None:
    text = page(language, "exercises/token_classification.md")
    separator = "`, `" if language == "en" else "`、`"
    shown = f'"{SPLIT_WORD}" → `' + separator.join(SPLIT_PIECES) + "`"
    assert shown in text, f"docs/{language}/exercises/token_classification.md lacks {shown}"
    assert "##ington" not in text


# ------------------------------------------------------------------------------ GELU figures

# "9-token sentence" in the docs: [CLS] the cat sat on the mat . [SEP]
GELU_SENTENCE = "the cat sat on the mat."
GELU_PAGES = [
    *(f"docs/{lang}/concepts/encoder-layer.md" for lang in LANGUAGES),
    *(f"docs/{lang}/exercises/gelu.md" for lang in LANGUAGES),
    *(f"docs/{lang}/blog-corrections.md" for lang in LANGUAGES),
    "reference/modeling.py",
]
STALE_GELU_FIGURES = ["~1e-3 per activation", "about $10^{-4}$ off", "差约 $10^{-4}$", "2.6e-03"]


def short(value: float) -> str:
    """4.73e-04 -> '4.7e-4', the form the prose uses."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@cache
def gelu_figures() -> tuple[float, float, int]:
    """(max per-activation |erf - tanh|, max |change| of MiniLM's last hidden state, tokens)."""
    import reference

    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    per_activation = (F.gelu(x) - F.gelu(x, approximate="tanh")).abs().max().item()
    exact = reference.load_pretrained(reference.BertModel).eval()
    tanh = reference.BertModel(replace(exact.config, hidden_act="gelu_new")).eval()
    tanh.load_state_dict(exact.state_dict())
    ids = torch.tensor([reference_tokenizer()(GELU_SENTENCE)["input_ids"]])
    with torch.no_grad():
        drift = (tanh(ids).last_hidden_state - exact(ids).last_hidden_state).abs().max()
    return per_activation, drift.item(), ids.shape[1]


def test_gelu_figures_are_the_measured_ones() -> None:
    per_activation, drift, tokens = gelu_figures()
    assert short(per_activation) == "4.7e-4", per_activation
    assert short(drift) == "2.5e-3", drift
    assert tokens == 9
    # the tanh form's error per activation is largest at |x| = 2.70
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    gap = (F.gelu(x) - F.gelu(x, approximate="tanh")).abs()
    assert math.isclose(x[gap.argmax()].abs().item(), 2.70, abs_tol=0.005)


@pytest.mark.parametrize("path", GELU_PAGES)
def test_every_page_quotes_the_same_gelu_figures(path: str) -> None:
    per_activation, drift, _ = gelu_figures()
    text = (ROOT / path).read_text(encoding="utf-8")
    for figure in (short(per_activation), short(drift)):
        assert figure in text, f"{path} does not quote the measured GELU figure {figure}"
    for stale in STALE_GELU_FIGURES:
        assert stale not in text, f"{path} still quotes {stale!r}"


# ------------------------------------------------------------------- no typed transformers release

# "5.24", "5.24.0", "version 5.25": a release number the next install will not match. A version
# range (`transformers>=5.0,<6`, as in pyproject.toml) is not a release.
RELEASE = re.compile(
    r"(?:transformers|version|版本)[^\d<>=~]{0,12}\b[1-9]\.\d{1,2}(?:\.\d+)?\b(?!\.?\d)"
)


def test_no_page_types_a_transformers_release() -> None:
    problems = []
    for path in sorted(DOCS.glob("*/**/*.md")):
        text = path.read_text(encoding="utf-8")
        for match in RELEASE.finditer(text):  # the whole text: a phrase may wrap a line
            number = text.count("\n", 0, match.start()) + 1
            problems.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not problems, "read the version from the install instead:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_quoted_version_range_is_the_one_in_pyproject(language: str) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'"(transformers[<>=~!][^"]*)"', pyproject)
    assert declared, "pyproject.toml declares no transformers dependency"
    quoted = re.findall(r"`(transformers[<>=~!][^`]*)`", page(language, "blog-corrections.md"))
    assert quoted == [declared.group(1)]


# -------------------------------------------------------------- tokenizer rules and their sources

CHARACTERS = {
    "Cc": "\u0007",
    "Cf": "\u200b",
    "Co": "\ue000",
    "Cn": "\u0378",
}


def test_control_character_classes_match_the_code_the_page_cites(minilm_dir) -> None:
    import transformers
    from transformers.tokenization_python import _is_control as python_is_control

    from reference.tokenizer import _is_control as reference_is_control

    assert {cat: unicodedata.category(c) for cat, c in CHARACTERS.items()} == {
        cat: cat for cat in CHARACTERS
    }
    rust = transformers.BertTokenizer.from_pretrained(str(minilm_dir)).backend_tokenizer.normalizer
    rust_deletes = {cat for cat, c in CHARACTERS.items() if rust.normalize_str(f"a{c}b") == "ab"}
    python_deletes = {cat for cat, c in CHARACTERS.items() if python_is_control(c)}
    reference_deletes = {cat for cat, c in CHARACTERS.items() if reference_is_control(c)}
    assert python_deletes == {"Cc", "Cf", "Co", "Cn"}  # every C* category
    assert rust_deletes == {"Cc", "Cf", "Co"}  # unassigned (Cn) kept
    assert reference_deletes == rust_deletes
    assert reference_is_control("\ud800")  # a lone surrogate (Cs), which Rust never sees
    # Google's rule is not installed here: google-research/bert tokenization.py `_is_control`
    # reads `if cat in ("Cc", "Cf")`, which the page's table quotes (checked below).


@pytest.mark.parametrize("language", LANGUAGES)
def test_basic_tokenizer_page_attributes_each_control_set(language: str) -> None:
    text = page(language, "exercises/basic_tokenizer.md")
    rows = [line for line in text.splitlines() if line.startswith("|") and "`_is_control`" in line]
    assert len(rows) == 1, "the attribution table needs one row for the deleted characters"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    google, python, rust, ours = cells[1:5]
    assert re.findall(r"`(C\w)`", google) == ["Cc", "Cf"]
    assert set(re.findall(r"`(C\w)`", python)) == {"Cc", "Cf", "Cn", "Co", "Cs"}
    assert re.findall(r"`(C\w)`", rust)[:3] == ["Cc", "Cf", "Co"] and "`Cn`" in rust
    assert set(re.findall(r"`(C\w)`", ours)) == {"Cc", "Cf", "Co", "Cs"}
