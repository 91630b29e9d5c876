"""BERT, from scratch, in the order of the paper (Devlin et al. 2018, §3).

    input_ids ─► BertEmbeddings (token + position + segment, LayerNorm, dropout)
              ─► BertEncoder: L × BertLayer, each post-LN:
                     x = LayerNorm(x + Dropout(SelfOutput(MultiHeadAttention(x))))
                     x = LayerNorm(x + Dropout(Output(GELU(Intermediate(x)))))
              ─► last_hidden_state (batch, seq, hidden)
              ─► BertPooler: tanh(W · h_[CLS] + b)  ─► pooler_output (batch, hidden)

Heads for pre-training (MLM + NSP) and fine-tuning sit on top. Module and parameter names
are Hugging Face's, so ``model.load_state_dict(hf_model.state_dict())`` works unchanged;
the code is ours (cf. transformers ``models/bert/modeling_bert.py`` and google-research/bert
``modeling.py``).

Mask convention everywhere: ``attention_mask`` is 1 for tokens to attend to, 0 for padding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference.config import BertConfig

IGNORE_INDEX = -100  # label value that CrossEntropyLoss skips (HF and PyTorch convention)


# ---------------------------------------------------------------------------------------------
# Outputs (HF's field names)
# ---------------------------------------------------------------------------------------------


class BaseModelOutput(NamedTuple):
    last_hidden_state: Tensor  # (batch, seq, hidden)
    pooler_output: Tensor | None  # (batch, hidden), None when the model has no pooler


class PreTrainingOutput(NamedTuple):
    loss: Tensor | None
    prediction_logits: Tensor  # (batch, seq, vocab)
    seq_relationship_logits: Tensor  # (batch, 2)


class ClassifierOutput(NamedTuple):
    """Masked LM (batch, seq, vocab), NSP (batch, 2), sequence (batch, labels) or token
    classification (batch, seq, labels) logits, with the loss when labels were given."""

    loss: Tensor | None
    logits: Tensor


class QuestionAnsweringOutput(NamedTuple):
    loss: Tensor | None
    start_logits: Tensor  # (batch, seq)
    end_logits: Tensor  # (batch, seq)


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def gelu(x: Tensor) -> Tensor:
    """Exact GELU: x · Φ(x) = 0.5 · x · (1 + erf(x / √2)).

    ``F.gelu`` computes exactly this in one kernel. The tanh approximation used by Google's TF
    code differs from it by at most 4.7e-4 per activation (at x = ±2.70); with the tanh form in
    all six layers, all-MiniLM-L6-v2's last hidden state moves by up to 2.5e-3 on a 9-token
    sentence (measured in docs/snippets/exercise_gelu_forms.py and tests/test_docs_facts.py).
    """
    return F.gelu(x)


def gelu_tanh(x: Tensor) -> Tensor:
    """The tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) ("gelu_new")."""
    return F.gelu(x, approximate="tanh")


ACT2FN = {"gelu": gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "relu": F.relu}


def additive_attention_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """Turn a 0/1 padding mask (batch, seq) into an additive bias (batch, 1, 1, seq).

    Kept keys get 0, padded keys the most negative finite value, so after softmax they get
    (numerically) zero weight. Google's code used -10000; HF v5 uses ``finfo(dtype).min``.
    A finite value (not -inf) keeps a fully padded row finite: it attends uniformly instead
    of producing NaN.
    """
    keep = attention_mask[:, None, None, :].to(torch.bool)
    return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill(
        ~keep, torch.finfo(dtype).min
    )


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Tensor | None = None,
    dropout: nn.Dropout | None = None,
) -> tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / √d_head + mask) V, written out.

    query/key/value: (batch, heads, seq, d_head); mask: additive, broadcastable to
    (batch, heads, seq_q, seq_k). Returns (context (batch, heads, seq, d_head),
    probabilities (batch, heads, seq_q, seq_k)); each row of probabilities sums to 1 over keys.
    """
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if mask is not None:
        scores = scores + mask
    probs = scores.softmax(dim=-1)  # over keys: each query distributes its attention
    if dropout is not None:
        probs = dropout(probs)  # BERT drops whole attention weights, as in the paper's code
    return probs @ value, probs


class BertEmbeddings(nn.Module):
    """Token + learned absolute position + segment embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        position_ids = torch.arange(input_ids.size(1), device=input_ids.device)
        embeddings = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(position_ids)  # (seq, hidden), broadcast over batch
        )
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention: project, split into heads, attend, merge heads."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_size
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.use_sdpa = config.attn_implementation == "sdpa"

    def split_heads(self, x: Tensor) -> Tensor:
        """(batch, seq, hidden) -> (batch, heads, seq, d_head). The transpose matters: a bare
        ``view(batch, heads, seq, d_head)`` would mix positions into heads."""
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_attention_heads, self.attention_head_size).transpose(
            1, 2
        )

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        q = self.split_heads(self.query(hidden_states))
        k = self.split_heads(self.key(hidden_states))
        v = self.split_heads(self.value(hidden_states))
        if self.use_sdpa:
            # Same math in one fused kernel (fast path; tests prove it equal to the plain one).
            p = self.dropout.p if self.training else 0.0
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        else:
            context, _ = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        # merge heads: (batch, heads, seq, d_head) -> (batch, seq, hidden)
        return context.transpose(1, 2).flatten(2)


class BertSelfOutput(nn.Module):
    """Projection after attention, dropout, then the post-LN residual: LN(x + sublayer(x))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(hidden_states, mask), hidden_states)


class BertIntermediate(nn.Module):
    """First half of the feed-forward block: hidden -> intermediate (4H), then GELU."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    """Second half of the feed-forward block: intermediate -> hidden, dropout, post-LN."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    """One encoder layer: attention sub-layer, then feed-forward sub-layer, both post-LN."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        attention_output = self.attention(hidden_states, mask)
        return self.output(self.intermediate(attention_output), attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, mask)
        return hidden_states


class BertPooler(nn.Module):
    """tanh(W · h_[CLS] + b): the sentence representation C that NSP and classifiers read."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class BertPreTrainedModel(nn.Module):
    """Shared initialisation (HF's ``_init_weights``): N(0, initializer_range) for weights,
    zeros for biases and the padding embedding row, ones for LayerNorm scales."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config

    def init_weights(self) -> None:
        """Initialise every module this model owns directly; a wrapped ``bert`` encoder has
        already initialised itself."""
        for name, child in self.named_children():
            if name != "bert":
                child.apply(self._init_module)

    def _init_module(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, BertLMPredictionHead):
            nn.init.zeros_(module.bias)


class BertModel(BertPreTrainedModel):
    """The encoder: ``last_hidden_state`` (batch, seq, hidden) and ``pooler_output``."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> BaseModelOutput:
        """input_ids, attention_mask (1 keep / 0 pad), token_type_ids: (batch, seq) integers."""
        attention_mask, token_type_ids = self._check_inputs(
            input_ids, attention_mask, token_type_ids
        )
        hidden_states = self.embeddings(input_ids, token_type_ids)
        # No padding at all -> no mask, which lets the fused kernel take its fastest path.
        mask = (
            None
            if attention_mask is None or bool(attention_mask.all())
            else additive_attention_mask(attention_mask, hidden_states.dtype)
        )
        sequence_output = self.encoder(hidden_states, mask)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        return BaseModelOutput(sequence_output, pooled_output)

    def _check_inputs(
        self, input_ids: Tensor, attention_mask: Tensor | None, token_type_ids: Tensor | None
    ) -> tuple[Tensor | None, Tensor]:
        """Fail early with a message that names the problem, not deep inside an embedding."""
        config = self.config
        if not isinstance(input_ids, Tensor):
            raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}")
        if input_ids.dim() != 2:
            raise ValueError(
                f"input_ids must have shape (batch, seq), got {tuple(input_ids.shape)}"
            )
        if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
            raise TypeError(f"input_ids must hold integer token ids, got dtype {input_ids.dtype}")
        seq = input_ids.size(1)
        if seq == 0:
            raise ValueError("input_ids has no tokens (seq = 0)")
        if seq > config.max_position_embeddings:
            raise ValueError(
                f"sequence length {seq} exceeds max_position_embeddings "
                f"({config.max_position_embeddings}): truncate the input"
            )
        _check_id_range("input_ids", input_ids, config.vocab_size, "vocab_size")
        if attention_mask is not None:
            _check_same_shape("attention_mask", attention_mask, input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        else:
            _check_same_shape("token_type_ids", token_type_ids, input_ids)
            _check_id_range(
                "token_type_ids", token_type_ids, config.type_vocab_size, "type_vocab_size"
            )
        return attention_mask, token_type_ids


def _check_same_shape(name: str, tensor: Tensor, input_ids: Tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.shape != input_ids.shape:
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)} but input_ids has {tuple(input_ids.shape)}"
        )


def _check_id_range(name: str, ids: Tensor, size: int, size_name: str) -> None:
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        where = tuple(int(i) for i in (ids == bad).nonzero()[0])
        raise ValueError(
            f"{name} contains {bad} at position {where}, outside [0, {size}) ({size_name}={size})"
        )


# ---------------------------------------------------------------------------------------------
# Pre-training heads (§3.1): masked LM and next sentence prediction
# ---------------------------------------------------------------------------------------------


class BertPredictionHeadTransform(nn.Module):
    """dense -> GELU -> LayerNorm, applied to every position before the vocabulary decoder."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Scores over the vocabulary. The decoder weight is the input embedding matrix (tied,
    see ``tie_weights``); the bias is an output-only parameter (google-research/bert
    ``run_pretraining.py: get_masked_lm_output``)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one parameter under both HF names

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.predictions(sequence_output)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: Tensor) -> Tensor:
        return self.seq_relationship(pooled_output)


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> tuple[Tensor, Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


def masked_lm_loss(prediction_logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy over the vocabulary at the selected positions only: every other label is
    -100 and ``cross_entropy`` ignores it. Takes logits: softmax is inside the loss."""
    return F.cross_entropy(
        prediction_logits.reshape(-1, prediction_logits.size(-1)),
        labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
    )


def next_sentence_loss(seq_relationship_logits: Tensor, next_sentence_label: Tensor) -> Tensor:
    """Cross-entropy over {0: IsNext, 1: NotNext}."""
    return F.cross_entropy(seq_relationship_logits.reshape(-1, 2), next_sentence_label.reshape(-1))


class _TiedMLMMixin:
    """Tie the MLM decoder weight to the word embeddings (one matrix, two names)."""

    bert: BertModel
    cls: BertOnlyMLMHead | BertPreTrainingHeads

    def tie_weights(self) -> None:
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight


class BertForPreTraining(_TiedMLMMixin, BertPreTrainedModel):
    """MLM + NSP. Loss = mean MLM cross-entropy + mean NSP cross-entropy, unweighted (App. A.2),
    returned only when both ``labels`` and ``next_sentence_label`` are given (as HF)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.init_weights()
        self.tie_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        next_sentence_label: Tensor | None = None,
    ) -> PreTrainingOutput:
        sequence_output, pooled_output = self.bert(input_ids, attention_mask, token_type_ids)
        prediction_logits, seq_relationship_logits = self.cls(sequence_output, pooled_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = masked_lm_loss(prediction_logits, labels) + next_sentence_loss(
                seq_relationship_logits, next_sentence_label
            )
        return PreTrainingOutput(loss, prediction_logits, seq_relationship_logits)


class BertForMaskedLM(_TiedMLMMixin, BertPreTrainedModel):
    """MLM only (no pooler, as HF)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.init_weights()
        self.tie_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> ClassifierOutput:
        sequence_output, _ = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.cls(sequence_output)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        return ClassifierOutput(loss, logits)


class BertForNextSentencePrediction(BertPreTrainedModel):
    """NSP only: is segment B the true continuation of segment A? Reads the pooled [CLS]."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertOnlyNSPHead(config)
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> ClassifierOutput:
        _, pooled_output = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.cls(pooled_output)
        loss = next_sentence_loss(logits, labels) if labels is not None else None
        return ClassifierOutput(loss, logits)


# ---------------------------------------------------------------------------------------------
# Fine-tuning heads (§4)
# ---------------------------------------------------------------------------------------------


def _classifier_dropout(config: BertConfig) -> nn.Dropout:
    p = config.classifier_dropout
    return nn.Dropout(config.hidden_dropout_prob if p is None else p)


def sequence_classification_problem_type(config: BertConfig, labels: Tensor) -> str:
    """HF's rule: config.problem_type if set; else 1 label -> regression; integer labels ->
    single-label (softmax + CE); anything else -> multi-label (sigmoid + BCE per label).

    Unlike HF, the choice is not written back into the config, so one model can be called
    with integer and float labels in turn and each call is decided on its own labels.
    """
    if config.problem_type is not None:
        return config.problem_type
    if config.num_labels == 1:
        return "regression"
    if labels.dtype in (torch.long, torch.int):
        return "single_label_classification"
    return "multi_label_classification"


class BertForSequenceClassification(BertPreTrainedModel):
    """Classify the whole input from the pooled [CLS] (§4.1: one new layer W of K × H)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> ClassifierOutput:
        _, pooled_output = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.dropout(pooled_output))  # (batch, num_labels)
        loss = None
        if labels is not None:
            problem_type = sequence_classification_problem_type(self.config, labels)
            if problem_type == "regression":
                if self.num_labels == 1:
                    loss = F.mse_loss(logits.squeeze(), labels.squeeze())
                else:
                    loss = F.mse_loss(logits, labels)
            elif problem_type == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels)
        return ClassifierOutput(loss, logits)


class BertForTokenClassification(BertPreTrainedModel):
    """A label per token (NER, POS) from the sequence output; labels -100 are ignored."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> ClassifierOutput:
        sequence_output, _ = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.dropout(sequence_output))  # (batch, seq, num_labels)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.view(-1, self.num_labels), labels.view(-1), ignore_index=IGNORE_INDEX
            )
        return ClassifierOutput(loss, logits)


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA (SQuAD, §4.2): a start and an end score per token."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"question answering needs num_labels=2 (start, end), got {config.num_labels}"
            )
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
    ) -> QuestionAnsweringOutput:
        sequence_output, _ = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.qa_outputs(sequence_output)  # (batch, seq, 2)
        start_logits = logits[..., 0].contiguous()
        end_logits = logits[..., 1].contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            # Positions outside the window (answer truncated away) are clamped to seq_len and
            # that index is ignored, as HF does.
            seq = start_logits.size(1)
            start = start_positions.reshape(-1).clamp(0, seq)
            end = end_positions.reshape(-1).clamp(0, seq)
            loss = (
                F.cross_entropy(start_logits, start, ignore_index=seq)
                + F.cross_entropy(end_logits, end, ignore_index=seq)
            ) / 2
        return QuestionAnsweringOutput(loss, start_logits, end_logits)
