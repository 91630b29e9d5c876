"""The blog's Q5, corrected: train BERT's masked language model (MLM), in PyTorch.

Encoder: the bundled all-MiniLM-L6-v2, loaded offline with the repository's `reference/` BERT.
Honest caveat: this checkpoint ships NO MLM head (it was released as a sentence encoder), so
the head's transform and output bias start from random initialisation; its decoder weight is
tied to the pre-trained word embeddings. A few steps on a toy corpus show the loss going down.
With transformers the same program uses BertForMaskedLM and DataCollatorForLanguageModeling.
"""

import torch

import reference

torch.manual_seed(0)
tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")
model = reference.load_pretrained(reference.BertForMaskedLM)  # warns: cls.predictions.* are new
assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight

corpus = [
    "the cat sat on the mat and looked out of the window",
    "paris is the capital and the largest city of france",
    "the river flows through the city from east to west",
    "she opened the door and walked into the quiet room",
    "water boils at one hundred degrees at sea level",
    "he read the book slowly and then read it again",
    "the children played in the park until it was dark",
    "the train to the airport leaves every twenty minutes",
]
enc = tok(corpus, padding=True)
input_ids = torch.tensor(enc["input_ids"])
attention_mask = torch.tensor(enc["attention_mask"])
special = torch.tensor(
    [[int(i in tok.all_special_ids) for i in row] for row in enc["input_ids"]]
)  # [CLS], [SEP], [PAD] are never chosen for prediction


def corrupt(generator=None):
    """The paper's rule (section 3.1): choose 15% of the tokens; 80% [MASK], 10% random,
    10% unchanged; labels = original id at chosen positions, -100 (ignored) elsewhere."""
    return reference.mask_tokens(
        input_ids,
        special,
        mask_token_id=tok.mask_token_id,
        vocab_size=tok.vocab_size,
        generator=generator,
    )


# A fixed corrupted copy to measure progress on (the training batches get fresh masks).
eval_inputs, eval_labels = corrupt(torch.Generator().manual_seed(1))
print("chosen positions in the eval batch:", int((eval_labels != -100).sum()))


def eval_loss() -> float:
    model.eval()
    with torch.no_grad():
        # The loss is cross-entropy over the vocabulary at the chosen positions ONLY.
        return model(eval_inputs, attention_mask, labels=eval_labels).loss.item()


# Pre-training settings of the paper (App. A.2): Adam(W), lr 1e-4, weight decay 0.01 (not on
# biases / LayerNorm), linear warmup then linear decay.
steps = 8
optimizer = torch.optim.AdamW(reference.param_groups(model, weight_decay=0.01), lr=1e-4, fused=True)
scheduler = reference.linear_schedule_with_warmup(optimizer, 2, steps)

before = eval_loss()
model.train()
for step in range(steps):
    inputs, labels = corrupt()  # dynamic masking: a new 15% each step
    loss = model(inputs, attention_mask, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    if step % 2 == 1:
        print(f"step {step + 1:2d}: training loss {loss.item():.2f}")
after = eval_loss()
print(f"MLM loss on the fixed masked batch: {before:.2f} -> {after:.2f}")
assert after < before
