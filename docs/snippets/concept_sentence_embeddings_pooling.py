"""all-MiniLM-L6-v2's recipe (masked mean pooling, then L2 normalisation) vs the [CLS] vector.

On the real weights: with the recipe the model was trained for, a paraphrase scores far above an
unrelated sentence; the [CLS] vector (and the pooler output) of the same model rate everything
as fairly similar. The masked mean also does not depend on how much padding a batch adds.
(tests/test_sentence_embeddings.py proves the recipe equal to sentence-transformers itself.)
"""

import torch
import torch.nn.functional as F

from reference.sentence import SentenceEncoder, mean_pooling

torch.manual_seed(0)  # the printed figures do not depend on it; seeded all the same

encoder = SentenceEncoder()  # bundled all-MiniLM-L6-v2, max_seq_length 256
texts = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is riding a horse.",
    "The new movie is awesome!",
]
batch = encoder.tokenizer(texts, padding=True)
ids, mask = torch.tensor(batch["input_ids"]), torch.tensor(batch["attention_mask"])

with torch.inference_mode():
    out = encoder.model(ids, mask)
    poolings = {
        "masked mean (the recipe)": mean_pooling(out.last_hidden_state, mask),
        "[CLS] last hidden state": out.last_hidden_state[:, 0],
        "pooler output": out.pooler_output,
    }
print(f"{'cosine with ' + repr(texts[0]):<45} {'bread':>6} {'horse':>6} {'movie':>6}")
spread = {}
for name, vectors in poolings.items():
    unit = F.normalize(vectors, dim=-1)
    sims = (unit[0] @ unit[1:].T).tolist()
    spread[name] = sims[0] - min(sims[1:])
    print(f"{name:<45} {sims[0]:>6.3f} {sims[1]:>6.3f} {sims[2]:>6.3f}")
assert spread["masked mean (the recipe)"] > 0.5
assert spread["[CLS] last hidden state"] < 0.3 and spread["pooler output"] < 0.3

# Padding: the same sentence alone and next to a 60-word one.
long_text = "a very long sentence " * 15
with torch.inference_mode():
    alone = encoder.encode([texts[0]])[0]
    padded = encoder.tokenizer([texts[0], long_text], padding=True)
    p_ids, p_mask = torch.tensor(padded["input_ids"]), torch.tensor(padded["attention_mask"])
    hidden = encoder.model(p_ids, p_mask).last_hidden_state
    masked = F.normalize(mean_pooling(hidden, p_mask), dim=-1)[0]
    naive = F.normalize(hidden.mean(1), dim=-1)[0]  # averages the padding positions too
gap_masked, gap_naive = (masked - alone).abs().max().item(), (naive - alone).abs().max().item()
assert gap_masked < 1e-5 and gap_naive > 1e-2
print(  # the masked-mean gap is float rounding: print the bound the assert checks
    f"alone vs padded to {p_ids.shape[1]} tokens: masked mean max |diff| < 1e-5, "
    f"mean over all positions {gap_naive:.2f}"
)
