"""Attention probabilities of all-MiniLM-L6-v2 on a text, computed with whoever's pieces.

The hidden states that enter layer ``layer`` come from the reference (the real weights, eval
mode); at that layer, the heads are split by the learner's ``BertSelfAttention.split_heads``
(e05) and the probabilities come from their ``scaled_dot_product_attention`` (e04) when those
are theirs, else from the reference's. The same function runs in the sandbox child (with the
learner's pieces) and in the bertprep process (the reference's, for comparison and for the
docs' figures).
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import Tensor

from grader.lab.datasets import minilm_tokenizer
from grader.lab.finetune import LabError, load_weights
from reference import BertModel, load_pretrained, scaled_dot_product_attention

MAX_TOKENS = 48


def encode_text(text: str) -> tuple[Tensor, list[str]]:
    tokenizer = minilm_tokenizer()
    ids = tokenizer(text, max_length=MAX_TOKENS, truncation=True)["input_ids"]
    return torch.tensor([ids]), tokenizer.convert_ids_to_tokens(ids)


@torch.inference_mode()
def layer_input(model: BertModel, input_ids: Tensor, layer: int) -> Tensor:
    """The hidden states entering encoder layer ``layer`` (no padding: one text)."""
    hidden = model.embeddings(input_ids, torch.zeros_like(input_ids))
    for block in model.encoder.layer[:layer]:
        hidden = block(hidden, None)
    return hidden


def _probs(output: object, shape: tuple[int, ...]) -> Tensor:
    if not (isinstance(output, tuple | list) and len(output) == 2
            and isinstance(output[1], Tensor) and tuple(output[1].shape) == shape):
        raise LabError("scaled_dot_product_attention must return (context, probs) with probs "
                       f"shaped (batch, heads, seq_q, seq_k) = {shape}")  # fmt: skip
    return output[1].float()


@torch.inference_mode()
def attention_maps(settings: dict, mine: dict[str, ModuleType]) -> dict:
    """``settings``: {"text", "layer"}. Returns the tokens and every head's probabilities at
    that layer, ``probs[head][query][key]``."""
    model = load_pretrained(BertModel)
    input_ids, tokens = encode_text(settings["text"])
    hidden = layer_input(model, input_ids, int(settings["layer"]))
    attention = model.encoder.layer[int(settings["layer"])].attention.self
    if "multi_head" in mine:
        theirs = mine["multi_head"].BertSelfAttention(model.config).eval()
        load_weights(theirs, attention.state_dict(), "your BertSelfAttention")
        split, project = theirs.split_heads, theirs
    else:
        split, project = attention.split_heads, attention
    q, k, v = (split(getattr(project, name)(hidden)) for name in ("query", "key", "value"))
    heads, seq = model.config.num_attention_heads, input_ids.shape[1]
    shape = (1, heads, seq, seq)
    for name, tensor in (("query", q), ("key", k), ("value", v)):
        if tuple(tensor.shape) != (1, heads, seq, model.config.head_size):
            raise LabError(f"split_heads gave the {name} the shape {tuple(tensor.shape)}; "
                           f"expected (batch, heads, seq, d_head) = "
                           f"{(1, heads, seq, model.config.head_size)}")  # fmt: skip
    if "attention" in mine:
        output = mine["attention"].scaled_dot_product_attention(q, k, v, torch.ones_like(input_ids))
    else:
        output = scaled_dot_product_attention(q, k, v, None)
    probs = _probs(output, shape)
    return {"tokens": tokens, "layer": int(settings["layer"]), "probs": probs[0].tolist()}
