"""Fine-tuning all-MiniLM-L6-v2 on the shipped review set: the run itself, whoever's pieces.

The same function runs the reference's run (in the bertprep process) and the learner's (in
the sandbox child), so that under the same seed the two differ only by the pieces swapped in:
the same weights, the same classifier initialisation, the same batches in the same order,
dropout off (so that no random draw depends on how a forward pass is written), one thread
each. ``frozen_baseline`` is the comparison a learner should care about: a logistic
regression on the frozen encoder's features.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grader.lab.compare import FAMILIES
from grader.lab.datasets import LABELS, Encoded, encode_reviews
from reference import BertConfig, BertModel, load_pretrained, minilm_dir, param_groups
from reference.optim import linear_warmup_decay_factor
from reference.sentence import mean_pooling

Event = Callable[[dict], None]


class LabError(Exception):
    """The learner's piece cannot be used as the lab needs it (a wrong shape, a missing
    parameter); the message says which and what was expected."""


@dataclass(frozen=True)
class FinetuneSettings:
    seed: int = 14
    epochs: int = 3
    batch_size: int = 16
    lr: float = 5e-5  # the paper's grid: 5e-5, 3e-5, 2e-5 (App. A.3)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 32
    train_limit: int | None = None
    test_limit: int | None = None
    baseline_steps: int = 300

    @classmethod
    def quick(cls, seed: int = 14) -> FinetuneSettings:
        return cls(seed=seed, epochs=1, batch_size=8, train_limit=48, test_limit=32,
                   baseline_steps=50)  # fmt: skip

    def steps(self, n_train: int) -> tuple[int, int]:
        """(warmup steps, total steps)."""
        total = self.epochs * math.ceil(n_train / self.batch_size)
        return round(self.warmup_ratio * total), total

    def to_data(self) -> dict:
        return dataclasses.asdict(self)


def lab_config(num_labels: int = len(LABELS)) -> BertConfig:
    config = BertConfig.from_json_file(minilm_dir() / "config.json")
    return dataclasses.replace(config, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                               classifier_dropout=0.0, num_labels=num_labels)  # fmt: skip


@cache
def pretrained_state() -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in load_pretrained(BertModel).state_dict().items()}


def load_weights(model: nn.Module, state: dict[str, Tensor], whose: str) -> None:
    """Copy ``state`` into ``model``; every parameter must be there, under HF's name."""
    names = {name for name, _ in model.named_parameters()}
    missing = sorted(names - set(state))
    if missing:
        raise LabError(f"{whose} has parameters the checkpoint does not have: "
                       f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")  # fmt: skip
    try:
        model.load_state_dict({k: v for k, v in state.items()}, strict=False)
    except RuntimeError as err:
        raise LabError(f"the weights do not fit {whose}: {str(err).splitlines()[-1]}") from None


class ReferenceHead(nn.Module):
    """The reference's classification head: dropout, then one linear layer on the pooled
    [CLS] (``reference.BertForSequenceClassification``, Devlin et al. §4.1)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        return self.classifier(self.dropout(pooled_output))


class Classifier(nn.Module):
    """``bert`` then ``head``; parameter names as transformers' model with a ``head.`` prefix
    on the head's."""

    def __init__(self, bert: nn.Module, head: nn.Module):
        super().__init__()
        self.bert = bert
        self.head = head

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        outputs = self.bert(input_ids, attention_mask, token_type_ids)
        sequence_output, pooled_output = outputs[0], outputs[1]
        return self.head(sequence_output, pooled_output)


@dataclass
class Parts:
    model: Classifier
    loss: Callable[[Tensor, Tensor], Tensor]
    groups: Callable[[nn.Module, float], list]
    schedule: Callable[[int, int, int], float]


def build_parts(settings: FinetuneSettings, mine: dict[str, ModuleType]) -> Parts:
    config = lab_config()
    bert_class = mine["bert_model"].BertModel if "bert_model" in mine else BertModel
    bert = bert_class(config)
    whose = "your BertModel" if "bert_model" in mine else "BertModel"
    load_weights(bert, pretrained_state(), whose)
    torch.manual_seed(settings.seed)
    reference_head = ReferenceHead(config)
    nn.init.normal_(reference_head.classifier.weight, std=config.initializer_range)
    nn.init.zeros_(reference_head.classifier.bias)
    if "sequence_classification" in mine:
        module = mine["sequence_classification"]
        head = module.SequenceClassificationHead(config)
        load_weights(head, reference_head.state_dict(), "your SequenceClassificationHead")

        def loss(logits: Tensor, labels: Tensor) -> Tensor:
            return module.sequence_classification_loss(logits, labels, config.num_labels)
    else:
        head = reference_head

        def loss(logits: Tensor, labels: Tensor) -> Tensor:
            return F.cross_entropy(logits.view(-1, config.num_labels), labels.view(-1))

    optimizer_module = mine.get("optimizer")
    return Parts(
        Classifier(bert, head),
        loss,
        optimizer_module.param_groups if optimizer_module else param_groups,
        optimizer_module.linear_warmup_decay if optimizer_module else linear_warmup_decay_factor,
    )


def _scalar_loss(loss: object) -> Tensor:
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise LabError(f"the loss must be a 0-dim tensor; it is {shape}")
    return loss


@torch.inference_mode()
def evaluate(model: nn.Module, data: Encoded, batch_size: int = 64) -> Tensor:
    """Predicted class per example."""
    model.eval()
    predictions = []
    for start in range(0, len(data), batch_size):
        ids, mask, types, _ = data.batch(torch.arange(start, min(start + batch_size, len(data))))
        predictions.append(model(ids, mask, types).argmax(dim=-1))
    return torch.cat(predictions)


def accuracy_by_kind(predictions: Tensor, data: Encoded) -> dict[str, float]:
    right = (predictions == data.labels).tolist()
    kinds: dict[str, list[bool]] = {}
    for kind, ok in zip(data.kinds, right, strict=True):
        kinds.setdefault(kind, []).append(ok)
    return {kind: sum(oks) / len(oks) for kind, oks in sorted(kinds.items())}


def missing_names(model: nn.Module, groups: list) -> list[str]:
    """Trainable parameters that no group holds: the optimizer never updates them."""
    held = {id(p) for group in groups if isinstance(group, dict)
            for p in group.get("params", [])}  # fmt: skip
    return [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in held]


def decayed_names(model: nn.Module, groups: list) -> list[str]:
    """The names of the parameters the optimizer decays, from the groups as built."""
    names = {id(p): name for name, p in model.named_parameters()}
    out = []
    for group in groups:
        if isinstance(group, dict) and float(group.get("weight_decay", 0.0)) > 0:
            out += [names.get(id(p), "?") for p in group.get("params", [])]
    return out


def category(name: str) -> str:
    """Which family a parameter belongs to, by its (transformers) name: weight decay treats
    these differently, so each one's sum of squares is traced step by step."""
    if name.startswith("head."):
        return "classifier"
    if "LayerNorm" in name:
        return "LayerNorm weights" if name.endswith("weight") else "LayerNorm biases"
    if name.endswith("bias"):
        return "biases"
    return "embeddings" if "embeddings" in name else "weight matrices"


LARGE = ("embeddings", "weight matrices")  # millions of values: a float32 norm, 10 ms a step


@torch.no_grad()
def fingerprint(families: dict[str, list[Tensor]]) -> dict[str, float]:
    """The sum of squares of every family of parameters: exact (float64) for the small
    families, where weight-decay mistakes show first; a float32 norm for the large ones."""
    out = {}
    for name, params in families.items():
        if name in LARGE:
            out[name] = float(sum(torch.linalg.vector_norm(p.detach()) ** 2 for p in params))
        else:
            out[name] = float(sum(p.detach().square().sum(dtype=torch.float64) for p in params))
    return out


def families_of(model: nn.Module) -> dict[str, list[Tensor]]:
    families: dict[str, list[Tensor]] = {name: [] for name in FAMILIES}
    for name, parameter in model.named_parameters():
        families[category(name)].append(parameter)
    return families


def run_finetune(settings: FinetuneSettings, mine: dict[str, ModuleType], on_event: Event) -> dict:
    """Train and evaluate; every step and epoch is also reported to ``on_event``."""
    started = time.perf_counter()
    train_set = encode_reviews("train", settings.train_limit, settings.max_length)
    test_set = encode_reviews("test", settings.test_limit, settings.max_length)
    parts = build_parts(settings, mine)
    model = parts.model
    warmup, total = settings.steps(len(train_set))
    groups = parts.groups(model, settings.weight_decay)
    if not isinstance(groups, list | tuple) or not all(isinstance(g, dict) for g in groups):
        raise LabError("param_groups must return a list of dicts, each with 'params'")
    groups = [{**g, "params": list(g.get("params", []))} for g in groups]  # a generator, once
    decayed, untrained = decayed_names(model, groups), missing_names(model, groups)
    optimizer = torch.optim.AdamW(groups, lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: parts.schedule(step, warmup, total))
    order = torch.Generator().manual_seed(settings.seed)
    families = families_of(model)
    steps, epochs, step = [], [], 0
    on_event({"event": "begin", "total": total, "epochs": settings.epochs})
    for epoch in range(1, settings.epochs + 1):
        model.train()
        permutation = torch.randperm(len(train_set), generator=order)
        for start in range(0, len(train_set), settings.batch_size):
            rows = permutation[start : start + settings.batch_size]
            ids, mask, types, labels = train_set.batch(rows)
            lr = float(optimizer.param_groups[0]["lr"])
            loss = _scalar_loss(parts.loss(model(ids, mask, types), labels))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            record = {"step": step, "loss": float(loss.detach()), "lr": lr,
                      "norms": fingerprint(families)}
            steps.append(record)
            on_event({"event": "step", **record})
        predictions = evaluate(model, test_set)
        accuracy = float((predictions == test_set.labels).float().mean())
        epochs.append({"epoch": epoch, "accuracy": accuracy})
        on_event({"event": "epoch", "epoch": epoch, "accuracy": accuracy})
    return {
        "steps": steps,
        "epochs": epochs,
        "by_kind": accuracy_by_kind(predictions, test_set),
        "decayed": decayed,
        "untrained": untrained,
        "warmup": warmup,
        "total": total,
        "train_size": len(train_set),
        "test_size": len(test_set),
        "seconds": round(time.perf_counter() - started, 2),
    }


@torch.inference_mode()
def _features(model: BertModel, data: Encoded) -> tuple[Tensor, Tensor]:
    """(mean-pooled, [CLS]) last-layer features of the frozen encoder."""
    means, cls = [], []
    for start in range(0, len(data), 64):
        ids, mask, types, _ = data.batch(torch.arange(start, min(start + 64, len(data))))
        hidden = model(ids, mask, types).last_hidden_state
        means.append(mean_pooling(hidden, mask))
        cls.append(hidden[:, 0])
    return torch.cat(means), torch.cat(cls)


def _logistic_regression(train_x: Tensor, train_y: Tensor, test_x: Tensor, steps: int,
                         seed: int) -> Tensor:  # fmt: skip
    """Softmax regression on standardised features, full batch, Adam with a little L2."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    generator = torch.Generator().manual_seed(seed)
    weight = 0.01 * torch.randn(train_x.shape[1], len(LABELS), generator=generator)
    weight.requires_grad_()
    bias = torch.zeros(len(LABELS), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(train_x @ weight + bias, train_y) + 1e-3 * weight.square().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (test_x @ weight + bias).argmax(dim=-1)


def frozen_baseline(settings: FinetuneSettings) -> dict:
    """Accuracy of a logistic regression on the frozen encoder's mean-pooled and [CLS]
    features (the reference encoder, the real weights, no training of the encoder)."""
    started = time.perf_counter()
    train_set = encode_reviews("train", settings.train_limit, settings.max_length)
    test_set = encode_reviews("test", settings.test_limit, settings.max_length)
    model = load_pretrained(BertModel)
    train_mean, train_cls = _features(model, train_set)
    test_mean, test_cls = _features(model, test_set)
    result = {}
    for name, train_x, test_x in (("mean", train_mean, test_mean), ("cls", train_cls, test_cls)):
        predictions = _logistic_regression(train_x, train_set.labels, test_x,
                                           settings.baseline_steps, settings.seed)  # fmt: skip
        result[name] = float((predictions == test_set.labels).float().mean())
        result[f"{name}_by_kind"] = accuracy_by_kind(predictions, test_set)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result
