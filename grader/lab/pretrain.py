"""Masked-LM pre-training of a tiny BERT from scratch on the shipped corpus, whoever's pieces.

Two layers, hidden 64, four heads, the corpus's own 171-word vocabulary: in a minute or two
on a laptop CPU the loss falls from ln(171) ~ 5.1 to well under 1 and the model fills in
held-out sentences ("monday , tuesday , [MASK] , thursday ."). The same function runs the
reference's run and the learner's: the same initial weights (seeded), the same batches, the
masking drawn from one seeded generator, dropout off. With the learner's masking rule the
draws differ from the reference's (any correct order of draws is right), so the run reports
the masking statistics instead: how many tokens were selected, and the 80/10/10 split.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from types import ModuleType

import torch
from torch import Tensor, nn

from grader.lab.datasets import corpus_tokenizer, encode_corpus, read_probes
from grader.lab.finetune import Event, LabError, load_weights
from reference import BertConfig, BertModel, mask_tokens, param_groups
from reference.modeling import BertLMPredictionHead, masked_lm_loss
from reference.optim import linear_warmup_decay_factor

IGNORE_INDEX = -100


@dataclass(frozen=True)
class PretrainSettings:
    seed: int = 14
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    limit: int | None = None

    @classmethod
    def quick(cls, seed: int = 14) -> PretrainSettings:
        return cls(seed=seed, steps=30, batch_size=16, limit=400)

    def to_data(self) -> dict:
        return dataclasses.asdict(self)


def tiny_config(settings: PretrainSettings) -> BertConfig:
    return BertConfig(
        vocab_size=corpus_tokenizer().vocab_size, hidden_size=settings.hidden_size,
        num_hidden_layers=settings.layers, num_attention_heads=settings.heads,
        intermediate_size=4 * settings.hidden_size, max_position_embeddings=32,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip


class MaskedLM(nn.Module):
    def __init__(self, bert: nn.Module, head: nn.Module):
        super().__init__()
        self.bert = bert
        self.head = head

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        outputs = self.bert(input_ids, attention_mask, torch.zeros_like(input_ids))
        return self.head(outputs[0])


def initial_state(config: BertConfig, seed: int) -> tuple[dict, dict]:
    """Seeded BERT initial weights (normal 0.02, LayerNorm 1/0, biases 0) for the encoder and
    the MLM head, as the reference's ``BertForMaskedLM`` initialises them."""
    torch.manual_seed(seed)
    bert = BertModel(config)
    head = BertLMPredictionHead(config)
    head.apply(bert._init_module)
    nn.init.zeros_(head.bias)
    return bert.state_dict(), {k: v for k, v in head.state_dict().items()
                               if k != "decoder.weight"}  # fmt: skip


def build_model(config: BertConfig, settings: PretrainSettings,
                mine: dict[str, ModuleType]) -> tuple[MaskedLM, object]:  # fmt: skip
    bert_state, head_state = initial_state(config, settings.seed)
    bert = (mine["bert_model"].BertModel if "bert_model" in mine else BertModel)(config)
    load_weights(bert, bert_state, "your BertModel" if "bert_model" in mine else "BertModel")
    if "mlm_head" in mine:
        head = mine["mlm_head"].BertLMPredictionHead(config)
        load_weights(head, {**head_state, "decoder.weight": bert_state[
            "embeddings.word_embeddings.weight"]}, "your BertLMPredictionHead")  # fmt: skip
        head.tie_to(bert.embeddings.word_embeddings)
        loss = mine["mlm_head"].masked_lm_loss
    else:
        head = BertLMPredictionHead(config)
        load_weights(head, {**head_state, "decoder.weight": bert_state[
            "embeddings.word_embeddings.weight"]}, "BertLMPredictionHead")  # fmt: skip
        head.decoder.weight = bert.embeddings.word_embeddings.weight  # tied, one matrix
        loss = masked_lm_loss
    return MaskedLM(bert, head), loss


class MaskStats:
    """What a masking rule did over a whole run, in the terms of the paper's rule."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(("ordinary", "selected", "mask", "random", "unchanged",
                                     "special_selected", "unselected_changed"), 0)  # fmt: skip

    def add(self, original: Tensor, special: Tensor, inputs: Tensor, labels: Tensor,
            mask_id: int) -> None:  # fmt: skip
        selected = labels != IGNORE_INDEX
        special = special.bool()
        c = self.counts
        c["ordinary"] += int((~special).sum())
        c["selected"] += int((selected & ~special).sum())
        c["special_selected"] += int((selected & special).sum())
        c["mask"] += int((selected & (inputs == mask_id)).sum())
        c["unchanged"] += int((selected & (inputs == original)).sum())
        c["random"] += int((selected & (inputs != mask_id) & (inputs != original)).sum())
        c["unselected_changed"] += int((~selected & (inputs != original)).sum())

    def shares(self) -> dict[str, float]:
        c = self.counts
        chosen = max(1, c["selected"] + c["special_selected"])
        return {"selected": c["selected"] / max(1, c["ordinary"]),
                "mask": c["mask"] / chosen, "random": c["random"] / chosen,
                "unchanged": c["unchanged"] / chosen,
                "special_selected": c["special_selected"],
                "unselected_changed": c["unselected_changed"],
                "selected_count": c["selected"] + c["special_selected"],
                "ordinary_count": c["ordinary"]}  # fmt: skip


def _checked_masking(output: object, input_ids: Tensor) -> tuple[Tensor, Tensor]:
    if not (isinstance(output, tuple | list) and len(output) == 2
            and all(isinstance(t, Tensor) and t.shape == input_ids.shape for t in output)):
        raise LabError("mask_tokens must return (inputs, labels), two tensors shaped like "
                       f"input_ids {tuple(input_ids.shape)}")  # fmt: skip
    return output[0].long(), output[1].long()


@torch.inference_mode()
def fill_mask(model: MaskedLM, k: int = 3) -> list[dict]:
    """Top-``k`` predictions at the [MASK] of every probe sentence."""
    tokenizer = corpus_tokenizer()
    probes = read_probes()
    batch = tokenizer([text for text, _ in probes], padding=True)
    ids, mask = torch.tensor(batch["input_ids"]), torch.tensor(batch["attention_mask"])
    model.eval()
    logits = model(ids, mask)
    model.train()
    out = []
    for row, (text, answer) in enumerate(probes):
        position = int((ids[row] == tokenizer.mask_token_id).nonzero()[0, 0])
        top = logits[row, position].topk(k).indices.tolist()
        out.append({"text": text, "answer": answer,
                    "top": tokenizer.convert_ids_to_tokens(top)})  # fmt: skip
    return out


def run_pretrain(settings: PretrainSettings, mine: dict[str, ModuleType], on_event: Event) -> dict:
    started = time.perf_counter()
    tokenizer = corpus_tokenizer()
    config = tiny_config(settings)
    input_ids, attention_mask, special = encode_corpus(settings.limit)
    model, loss_fn = build_model(config, settings, mine)
    masking = mine["mlm_masking"].mask_tokens if "mlm_masking" in mine else mask_tokens
    before = fill_mask(model)
    warmup, total = round(settings.warmup_ratio * settings.steps), settings.steps
    optimizer = torch.optim.AdamW(param_groups(model, settings.weight_decay), lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_warmup_decay_factor(step, warmup, total))
    order = torch.Generator().manual_seed(settings.seed)
    draws = torch.Generator().manual_seed(settings.seed + 1)
    stats, steps, position = MaskStats(), [], len(input_ids)
    on_event({"event": "begin", "total": total})
    model.train()
    for step in range(1, total + 1):
        if position + settings.batch_size > len(input_ids):
            permutation, position = torch.randperm(len(input_ids), generator=order), 0
        rows = permutation[position : position + settings.batch_size]
        position += settings.batch_size
        length = int(attention_mask[rows].sum(dim=1).max())
        ids, mask, spec = (t[rows, :length] for t in (input_ids, attention_mask, special))
        inputs, labels = _checked_masking(masking(
            ids, spec, mask_token_id=tokenizer.mask_token_id, vocab_size=config.vocab_size,
            generator=draws), ids)  # fmt: skip
        stats.add(ids, spec, inputs, labels, tokenizer.mask_token_id)
        lr = float(optimizer.param_groups[0]["lr"])
        loss = loss_fn(model(inputs, mask), labels)
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise LabError("masked_lm_loss must return a 0-dim tensor")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        record = {"step": step, "loss": float(loss.detach()), "lr": lr}
        steps.append(record)
        on_event({"event": "step", **record})
    return {
        "steps": steps,
        "before": before,
        "after": fill_mask(model),
        "masking": stats.shares(),
        "vocab_size": config.vocab_size,
        "sentences": len(input_ids),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": round(time.perf_counter() - started, 2),
    }
