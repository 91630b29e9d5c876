"""A from-scratch BERT in plain PyTorch, proven equal to Hugging Face transformers in tests/."""

from reference.config import BertConfig
from reference.modeling import (
    BaseModelOutput,
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    ClassifierOutput,
    PreTrainingOutput,
    QuestionAnsweringOutput,
    additive_attention_mask,
    gelu,
    scaled_dot_product_attention,
)
from reference.weights import CheckpointError, load_pretrained, minilm_dir, read_safetensors

__all__ = [
    "BaseModelOutput",
    "BertConfig",
    "BertForMaskedLM",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertModel",
    "CheckpointError",
    "ClassifierOutput",
    "PreTrainingOutput",
    "QuestionAnsweringOutput",
    "additive_attention_mask",
    "gelu",
    "load_pretrained",
    "minilm_dir",
    "read_safetensors",
    "scaled_dot_product_attention",
]
