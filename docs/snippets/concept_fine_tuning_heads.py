"""The three fine-tuning heads and their losses, reference vs transformers on the same weights.

* sequence classification reads the pooled [CLS]: classifier(tanh(W h_[CLS] + b));
* token classification averages cross-entropy over labelled tokens only (label -100 skipped);
* question answering scores every token as start and end; loss = (CE_start + CE_end) / 2.
  A position past the input (>= seq_len) is clamped to seq_len and ignored: a guard. A window
  that does not contain the answer is labelled start = end = 0, the [CLS] index, by the data
  pipeline (Google's run_squad.py, transformers' run_qa.py), and that label is trained on.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
import torch.nn.functional as F
import transformers

import reference

values = dict(
    vocab_size=100,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=32,
    num_labels=3,
)


def pair(name, **overrides):
    config = {**values, **overrides}
    torch.manual_seed(0)
    theirs = getattr(transformers, name)(transformers.BertConfig(**config)).eval()
    ours = getattr(reference, name)(reference.BertConfig(**config)).eval()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


torch.manual_seed(1)
ids = torch.randint(5, 100, (2, 10))
mask = torch.ones_like(ids)
mask[1, 6:] = 0  # row 1 has 4 padding tokens

with torch.inference_mode():
    # Sequence classification: logits come from the pooler output, not from h_[CLS] directly.
    ours, theirs = pair("BertForSequenceClassification")
    labels = torch.tensor([2, 0])
    out = ours(ids, mask, labels=labels)
    hf = theirs(input_ids=ids, attention_mask=mask, labels=labels)
    pooled = ours.bert(ids, mask).pooler_output
    assert torch.allclose(out.logits, ours.classifier(pooled), atol=1e-6)
    assert torch.allclose(out.loss, hf.loss, atol=1e-6)
    twice = F.cross_entropy(out.logits.softmax(-1), labels)  # softmax applied twice: wrong
    print(
        f"sequence: loss {out.loss.item():.4f} (HF {hf.loss.item():.4f}); "
        f"with an extra softmax it would read {twice.item():.4f}"
    )

    # Token classification: -100 marks [CLS], [SEP], padding, and word pieces after the first.
    ours, theirs = pair("BertForTokenClassification")
    tags = torch.randint(0, 3, (2, 10))
    tags[:, 0] = -100
    tags[0, 9] = tags[1, 5:] = -100
    out = ours(ids, mask, labels=tags)
    hf = theirs(input_ids=ids, attention_mask=mask, labels=tags)
    per_token = F.cross_entropy(out.logits.reshape(-1, 3), tags.reshape(-1), reduction="none")
    right = per_token.sum() / (tags != -100).sum()
    wrong = per_token.mean()  # divides by all 20 positions: more padding, smaller loss
    assert torch.allclose(out.loss, hf.loss, atol=1e-6) and torch.allclose(out.loss, right)
    assert wrong < right
    print(
        f"token: loss {out.loss.item():.4f} over {(tags != -100).sum().item()} labelled tokens; "
        f"averaging over all 20 positions would give {wrong.item():.4f}"
    )

    # Question answering: row 1's positions (25, 27) lie past the input (seq 10).
    ours, theirs = pair("BertForQuestionAnswering", num_labels=2)
    start, end = torch.tensor([3, 25]), torch.tensor([5, 27])
    out = ours(ids, mask, start_positions=start, end_positions=end)
    hf = theirs(input_ids=ids, attention_mask=mask, start_positions=start, end_positions=end)
    assert out.start_logits.shape == out.end_logits.shape == (2, 10)
    by_hand = (
        F.cross_entropy(out.start_logits, start.clamp(0, 10), ignore_index=10)
        + F.cross_entropy(out.end_logits, end.clamp(0, 10), ignore_index=10)
    ) / 2
    only_row_0 = (
        F.cross_entropy(out.start_logits[:1], start[:1])
        + F.cross_entropy(out.end_logits[:1], end[:1])
    ) / 2
    assert torch.allclose(out.loss, hf.loss, atol=1e-6)
    assert torch.allclose(out.loss, by_hand) and torch.allclose(out.loss, only_row_0)
    print(
        f"QA: loss {out.loss.item():.4f} (HF {hf.loss.item():.4f}) = row 0 alone; "
        f"positions past the input (25 >= seq 10) are ignored"
    )

    # What a SQuAD pipeline feeds for a window without the answer: start = end = 0 ([CLS]).
    # That is a real label: the window is trained to point at [CLS].
    cls_start, cls_end = torch.tensor([3, 0]), torch.tensor([5, 0])
    at_cls = ours(ids, mask, start_positions=cls_start, end_positions=cls_end).loss
    hf_cls = theirs(
        input_ids=ids, attention_mask=mask, start_positions=cls_start, end_positions=cls_end
    ).loss
    both_rows = (
        F.cross_entropy(out.start_logits, cls_start) + F.cross_entropy(out.end_logits, cls_end)
    ) / 2
    assert torch.allclose(at_cls, hf_cls, atol=1e-6) and torch.allclose(at_cls, both_rows)
    assert not torch.allclose(at_cls, only_row_0)
    print(
        f"QA: window without the answer labelled at [CLS] (0): loss {at_cls.item():.4f} "
        f"(HF {hf_cls.item():.4f}), both rows count"
    )
