"""Exercise distillation_loss: DistilBERT's training loss (Sanh et al. 2019; Hinton et al. 2015).

A 6-layer student learns to imitate a 12-layer BERT teacher with three terms:

    L = alpha_ce · L_ce + alpha_mlm · L_mlm + alpha_cos · L_cos

- L_ce, the soft targets: KL(p_teacher ‖ p_student) between the two MLM distributions, both
  softened by a temperature T: p = softmax(logits / T). A high T shows the student how the
  teacher ranks the *wrong* tokens ("dark knowledge"). Softening shrinks the gradients by
  1/T², so the term is multiplied by T² (Hinton et al. 2015, §2).
- L_mlm: the ordinary masked-LM cross-entropy on the hard labels (your e18 masked_lm_loss).
- L_cos: 1 - cos(h_student, h_teacher) between the last hidden states, aligning directions.

Averaging, as in transformers' distillation example (Distiller.step): L_ce over the real
tokens (attention_mask == 1), each row's KL summed over the vocabulary and the rows averaged
("batchmean"); L_mlm over the labelled tokens; L_cos over the real tokens. DistilBERT used
T = 2, alpha_ce = 5, alpha_mlm = 2, alpha_cos = 1. Interviewers ask which way round the KL
goes, where T is applied, and why T² is there.
"""

from __future__ import annotations

from torch import Tensor

from .e18_mlm_head import masked_lm_loss  # noqa: F401 (yours, for L_mlm)


def soft_target_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """The soft-target term L_ce.

    Args:
        student_logits, teacher_logits: (n, vocab) float, one row per token that counts.
        temperature: T > 0, applied to *both* sets of logits.

    Returns:
        0-dim float: T² · (1/n) · Σ_rows KL(softmax(teacher / T) ‖ softmax(student / T)), where
        KL(p ‖ q) = Σ_v p_v (log p_v - log q_v). Zero when the two distributions agree.
    """
    raise NotImplementedError(
        "soft_target_loss is yours to write; stuck? run: bertprep hint distillation_loss"
    )


def cosine_embedding_loss(student_hidden: Tensor, teacher_hidden: Tensor) -> Tensor:
    """The cosine term L_cos.

    Args:
        student_hidden, teacher_hidden: (n, dim) float, one row per token that counts.

    Returns:
        0-dim float: the mean over rows of 1 - cos(student_row, teacher_row).
    """
    raise NotImplementedError(
        "cosine_embedding_loss is yours to write; stuck? run: bertprep hint distillation_loss"
    )


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    attention_mask: Tensor,
    student_hidden: Tensor,
    teacher_hidden: Tensor,
    temperature: float = 2.0,
    alpha_ce: float = 5.0,
    alpha_mlm: float = 2.0,
    alpha_cos: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """DistilBERT's loss on one batch.

    Args:
        student_logits, teacher_logits: (batch, seq, vocab) float MLM logits.
        labels: (batch, seq) int64, the original token where the MLM predicts, -100 elsewhere
            (at least one label in the batch).
        attention_mask: (batch, seq), 1 = real token, 0 = padding.
        student_hidden, teacher_hidden: (batch, seq, dim) float, the last hidden states.
        temperature, alpha_ce, alpha_mlm, alpha_cos: as in the module docstring.

    Returns:
        (loss, loss_ce, loss_mlm, loss_cos), each 0-dim: loss_ce = your soft_target_loss on
        the real tokens' rows, loss_mlm = your e18 masked_lm_loss, loss_cos = your
        cosine_embedding_loss on the real tokens' rows, loss = the alpha-weighted sum.
    """
    raise NotImplementedError(
        "distillation_loss is yours to write; stuck? run: bertprep hint distillation_loss"
    )
