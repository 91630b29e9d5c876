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
from reference.optim import linear_schedule_with_warmup, param_groups
from reference.pretraining_data import create_nsp_examples, mask_tokens, truncate_seq_pair
from reference.tokenizer import BasicTokenizer, BertTokenizer, WordpieceTokenizer
from reference.weights import CheckpointError, load_pretrained, minilm_dir, read_safetensors

__all__ = [
    "BaseModelOutput",
    "BasicTokenizer",
    "BertConfig",
    "BertForMaskedLM",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertModel",
    "BertTokenizer",
    "CheckpointError",
    "ClassifierOutput",
    "PreTrainingOutput",
    "QuestionAnsweringOutput",
    "WordpieceTokenizer",
    "additive_attention_mask",
    "create_nsp_examples",
    "gelu",
    "linear_schedule_with_warmup",
    "load_pretrained",
    "mask_tokens",
    "minilm_dir",
    "param_groups",
    "read_safetensors",
    "scaled_dot_product_attention",
    "truncate_seq_pair",
]
