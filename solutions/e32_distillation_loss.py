"""Solution distillation_loss: KL on softened distributions (times T²), MLM, cosine.

The three traps are all in the soft term. KL is not symmetric: the teacher's distribution is
the target, KL(p_teacher ‖ p_student) = Σ p_t (log p_t - log p_s), which is what
``F.kl_div(input=log p_s, target=p_t)`` computes (input: log-probabilities of the model being
trained; target: probabilities). T divides *both* logits, otherwise the student is asked to
match a soft distribution with a sharp one. And T² restores the gradient's size: the gradient
of the softened KL with respect to a student logit is (q_i - p_i) / T, and q - p itself shrinks
like 1/T for large T: the gradient fades like 1/T² unless the loss is multiplied by T².
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .e18_mlm_head import masked_lm_loss


def soft_target_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (n, vocab)
    p_teacher = F.softmax(teacher_logits / temperature, dim=-1)
    # "batchmean": sum over the vocabulary, mean over the n rows: the KL per token. The
    # default "mean" would also divide by the vocabulary size (a 30k-times smaller loss).
    kl = F.kl_div(log_p_student, p_teacher, reduction="batchmean")
    return kl * temperature**2


def cosine_embedding_loss(student_hidden: Tensor, teacher_hidden: Tensor) -> Tensor:
    # Direction only: the student's hidden size may be matched, its scale need not be.
    cosine = F.cosine_similarity(student_hidden, teacher_hidden, dim=-1)  # (n,)
    return (1.0 - cosine).mean()


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
    real = attention_mask.bool()  # (batch, seq)
    # Boolean indexing keeps the real tokens' rows: (n_real, vocab) and (n_real, dim). The
    # soft term then averages over real tokens, never over padding.
    loss_ce = soft_target_loss(student_logits[real], teacher_logits[real], temperature)
    loss_mlm = masked_lm_loss(student_logits, labels)  # your e18: labelled positions only
    loss_cos = cosine_embedding_loss(student_hidden[real], teacher_hidden[real])
    loss = alpha_ce * loss_ce + alpha_mlm * loss_mlm + alpha_cos * loss_cos
    return loss, loss_ce, loss_mlm, loss_cos
