"""DistilBERT's training loss (Sanh et al. 2019, "DistilBERT", §2-3; Hinton et al. 2015, §2).

A 6-layer student learns from a 12-layer BERT teacher with three terms:

    L = α_ce · L_ce + α_mlm · L_mlm + α_cos · L_cos

- **L_ce, soft targets**: KL(p_teacher ‖ p_student) between the two MLM distributions softened
  by a temperature T: p = softmax(z / T). T > 1 exposes the teacher's "dark knowledge" (how
  wrong the wrong tokens are). The gradient of the softened loss scales like 1/T², so it is
  multiplied by T² to keep its size independent of T (Hinton et al. §2).
- **L_mlm**: the usual masked-LM cross-entropy on the hard labels (-100 = not predicted).
- **L_cos**: 1 - cos(h_student, h_teacher) of the last hidden states, to align directions.

Where it is averaged, as in transformers' ``examples/research_projects/distillation/
distiller.py`` (``Distiller.step``): L_ce over the real tokens (``attention_mask``), or over the
MLM-selected ones with ``restrict_ce_to_mask``, with KLDivLoss(reduction="batchmean"), i.e.
summed over the vocabulary and averaged over the selected tokens; L_mlm averaged over labelled
tokens; L_cos averaged over real tokens. DistilBERT was trained with α_ce = 5, α_mlm = 2,
α_cos = 1, T = 2 (the README's command and ``train.py``'s default temperature).
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

from reference.modeling import IGNORE_INDEX


def soft_target_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """T² · mean over rows of KL(softmax(t / T) ‖ softmax(s / T)). Logits: (n, vocab).

    Written out: Σ_v p_t (log p_t - log p_s). Zero iff the two softened distributions agree.
    """
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)  # per row
    return kl.mean() * temperature**2


def cosine_embedding_loss(student_hidden: Tensor, teacher_hidden: Tensor) -> Tensor:
    """mean(1 - cos(s_i, t_i)) over rows: 0 when every pair points the same way. (n, dim)."""
    return (1 - F.cosine_similarity(student_hidden, teacher_hidden, dim=-1)).mean()


class DistillationLoss(NamedTuple):
    loss: Tensor  # the weighted sum that is back-propagated
    loss_ce: Tensor
    loss_mlm: Tensor
    loss_cos: Tensor


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
    restrict_ce_to_mask: bool = False,
) -> DistillationLoss:
    """logits (batch, seq, vocab); labels (batch, seq) with -100 where nothing is predicted;
    attention_mask (batch, seq) 1 real / 0 pad; hidden states (batch, seq, dim).
    The teacher's tensors should carry no gradient (compute them under ``torch.no_grad()``)."""
    ce_rows = (labels != IGNORE_INDEX) if restrict_ce_to_mask else attention_mask.bool()
    loss_ce = soft_target_loss(student_logits[ce_rows], teacher_logits[ce_rows], temperature)
    loss_mlm = F.cross_entropy(
        student_logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX
    )
    real = attention_mask.bool()
    loss_cos = cosine_embedding_loss(student_hidden[real], teacher_hidden[real])
    loss = alpha_ce * loss_ce + alpha_mlm * loss_mlm + alpha_cos * loss_cos
    return DistillationLoss(loss, loss_ce, loss_mlm, loss_cos)
