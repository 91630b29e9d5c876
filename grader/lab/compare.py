"""Where the learner's run leaves the reference's, and what that points to.

Both runs start from the same weights and see the same batches, so with right pieces they
stay together to float rounding. Three things are traced at every step:

- the learning rate the optimizer used (exact up to rounding: a schedule mistake shows here
  first, at the step where the formulas part);
- the loss (a head on the wrong token or a different loss shows at step 1, before any update);
- the sum of squares of each family of parameters (LayerNorm weights, LayerNorm biases, other
  biases, embeddings, weight matrices, the classifier), over the first steps: weight decay on
  a family it should spare shrinks that family at once (a relative 1e-6 a step, where right
  code stays within 1e-8), long before the loss can tell.

Rounding noise grows as a run goes on (two right implementations may round differently), so
the parameter families are compared over the first steps only, and the loss within 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.i18n import _

LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-4
LR_RTOL = 1e-6
FAMILY_RTOL = {"embeddings": 1e-6, "weight matrices": 1e-6}  # float32 norms
FAMILY_RTOL_DEFAULT = 1e-7  # float64 sums
FAMILY_WINDOW_MIN = 6
FAMILIES = ("LayerNorm weights", "LayerNorm biases", "biases", "embeddings", "weight matrices",
            "classifier")  # fmt: skip


@dataclass(frozen=True)
class Departure:
    step: int
    what: str  # "loss", "lr", or a parameter family
    reference: float
    yours: float


def _close(a: float, b: float, rtol: float, atol: float = 0.0) -> bool:
    if a != a or b != b:  # NaN
        return a != a and b != b
    return abs(a - b) <= atol + rtol * abs(a)


def family_window(reference: dict) -> int:
    """How many steps the parameter families are compared for: twice the warmup."""
    return max(FAMILY_WINDOW_MIN, 2 * int(reference.get("warmup", 0)))


def first_departure(reference: dict, mine: dict) -> Departure | None:
    """The first step at which the runs differ beyond rounding, and in what."""
    window = family_window(reference)
    for ref, own in zip(reference["steps"], mine["steps"], strict=False):
        step = int(ref["step"])
        if not _close(ref["lr"], own["lr"], LR_RTOL):
            return Departure(step, "lr", ref["lr"], own["lr"])
        if not _close(ref["loss"], own["loss"], LOSS_RTOL, LOSS_ATOL):
            return Departure(step, "loss", ref["loss"], own["loss"])
        if step <= window:
            for family, value in ref.get("norms", {}).items():
                other = own.get("norms", {}).get(family, float("nan"))
                if not _close(value, other, FAMILY_RTOL.get(family, FAMILY_RTOL_DEFAULT)):
                    return Departure(step, family, value, other)
    if len(mine["steps"]) != len(reference["steps"]):
        step = min(len(mine["steps"]), len(reference["steps"])) + 1
        return Departure(step, "steps", len(reference["steps"]), len(mine["steps"]))
    return None


def departure_sentence(departure: Departure) -> str:
    d = departure
    if d.what == "lr":
        return _("Your run leaves the reference's at step {step}: the learning rate is {yours:.3g} "
                 "where the reference's is {reference:.3g}.").format(
            step=d.step, yours=d.yours, reference=d.reference)  # fmt: skip
    if d.what == "loss":
        return _("Your run leaves the reference's at step {step}: the loss is {yours:.5f} where "
                 "the reference's is {reference:.5f}.").format(
            step=d.step, yours=d.yours, reference=d.reference)  # fmt: skip
    if d.what == "steps":
        return _("Your run took {yours:.0f} steps where the reference's took {reference:.0f}."
                 ).format(yours=d.yours, reference=d.reference)  # fmt: skip
    change = (d.yours - d.reference) / d.reference if d.reference else float("nan")
    return _("Your run leaves the reference's at step {step}: the sum of squares of the "
             "{family} differs from the reference's by {change:+.1e} (relative) while the loss "
             "is still within tolerance.").format(step=d.step, family=d.what,
                                                  change=change)  # fmt: skip


def decay_difference(reference: dict, mine: dict) -> tuple[list[str], list[str]]:
    """(decayed by you but not by the reference, decayed by the reference but not by you)."""
    ref, own = set(reference.get("decayed", [])), set(mine.get("decayed", []))
    return sorted(own - ref), sorted(ref - own)


def likely_causes(departure: Departure, reference: dict, mine: dict, owned: set[str]) -> list[str]:
    """Sentences about what the departure points to, from the traces alone."""
    causes = []
    extra, missing = decay_difference(reference, mine)
    if "optimizer" in owned and (extra or missing):
        if extra:
            causes.append(_("Your param_groups decays {n} parameters the reference does not "
                            "decay, e.g. {names}.").format(
                n=len(extra), names=", ".join(extra[:3])))  # fmt: skip
        if missing:
            causes.append(_("Your param_groups leaves {n} parameters undecayed that the reference "
                            "decays, e.g. {names}.").format(
                n=len(missing), names=", ".join(missing[:3])))  # fmt: skip
    untrained = mine.get("untrained") or []
    if "optimizer" in owned and untrained:
        causes.append(_("Your param_groups leaves out {n} trainable parameters, so they are never "
                        "updated, e.g. {names}.").format(
            n=len(untrained), names=", ".join(untrained[:3])))  # fmt: skip
    if departure.what == "lr" and "optimizer" in owned:
        causes.append(_("The learning rate comes from your linear_warmup_decay: compare its "
                        "value at step {step} with the formula (warmup to step {warmup}, then "
                        "linear decay to 0 at step {total}).").format(
            step=departure.step - 1, warmup=reference.get("warmup"),
            total=reference.get("total")))  # fmt: skip
    if departure.what == "loss" and departure.step == 1:
        parts = [p for p in ("bert_model", "sequence_classification", "mlm_head") if p in owned]
        if parts:
            causes.append(_("At step 1 no weight has been updated yet, so the forward pass or the "
                            "loss differs: look at {pieces}.").format(
                pieces=", ".join(parts)))  # fmt: skip
    return causes
