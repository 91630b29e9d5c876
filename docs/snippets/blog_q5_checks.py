"""Evidence for the corrections to the blog's Q5 program ("implement the MLM task").

The blog's code is analysed as text (no TensorFlow needed); its loss is re-enacted with the
same arithmetic in PyTorch; the real MLM head is inspected on the bundled all-MiniLM-L6-v2.
"""

import ast
import builtins

import torch

import reference

# --8<-- [start:names]
BLOG_Q5 = """
import tensorflow as tf
input_ids = tf.keras.layers.Input(shape=(max_seq_length,), dtype='int32')
input_mask = tf.keras.layers.Input(shape=(max_seq_length,), dtype='float32')
segment_ids = tf.keras.layers.Input(shape=(max_seq_length,), dtype='int32')
bert_model = tf.keras.applications.BertModel.from_pretrained('bert-base-uncased')
input_concatenated = tf.keras.layers.Concatenate(axis=-1)([input_ids, input_mask, segment_ids])
output = bert_model(input_concatenated)[0]
output = tf.keras.layers.Dense(units=mask_vocab_size, activation='softmax')(output)
mask_loss = tf.keras.layers.Lambda(
    lambda x: tf.reduce_sum(tf.keras.metrics.categorical_crossentropy(x[:, :mask_seq_length], x[:, mask_seq_length:]), axis=-1)
)
loss = mask_loss(output)
model = tf.keras.Model(inputs=[input_ids, input_mask, segment_ids], outputs=loss)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.summary()
"""  # noqa: E501  (the blog's lines, verbatim)

tree = ast.parse(BLOG_Q5)
bound = set(dir(builtins)) | {"tf"}
bound |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
bound |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}  # the lambda's x
read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
print(sorted(read - bound))  # ['mask_seq_length', 'mask_vocab_size', 'max_seq_length']
assert sorted(read - bound) == ["mask_seq_length", "mask_vocab_size", "max_seq_length"]

# Where does the text (the labels) enter the loss? Nowhere: the Lambda's only input is the
# model's own output.
lam = next(n for n in ast.walk(tree) if isinstance(n, ast.Lambda))
lambda_reads = {n.id for n in ast.walk(lam.body) if isinstance(n, ast.Name)}
assert lambda_reads == {"tf", "x", "mask_seq_length"}
# --8<-- [end:names]


# --8<-- [start:lambda]
# The blog's Lambda, same arithmetic in PyTorch. Keras' categorical_crossentropy(y_true, y_pred)
# is -sum(y_true * log(y_pred), axis=-1); x is the softmax output, (batch, seq, vocab).
def categorical_crossentropy(y_true, y_pred):
    return -(y_true * y_pred.log()).sum(-1)


batch, seq, vocab = 2, 8, 30522
x = torch.randn(batch, seq, vocab).softmax(-1)

mask_seq_length = 3  # any value but seq / 2: the two slices have different lengths
try:
    categorical_crossentropy(x[:, :mask_seq_length], x[:, mask_seq_length:])
except RuntimeError as err:
    print(err)  # The size of tensor a (3) must match the size of tensor b (5) at non-singleton ...

mask_seq_length = seq // 2  # the only value that runs: positions 0-3 are "labels" for 4-7
loss = categorical_crossentropy(x[:, :mask_seq_length], x[:, mask_seq_length:]).sum(-1)
print(tuple(loss.shape))  # (2,): a number per sentence, computed from predictions alone
# --8<-- [end:lambda]

# --8<-- [start:head]
torch.manual_seed(0)
mlm = reference.load_pretrained(reference.BertForMaskedLM)  # warns: the MLM head is new
enc_keys = {k for k in reference.load_pretrained(reference.BertModel).state_dict()}
mlm_keys = set(mlm.state_dict())

# 1. The encoder is not modified: every encoder weight keeps its name and shape.
assert {f"bert.{k}" for k in enc_keys if not k.startswith("pooler.")} <= mlm_keys
# 2. The head adds a transform (dense + GELU + LayerNorm), then a decoder over the WHOLE
#    vocabulary whose weight IS the input embedding matrix (tied), plus an output-only bias.
print(sorted(k for k in mlm_keys if k.startswith("cls.")))
decoder = mlm.cls.predictions.decoder
assert decoder.weight is mlm.bert.embeddings.word_embeddings.weight
assert decoder.out_features == mlm.config.vocab_size == 30522
new = sum(p.numel() for n, p in mlm.named_parameters() if n.startswith("cls."))
print(f"new parameters in the MLM head: {new:,}")  # 179,130 (the 30522 x 384 matrix is shared)
assert new == 384 * 384 + 384 + 2 * 384 + 30522
# --8<-- [end:head]

# --8<-- [start:nsp]
# BERT's pre-training has TWO objectives (section 3.1): MLM and next sentence prediction.
import random  # noqa: E402

import torch.nn.functional as F  # noqa: E402

tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")
docs = [  # documents -> sentences -> WordPiece tokens
    [tok.tokenize(s) for s in ("the sky was grey.", "then it began to rain.", "we went home.")],
    [tok.tokenize(s) for s in ("prices rose in march.", "sales fell in april.")],
]
pairs = reference.create_nsp_examples(docs, max_seq_length=32, rng=random.Random(3))
for p in pairs:  # label 0 = IsNext (B really follows A), 1 = NotNext (B from another document)
    print(p.next_sentence_label, " ".join(p.tokens))

pre = reference.load_pretrained(reference.BertForPreTraining)  # warns: cls.* heads are new
width = max(len(p.tokens) for p in pairs)
ids = torch.tensor(
    [tok.convert_tokens_to_ids(p.tokens) + [0] * (width - len(p.tokens)) for p in pairs]
)
types = torch.tensor([p.segment_ids + [0] * (width - len(p.tokens)) for p in pairs])
mask = (torch.arange(width)[None] < torch.tensor([len(p.tokens) for p in pairs])[:, None]).long()
special = (ids == tok.cls_token_id) | (ids == tok.sep_token_id) | (mask == 0)
inputs, mlm_labels = reference.mask_tokens(
    ids,
    special,
    mask_token_id=tok.mask_token_id,
    vocab_size=tok.vocab_size,
    generator=torch.Generator().manual_seed(0),
)
nsp_labels = torch.tensor([p.next_sentence_label for p in pairs])
with torch.no_grad():
    out = pre(inputs, mask, types, labels=mlm_labels, next_sentence_label=nsp_labels)
    mlm = F.cross_entropy(out.prediction_logits.flatten(0, 1), mlm_labels.flatten())  # -100 skipped
    nsp = F.cross_entropy(out.seq_relationship_logits, nsp_labels)  # from the pooled [CLS]
print(f"loss {out.loss.item():.3f} = MLM {mlm.item():.3f} + NSP {nsp.item():.3f}")
assert torch.allclose(out.loss, mlm + nsp)  # unweighted sum, as run_pretraining.py
# --8<-- [end:nsp]
