"""Evidence for the corrections to the blog's Q3 (fine-tuning): [CLS] and [SEP] must stay.

Runs offline on the bundled all-MiniLM-L6-v2 weights with the repository's `reference/` BERT.
"""

import torch

import reference

# --8<-- [start:packing]
tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")
enc = tok("is this jacksonville?", "no it is not.")
print(tok.convert_ids_to_tokens(enc["input_ids"]))
# ['[CLS]', 'is', 'this', 'jacksonville', '?', '[SEP]', 'no', 'it', 'is', 'not', '.', '[SEP]']
print(enc["token_type_ids"])  # [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
assert tok.convert_ids_to_tokens(enc["input_ids"])[0] == "[CLS]"
assert enc["token_type_ids"] == [0] * 6 + [1] * 6
# --8<-- [end:packing]

# --8<-- [start:head_reads_cls]
torch.manual_seed(0)
clf = reference.load_pretrained(
    reference.BertForSequenceClassification
)  # warns: classifier.{weight,bias} are new
ids = torch.tensor([enc["input_ids"]])
types = torch.tensor([enc["token_type_ids"]])
with torch.no_grad():
    hidden, pooled = clf.bert(ids, token_type_ids=types)
    # The pooler reads position 0 and nothing else: tanh(W h_0 + b) ...
    assert torch.allclose(pooled, torch.tanh(clf.bert.pooler.dense(hidden[:, 0])))
    # ... and the classifier reads the pooler (dropout is off in eval mode).
    assert torch.allclose(clf(ids, token_type_ids=types).logits, clf.classifier(pooled))

# "Step 1: delete [CLS] and [SEP]": the head still reads position 0, which is now the word
# "is". The classifier would be fed the vector of an ordinary word, not the summary position.
no_special = [i for i in enc["input_ids"] if i not in tok.all_special_ids]
print(tok.convert_ids_to_tokens(no_special)[0])  # is
assert tok.convert_ids_to_tokens(no_special)[0] == "is"
# --8<-- [end:head_reads_cls]
