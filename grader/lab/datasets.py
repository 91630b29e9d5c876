"""The labs' shipped data (``data/``), read and tokenized with the reference tokenizer.

Tokenizing is deterministic and cheap (a few hundred short sentences), so the bertprep
process and the sandbox child each do it themselves and get the same tensors.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from reference import BertTokenizer, minilm_dir

DATA_DIR = Path(__file__).with_name("data")
REVIEWS_DIR = DATA_DIR / "reviews"
CORPUS_DIR = DATA_DIR / "corpus"
LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Encoded:
    """A tokenized text set: (n, seq) ids / mask / token types, labels (n,), kinds (n,)."""

    input_ids: Tensor
    attention_mask: Tensor
    token_type_ids: Tensor
    labels: Tensor
    texts: tuple[str, ...]
    kinds: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.texts)

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Rows ``index``, cut to their longest real length (dynamic padding)."""
        mask = self.attention_mask[index]
        length = int(mask.sum(dim=1).max())
        return (self.input_ids[index, :length], mask[:, :length],
                self.token_type_ids[index, :length], self.labels[index])  # fmt: skip


def read_reviews(split: str) -> list[tuple[str, str, str]]:
    """(label, text, kind) rows of ``reviews/<split>.tsv``."""
    with open(REVIEWS_DIR / f"{split}.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row["label"], row["text"], row["kind"]) for row in rows]


@cache
def minilm_tokenizer() -> BertTokenizer:
    return BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")


def encode_reviews(split: str, limit: int | None = None, max_length: int = 32) -> Encoded:
    rows = read_reviews(split)[:limit]
    texts = [text for _, text, _ in rows]
    batch = minilm_tokenizer()(texts, max_length=max_length, truncation=True, padding=True)
    return Encoded(
        torch.tensor(batch["input_ids"]),
        torch.tensor(batch["attention_mask"]),
        torch.tensor(batch["token_type_ids"]),
        torch.tensor([LABELS.index(label) for label, _, _ in rows]),
        tuple(texts),
        tuple(kind for _, _, kind in rows),
    )


@cache
def corpus_tokenizer() -> BertTokenizer:
    return BertTokenizer.from_vocab_file(CORPUS_DIR / "vocab.txt")


def read_probes() -> list[tuple[str, str]]:
    """(sentence with [MASK], answer) pairs: held-out fill-mask questions."""
    lines = (CORPUS_DIR / "probes.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line.strip()]  # type: ignore[misc]


def encode_corpus(limit: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(input_ids, attention_mask, special_tokens_mask), each (n, seq), padded to the longest."""
    lines = (CORPUS_DIR / "train.txt").read_text(encoding="utf-8").splitlines()[:limit]
    tokenizer = corpus_tokenizer()
    batch = tokenizer(lines, padding=True)
    special = [tokenizer.get_special_tokens_mask(row) for row in batch["input_ids"]]
    return (torch.tensor(batch["input_ids"]), torch.tensor(batch["attention_mask"]),
            torch.tensor(special))  # fmt: skip
