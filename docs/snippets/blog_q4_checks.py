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

print(transformers.__version__, hasattr(transformers, "TFBertModel"))  # 5.24.0 False
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
try:
    bert(glued)
except TypeError as err:
    print(err)  # input_ids must hold integer token ids, got dtype torch.float32

# Even cast back to integers, the model would read the mask and segment values as WORDS:
print(tok.convert_ids_to_tokens(glued[1].long().tolist()))
# ['[CLS]', 'dull', '[SEP]', '[PAD]', ..., '[unused0]', '[unused0]', '[unused0]', '[PAD]', ...]
assert tok.convert_ids_to_tokens([0, 1]) == ["[PAD]", "[unused0]"]

# What BERT takes: three tensors of the same (batch, seq) shape, passed separately.
with torch.no_grad():
    out = bert(input_ids, attention_mask=input_mask.long(), token_type_ids=segment_ids)
print(tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape))  # (2, 8, 384) (2, 384)
# --8<-- [end:concat]

# --8<-- [start:shapes]
num_classes = 2
labels = torch.tensor([1, 0])  # ONE label per sentence
head = torch.nn.Linear(384, num_classes)

per_token = head(out.last_hidden_state)  # the blog: Dense on the sequence output
print(tuple(per_token.shape))  # (2, 8, 2): one class distribution per TOKEN
try:
    F.cross_entropy(per_token, labels)
except RuntimeError as err:
    print(err)  # Expected target size [2, 2], got [2]

per_sentence = head(out.pooler_output)  # BERT (paper section 4.1): classify from [CLS]
print(tuple(per_sentence.shape), F.cross_entropy(per_sentence, labels).item())  # (2, 2) ...
assert per_sentence.shape == (2, num_classes)
# --8<-- [end:shapes]

# --8<-- [start:gelu]
# If you do write BERT yourself: transformers' "gelu" is the exact erf form; later versions of
# Google's modeling.py use the tanh approximation. Close, but not equal.
x = torch.linspace(-6, 6, 120_001)
gap = (F.gelu(x) - F.gelu(x, approximate="tanh")).abs().max().item()
print(f"max |erf-GELU - tanh-GELU| = {gap:.2e}")  # 4.74e-04
assert 4e-4 < gap < 5e-4

ids = torch.tensor([tok("the quick brown fox jumps over the lazy dog")["input_ids"]])
tanh_bert = reference.BertModel(replace(bert.config, hidden_act="gelu_new")).eval()
tanh_bert.load_state_dict(bert.state_dict())  # same weights, tanh-GELU inside
with torch.no_grad():
    drift = (tanh_bert(ids).last_hidden_state - bert(ids).last_hidden_state).abs().max().item()
print(f"MiniLM hidden states, tanh vs erf GELU: max |diff| = {drift:.1e}")
assert 1e-4 < drift < 1e-2
# --8<-- [end:gelu]
