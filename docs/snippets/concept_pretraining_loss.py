"""BERT's pre-training loss is MLM + NSP, unweighted; the MLM decoder reuses the input embeddings.

On a small random configuration: transformers' BertForPreTraining and the reference, with the
same weights, give the same loss, and that loss equals the mean cross-entropy over the
selected (label != -100) positions plus the mean NSP cross-entropy (0 = IsNext, 1 = NotNext).
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
import torch.nn.functional as F
import transformers

import reference

values = dict(
    vocab_size=120,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=32,
)
torch.manual_seed(0)
theirs = transformers.BertForPreTraining(transformers.BertConfig(**values)).eval()
ours = reference.BertForPreTraining(reference.BertConfig(**values)).eval()
ours.load_state_dict(theirs.state_dict())

for model in (ours, theirs):  # one matrix under two names: embedding in, vocabulary scores out
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight

input_ids = torch.randint(5, 120, (4, 16))
labels = torch.full_like(input_ids, -100)
labels[:, [3, 7, 11]] = input_ids[:, [3, 7, 11]]  # three selected positions per row
nsp = torch.tensor([0, 1, 0, 1])  # 0 = B follows A (IsNext), 1 = B is random (NotNext)

with torch.inference_mode():
    out = ours(input_ids, labels=labels, next_sentence_label=nsp)
    hf = theirs(input_ids=input_ids, labels=labels, next_sentence_label=nsp)
mlm = F.cross_entropy(out.prediction_logits.reshape(-1, 120), labels.reshape(-1))  # skips -100
nsp_loss = F.cross_entropy(out.seq_relationship_logits, nsp)
assert torch.allclose(out.loss, hf.loss, atol=1e-6)
assert torch.allclose(out.loss, mlm + nsp_loss, atol=1e-6)
print(
    f"reference loss {out.loss.item():.4f} | transformers {hf.loss.item():.4f} | "
    f"MLM {mlm.item():.4f} + NSP {nsp_loss.item():.4f} = {(mlm + nsp_loss).item():.4f}"
)
