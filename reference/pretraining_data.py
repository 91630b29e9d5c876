"""Pre-training data for BERT: masked-LM corruption and next-sentence pairs.

BERT is pre-trained on two tasks at once (Devlin et al. 2018, arXiv:1810.04805, §3.1):

* **Masked LM.** Select 15% of the WordPiece tokens at random. Of the selected tokens, replace
  80% with ``[MASK]``, 10% with a random token, and leave 10% unchanged; the loss is computed
  on the selected positions only. Appendix C.2 ablates this 80/10/10 mix.
* **Next sentence prediction (NSP).** Build pairs (A, B) where 50% of the time B is the text
  that really follows A ("IsNext") and 50% of the time B comes from a random place in the
  corpus ("NotNext"). Appendix A.2 describes the packing ``[CLS] A [SEP] B [SEP]`` with a
  combined length of at most 512 tokens.

Two public implementations define the details, and they differ:

* google-research/bert ``create_pretraining_data.py`` (the paper's code):
  ``create_instances_from_document`` builds the NSP pairs, ``truncate_seq_pair`` trims them,
  and ``create_masked_lm_predictions`` masks a *fixed count*
  ``min(max_predictions_per_seq, max(1, round(len(tokens) * 0.15)))`` per sequence, offline.
* Hugging Face transformers ``data/data_collator.py``:
  ``DataCollatorForLanguageModeling.torch_mask_tokens`` masks on the fly, each token
  independently with probability 0.15 (so the count per sequence varies), with no cap.

This module follows Google for the NSP pairs and Hugging Face for the masking, because those
are what a PyTorch user meets: transformers v5 no longer ships any NSP data code (its old
``TextDatasetForNextSentencePrediction`` is gone), while its MLM collator is the standard one.

``mask_tokens`` reproduces ``torch_mask_tokens`` draw for draw: the same torch calls, in the
same order, on the same shapes. Given two ``torch.Generator`` objects in the same state, it and
the Hugging Face collator return identical tensors and leave the generators in identical
states (``tests/test_pretraining_data.py`` proves this).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

__all__ = [
    "IGNORE_INDEX",
    "NspExample",
    "create_nsp_examples",
    "mask_tokens",
    "nsp_label",
    "truncate_seq_pair",
]

#: Label for positions that take no part in the loss; ``torch.nn.CrossEntropyLoss`` skips it
#: by default (``ignore_index=-100``).
IGNORE_INDEX = -100

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Masked LM
# --------------------------------------------------------------------------------------------


def _check_probability(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def mask_tokens(
    input_ids: torch.Tensor,
    special_tokens_mask: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt a batch for masked-LM training; return ``(inputs, labels)``.

    The rule (paper §3.1, as implemented by transformers'
    ``DataCollatorForLanguageModeling.torch_mask_tokens``):

    1. Each token is *selected* independently with probability ``mlm_probability``; tokens
       with ``special_tokens_mask == 1`` are never selected.
    2. ``labels`` holds the original id at selected positions and ``-100`` everywhere else,
       so the loss sees only the selected positions.
    3. A selected token becomes ``mask_token_id`` with probability ``mask_replace_prob``.
    4. A selected token that was not masked becomes a uniformly random id in
       ``[0, vocab_size)`` with probability ``random_replace_prob / (1 - mask_replace_prob)``,
       so that overall a fraction ``random_replace_prob`` of the selected tokens is random.
       The random id may be any id, special tokens and the original token included (Google
       draws from the whole vocabulary too).
    5. The remaining selected tokens (10% by default) are left unchanged.

    Args:
        input_ids: integer tensor of token ids, any shape (usually ``(batch, seq_len)``).
            It is not modified; a corrupted copy is returned.
        special_tokens_mask: bool or 0/1 integer tensor of the same shape; 1 marks tokens
            that must never be selected. The caller must mark ``[CLS]``, ``[SEP]`` **and
            padding** here (a tokenizer called with ``return_special_tokens_mask=True`` and
            then padded does), otherwise padding can be selected and trained on.
        mask_token_id: id of ``[MASK]``.
        vocab_size: random replacements are drawn from ``[0, vocab_size)``. To match
            transformers pass ``len(tokenizer)``, which counts added tokens.
        mlm_probability: selection probability (paper: 0.15).
        mask_replace_prob: fraction of selected tokens replaced by ``[MASK]`` (paper: 0.8).
        random_replace_prob: fraction of selected tokens replaced by a random id (paper: 0.1).
        generator: source of randomness; ``None`` uses torch's global generator. Draws are
            made on torch's default device, as in transformers, so the generator must live
            there.

    Returns:
        ``(inputs, labels)``: the corrupted ids (same dtype as ``input_ids``) and the labels
        (same dtype as ``input_ids``, ``-100`` at unselected positions).

    Raises:
        ValueError: a probability outside [0, 1], ``mask_replace_prob + random_replace_prob >
            1``, mismatched shapes, a non-integer ``input_ids``, a float or non-0/1
            ``special_tokens_mask``, or ids outside the vocabulary.
    """
    mlm_probability = _check_probability("mlm_probability", mlm_probability)
    mask_replace_prob = _check_probability("mask_replace_prob", mask_replace_prob)
    random_replace_prob = _check_probability("random_replace_prob", random_replace_prob)
    # The same test, in the same float arithmetic, as DataCollatorForLanguageModeling.__post_init__.
    if mask_replace_prob + random_replace_prob > 1:
        raise ValueError(
            "mask_replace_prob + random_replace_prob must not exceed 1, got "
            f"{mask_replace_prob} + {random_replace_prob}"
        )
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype == torch.bool:
        raise ValueError("input_ids must be an integer torch.Tensor")
    if input_ids.is_floating_point() or input_ids.is_complex():
        raise ValueError(f"input_ids must have an integer dtype, got {input_ids.dtype}")
    if not isinstance(special_tokens_mask, torch.Tensor):
        raise ValueError("special_tokens_mask must be a torch.Tensor (bool or 0/1 integers)")
    if special_tokens_mask.shape != input_ids.shape:
        raise ValueError(
            f"special_tokens_mask has shape {tuple(special_tokens_mask.shape)} but input_ids "
            f"has shape {tuple(input_ids.shape)}"
        )
    if special_tokens_mask.is_floating_point() or special_tokens_mask.is_complex():
        raise ValueError(
            f"special_tokens_mask must be bool or integer, got {special_tokens_mask.dtype}"
        )
    if special_tokens_mask.dtype != torch.bool and bool(
        ((special_tokens_mask != 0) & (special_tokens_mask != 1)).any()
    ):
        raise ValueError("an integer special_tokens_mask may contain only 0 and 1")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(f"mask_token_id {mask_token_id} is outside [0, {vocab_size})")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator)}")

    inputs = input_ids.clone()  # transformers edits its argument in place; we do not
    labels = input_ids.clone()

    # Every draw below is the call transformers makes, in its order and on the full shape, so
    # equal generator states give equal results. torch.full without a dtype uses the default
    # dtype (float32), exactly as transformers does; the probabilities are rounded to it.

    # 1. Select tokens: Bernoulli(mlm_probability) per token, probability 0 for specials.
    probability_matrix = torch.full(labels.shape, mlm_probability)
    probability_matrix.masked_fill_(special_tokens_mask.bool(), value=0.0)
    selected = torch.bernoulli(probability_matrix, generator=generator).bool()
    labels[~selected] = IGNORE_INDEX  # the loss is computed on selected tokens only

    # 2. Of the selected: [MASK] with probability mask_replace_prob. The coin is tossed for
    #    every position (wasteful, but that is what fixes the generator's sequence).
    masked = (
        torch.bernoulli(torch.full(labels.shape, mask_replace_prob), generator=generator).bool()
        & selected
    )
    inputs[masked] = mask_token_id

    # transformers returns here, drawing nothing more; doing the same keeps generators in step.
    if mask_replace_prob == 1 or random_replace_prob == 0:
        return inputs, labels

    # 3. Of the selected but not masked: a random id with probability
    #    random_replace_prob / (1 - mask_replace_prob), i.e. 0.1 / 0.2 = 0.5 by default.
    random_given_not_masked = random_replace_prob / (1 - mask_replace_prob)
    randomized = (
        torch.bernoulli(
            torch.full(labels.shape, random_given_not_masked), generator=generator
        ).bool()
        & selected
        & ~masked
    )
    random_ids = torch.randint(vocab_size, labels.shape, dtype=torch.long, generator=generator)
    inputs[randomized] = random_ids[randomized].to(inputs.dtype)

    # 4. The rest of the selected tokens keep their original id (but still carry a label).
    return inputs, labels


# --------------------------------------------------------------------------------------------
# Next sentence prediction
# --------------------------------------------------------------------------------------------


def truncate_seq_pair(
    tokens_a: list[T], tokens_b: list[T], max_num_tokens: int, rng: random.Random
) -> None:
    """Trim a pair in place until ``len(tokens_a) + len(tokens_b) <= max_num_tokens``.

    google-research/bert ``create_pretraining_data.py`` ``truncate_seq_pair``, line for line:
    each step removes one token from the longer list (``tokens_b`` on a tie), from the front
    or the back with equal probability, "to add more randomness and avoid biases". One
    ``rng.random()`` call per removed token. (Its ``run_classifier.py`` twin
    ``_truncate_seq_pair`` is deterministic: it always pops from the back.)

    Which tokens go is random, but how many go from each side is not: the lengths end up
    exactly as if the longer side were shortened one token at a time.
    """
    if max_num_tokens < 0:
        raise ValueError(f"max_num_tokens must be >= 0, got {max_num_tokens}")
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


@dataclass(frozen=True)
class NspExample:
    """One NSP training pair, before token-to-id conversion and masking.

    ``is_random_next`` is True when ``tokens_b`` was taken from another document.
    """

    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]
    is_random_next: bool

    CLS = "[CLS]"
    SEP = "[SEP]"

    @property
    def tokens(self) -> list[str]:
        """The packed input ``[CLS] A [SEP] B [SEP]`` (paper §3.1, Figure 2)."""
        return [self.CLS, *self.tokens_a, self.SEP, *self.tokens_b, self.SEP]

    @property
    def segment_ids(self) -> list[int]:
        """Token-type ids: 0 for ``[CLS]``, A and the first ``[SEP]``; 1 for B and the last."""
        return [0] * (len(self.tokens_a) + 2) + [1] * (len(self.tokens_b) + 1)

    @property
    def next_sentence_label(self) -> int:
        """0 = IsNext, 1 = random (NotNext).

        The convention of Google's ``write_instance_to_example_files``
        (``1 if instance.is_random_next else 0``) and of transformers'
        ``BertForPreTraining.forward`` (``next_sentence_label``).
        """
        return int(self.is_random_next)


def nsp_label(example: NspExample) -> int:
    """The NSP class of ``example``: 0 = IsNext, 1 = random. Same as ``.next_sentence_label``."""
    return example.next_sentence_label


def create_nsp_examples(
    documents: Sequence[Sequence[Sequence[str]]],
    max_seq_length: int,
    *,
    rng: random.Random,
    short_seq_prob: float = 0.1,
    random_next_prob: float = 0.5,
) -> list[NspExample]:
    """Cut documents into NSP pairs, following Google's ``create_instances_from_document``.

    ``documents`` is a list of documents, each a list of sentences, each a non-empty list of
    tokens (WordPiece strings). Sentence boundaries matter: A and B always start and end on
    them before truncation, which keeps the task from being trivially solvable from a cut in
    mid-sentence. Documents are processed in order; for each one:

    1. **Target length.** ``max_num_tokens = max_seq_length - 3`` (room for ``[CLS]`` and two
       ``[SEP]``). With probability ``short_seq_prob`` the target for the whole document is
       instead ``rng.randint(2, max_num_tokens)``: short sequences reduce the mismatch with
       short fine-tuning inputs.
    2. **Chunks.** Sentences are appended to a chunk until it reaches the target length or
       the document ends.
    3. **Split.** A is the first ``a_end`` sentences of the chunk, ``a_end`` uniform in
       ``[1, len(chunk) - 1]`` (1 for a one-sentence chunk).
    4. **B.** If the chunk has one sentence, or with probability ``random_next_prob``, B is
       random: sentences from a random start in a random *other* document, until B reaches
       ``target - len(A)``. The chunk's sentences after A were not used, so they are "put
       back": the next chunk starts right after A. Otherwise B is the rest of the chunk
       (IsNext).
    5. **Trim.** :func:`truncate_seq_pair` to ``max_num_tokens``.

    Differences from Google's code, all deliberate:

    * Google tries 10 times to draw a random document different from the current one and then
      silently uses whatever it drew last, so a NotNext pair can come from the same document
      (certain with a single document). Here the draw is repeated until it differs, and fewer
      than two documents is an error. The random calls are otherwise the same, so with the
      same ``random.Random`` state the output equals Google's whenever its 10 tries succeed.
    * Google's ``create_training_instances`` also shuffles the documents first, repeats the
      whole pass ``dupe_factor`` times (10) with fresh masks, masks each pair right away
      (consuming ``rng``), and shuffles all instances at the end. Here only the pairs are
      made; shuffle, repeat and mask (:func:`mask_tokens`, at batch time) as you need.
    * ``random_next_prob`` is Google's hard-coded 0.5 (transformers' old dataset called it
      ``nsp_probability``).

    The NSP class is not exactly 50/50: a one-sentence chunk (typically the last sentence of
    a document) is always NotNext.

    Empty documents are dropped first (Google does too); empty sentences are an error (Google
    drops them while reading text), since an empty A or B would be meaningless.
    """
    if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int):
        raise ValueError(f"max_seq_length must be an int, got {max_seq_length!r}")
    if max_seq_length < 5:
        # [CLS] A [SEP] B [SEP] with a target length of at least 2 (Google's randint(2, ...)).
        raise ValueError(f"max_seq_length must be >= 5, got {max_seq_length}")
    short_seq_prob = _check_probability("short_seq_prob", short_seq_prob)
    random_next_prob = _check_probability("random_next_prob", random_next_prob)
    if not isinstance(rng, random.Random):
        raise ValueError(f"rng must be a random.Random, got {type(rng)}")

    docs = [doc for doc in documents if len(doc) > 0]
    for d, doc in enumerate(docs):
        for s, sentence in enumerate(doc):
            if len(sentence) == 0:
                raise ValueError(f"sentence {s} of non-empty document {d} has no tokens")
    if len(docs) < 2:
        raise ValueError(
            f"need at least 2 non-empty documents (a random next sentence must come from "
            f"another document), got {len(docs)}"
        )

    examples: list[NspExample] = []
    for document_index in range(len(docs)):
        examples.extend(
            _examples_from_document(
                docs, document_index, max_seq_length, short_seq_prob, random_next_prob, rng
            )
        )
    return examples


def _examples_from_document(
    documents: list[Sequence[Sequence[str]]],
    document_index: int,
    max_seq_length: int,
    short_seq_prob: float,
    random_next_prob: float,
    rng: random.Random,
) -> list[NspExample]:
    """Google's ``create_instances_from_document`` without the masking step."""
    document = documents[document_index]
    max_num_tokens = max_seq_length - 3  # [CLS] A [SEP] B [SEP]

    # The target is only a rough goal (a chunk may overshoot it by one sentence);
    # max_num_tokens is the hard limit, enforced by truncation.
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    examples: list[NspExample] = []
    chunk: list[Sequence[str]] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_seq_length:
            # A = the first a_end sentences of the chunk.
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [token for sentence in chunk[:a_end] for token in sentence]

            tokens_b: list[str] = []
            if len(chunk) == 1 or rng.random() < random_next_prob:
                is_random_next = True
                target_b_length = target_seq_length - len(tokens_a)
                # Any document but this one (Google gives up after 10 tries; see above).
                while True:
                    random_document_index = rng.randint(0, len(documents) - 1)
                    if random_document_index != document_index:
                        break
                random_document = documents[random_document_index]
                random_start = rng.randint(0, len(random_document) - 1)
                for sentence in random_document[random_start:]:
                    tokens_b.extend(sentence)
                    if len(tokens_b) >= target_b_length:
                        break
                # The chunk's sentences after A went unused: "put them back" so the next
                # chunk starts right after A and they are not wasted.
                i -= len(chunk) - a_end
            else:
                is_random_next = False
                tokens_b = [token for sentence in chunk[a_end:] for token in sentence]

            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            examples.append(NspExample(tuple(tokens_a), tuple(tokens_b), is_random_next))
            chunk = []
            chunk_length = 0
        i += 1
    return examples
