"""Evidence for the corrections to the blog's Q4 program ("implement a simple BERT model").

TensorFlow is not needed (nor installed here): the blog's code is analysed as text, and each
mistake is reproduced with the same tensors in PyTorch on the bundled all-MiniLM-L6-v2 weights.
"""

import ast
import builtins
from dataclasses import replace

import torch
import torch.nn.functional as F

import reference

torch.manual_seed(0)  # every random number below is reproducible

# --8<-- [start:names]
BLOG_Q4 = """
import tensorflow as tf
input_ids = tf.keras.layers.Input(shape=(max_seq_length,), dtype='int32')
input_mask = tf.keras.layers.Input(shape=(max_seq_length,), dtype='float32')
segment_ids = tf.keras.layers.Input(shape=(max_seq_length,), dtype='int32')
bert_model = tf.keras.applications.BertModel.from_pretrained('bert-base-uncased')
input_concatenated = tf.keras.layers.Concatenate(axis=-1)([input_ids, input_mask, segment_ids])
output = bert_model(input_concatenated)[0]
output = tf.keras.layers.Dense(units=num_classes, activation='softmax')(output)
model = tf.keras.Model(inputs=[input_ids, input_mask, segment_ids], outputs=output)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.summary()
"""


def undefined_names(source: str) -> list[str]:
    """Names the code reads but never binds: each one is a NameError when it runs."""
    tree = ast.parse(source)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    loaded = [
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    ]
    return sorted(set(loaded) - bound)


print(undefined_names(BLOG_Q4))  # ['max_seq_length', 'num_classes']
assert undefined_names(BLOG_Q4) == ["max_seq_length", "num_classes"]
# --8<-- [end:names]

# --8<-- [start:no_tf_bert]
import transformers  # noqa: E402  (5.x here)

print(transformers.__version__, hasattr(transformers, "TFBertModel"))  # 5.x.y False
assert int(transformers.__version__.split(".")[0]) >= 5
assert not hasattr(transformers, "TFBertModel")  # v5 is PyTorch-only
# --8<-- [end:no_tf_bert]

# --8<-- [start:concat]
tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")
bert = reference.load_pretrained(reference.BertModel)
enc = tok(["the film was wonderful", "dull"], padding="max_length", max_length=8)
input_ids = torch.tensor(enc["input_ids"])  # (2, 8) int64
input_mask = torch.tensor(enc["attention_mask"], dtype=torch.float32)  # (2, 8) as in the blog
segment_ids = torch.tensor(enc["token_type_ids"])  # (2, 8) int64

glued = torch.cat([input_ids, input_mask, segment_ids], dim=-1)
print(glued.dtype, tuple(glued.shape))  # torch.float32 (2, 24): ids became floats

# The first thing BERT does with input_ids is an nn.Embedding lookup, and PyTorch refuses
# float indices (transformers' BertModel raises this same error):
lookup = bert.embeddings.word_embeddings
assert type(lookup) is torch.nn.Embedding
try:
    lookup(glued)
    raise AssertionError("float ids should be refused")
except RuntimeError as err:
    print(err)  # Expected tensor for argument #1 'indices' to have one of ... Long, Int; ...
    assert "Long, Int" in str(err)

# Even cast back to integers, the model would read the mask and segment values as WORDS.
# Row 1 ("dull"): its 8 ids, then its mask (1 1 1 0 ...), then its segment ids (all 0).
print(tok.convert_ids_to_tokens(glued[1, :12].long().tolist()), "...")
assert tok.convert_ids_to_tokens([0, 1]) == ["[PAD]", "[unused0]"]  # 0 -> [PAD], 1 -> [unused0]

# What BERT takes: three tensors of the same (batch, seq) shape, passed separately.
with torch.no_grad():
    out = bert(input_ids, attention_mask=input_mask.long(), token_type_ids=segment_ids)
print(tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape))  # (2, 8, 384) (2, 384)
# --8<-- [end:concat]

# --8<-- [start:shapes]
num_classes = 2
labels = torch.tensor([1, 0])  # ONE label per sentence
torch.manual_seed(0)  # the new head's random initial weights, reproducibly
head = torch.nn.Linear(384, num_classes)

per_token = head(out.last_hidden_state)  # the blog: Dense on the sequence output
print(tuple(per_token.shape))  # (2, 8, 2): one class distribution per TOKEN
try:
    F.cross_entropy(per_token, labels)
except RuntimeError as err:
    print(err)  # Expected target size [2, 2], got [2]

per_sentence = head(out.pooler_output)  # BERT (paper section 4.1): classify from [CLS]
loss = F.cross_entropy(per_sentence, labels).item()
print(tuple(per_sentence.shape), f"{loss:.4f}")  # (2, 2) and a loss near ln 2 = 0.693
assert per_sentence.shape == (2, num_classes)
# --8<-- [end:shapes]

# --8<-- [start:from_logits]
# Keep logits and let the loss take the log-softmax (Keras: from_logits=True; PyTorch:
# F.cross_entropy on logits). A confident, wrong prediction (true class 0) shows why:
logits = torch.tensor([[0.0, 200.0]], requires_grad=True)
target = torch.tensor([0])


def report(name, loss):
    (grad,) = torch.autograd.grad(loss, logits)
    print(f"{name:<36} loss {loss.item():7.3f}   gradient {grad[0].tolist()}")
    return loss.item(), grad[0].tolist()


# 1. softmax, then log: P(class 0) = e^-200 underflows to 0.0 in float32, log(0) = -inf.
bad = report("-log(softmax(z))", -torch.log(torch.softmax(logits, -1)[0, 0]))
# 2. Keras with probabilities (from_logits=False) clips them to [1e-7, 1 - 1e-7] before the
#    log: the loss is capped at -log(1e-7) = 16.118 and the clipped value has no gradient.
clipped = torch.softmax(logits, -1).clamp(1e-7, 1 - 1e-7)
capped = report("-log(clip(softmax(z), 1e-7))", -torch.log(clipped[0, 0]))
# 3. log-softmax in one step (log-sum-exp): the exact loss, and a gradient that still says
#    "raise z0, lower z1".
good = report("cross_entropy(z) = -log_softmax(z)", F.cross_entropy(logits, target))
assert bad[0] == float("inf") and all(g != g for g in bad[1])  # inf loss, NaN gradient
assert abs(capped[0] - 16.118) < 1e-3 and capped[1] == [0.0, 0.0]
assert abs(good[0] - 200.0) < 1e-3 and good[1] == [-1.0, 1.0]
# --8<-- [end:from_logits]

# --8<-- [start:gelu]
# If you do write BERT yourself: transformers' "gelu" is the exact erf form; later versions of
# Google's modeling.py use the tanh approximation. Close, but not equal.
x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)  # float64: the gap itself, no noise
diff = (F.gelu(x) - F.gelu(x, approximate="tanh")).abs()
gap, where = diff.max().item(), x[diff.argmax()].abs().item()
print(f"per activation: max |erf-GELU - tanh-GELU| = {gap:.2e} (at x = ±{where:.2f})")
assert 4.7e-4 < gap < 4.8e-4

# The same 9-token sentence as docs/snippets/exercise_gelu_forms.py, through all 6 layers.
ids = torch.tensor([tok("the cat sat on the mat.")["input_ids"]])
tanh_bert = reference.BertModel(replace(bert.config, hidden_act="gelu_new")).eval()
tanh_bert.load_state_dict(bert.state_dict())  # same weights, tanh-GELU inside
with torch.no_grad():
    drift = (tanh_bert(ids).last_hidden_state - bert(ids).last_hidden_state).abs().max().item()
print(f"MiniLM last hidden state, tanh vs erf GELU in all 6 layers: max |diff| = {drift:.1e}")
assert 2.45e-3 < drift < 2.55e-3  # about 25 times the 1e-4 the capstone allows
# --8<-- [end:gelu]
