"""A lab's folder under ``.bertprep/labs/<date>-<lab>/``: the figure, a Markdown report and the
runs' traces as JSON (``run.json``), for a learner to keep or compare with a later run."""

from __future__ import annotations

import json
import time
from pathlib import Path

from grader.i18n import _, ngettext
from grader.progress import state_dir

KIND_NAMES = {"plain": "plain (\u201cthe food was great\u201d)",
              "negated": "negated (\u201cthe food was not great\u201d)",
              "contrast": "contrast (\u201cthe food was bad, but the service was great\u201d)",
              "contrast_negated": "contrast + negation (\u201c..., but the service was not "
                                  "great\u201d)"}  # fmt: skip


def lab_folder(lab: str, root: Path | None = None) -> Path:
    """A new folder ``<date>-<lab>`` (``-2``, ``-3``... for later runs the same day)."""
    base = (root or state_dir()) / "labs"
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d")
    for number in range(1, 10_000):
        folder = base / (f"{stamp}-{lab}" + (f"-{number}" if number > 1 else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(base / f"{stamp}-{lab}")


def write_json(folder: Path, data: dict) -> Path:
    path = folder / "run.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _pieces(pieces: list[str]) -> list[str]:
    return [f"- {line}" for line in pieces]


def finetune_markdown(*, pieces: list[str], settings: dict, reference: dict, mine: dict | None,
                      baseline: dict, verdict: list[str], error: str | None,
                      seconds: float) -> str:  # fmt: skip
    lines = [
        "# " + _("Fine-tuning lab"),
        "",
        ngettext("all-MiniLM-L6-v2 fine-tuned on {train} review sentences and tested on {test} "
                 "held-out ones (grader/lab/data/reviews): {epochs} epoch of {steps} steps, "
                 "batch {batch}, peak learning rate {lr:g} with {warmup} warmup steps, weight "
                 "decay {wd:g}, dropout off, seed {seed}. The whole lab took {seconds:.0f} s.",
                 "all-MiniLM-L6-v2 fine-tuned on {train} review sentences and tested on {test} "
                 "held-out ones (grader/lab/data/reviews): {epochs} epochs of {steps} steps, "
                 "batch {batch}, peak learning rate {lr:g} with {warmup} warmup steps, weight "
                 "decay {wd:g}, dropout off, seed {seed}. The whole lab took {seconds:.0f} s.",
                 settings["epochs"]).format(
            train=reference["train_size"], test=reference["test_size"],
            epochs=settings["epochs"], steps=reference["total"] // settings["epochs"],
            batch=settings["batch_size"], lr=settings["lr"], warmup=reference["warmup"],
            wd=settings["weight_decay"], seed=settings["seed"], seconds=seconds),
        "",
        "## " + _("Whose pieces"),
        "",
        *_pieces(pieces),
        "",
        "## " + _("Accuracy"),
        "",
        "| " + " | ".join([_("epoch"), _("reference run"), _("your run")]) + " |",
        "|---|---|---|",
    ]  # fmt: skip
    for index, epoch in enumerate(reference["epochs"]):
        own = mine["epochs"][index]["accuracy"] if mine and index < len(mine["epochs"]) else None
        lines.append(f"| {epoch['epoch']} | {_pct(epoch['accuracy'])} | {_pct(own)} |")
    lines += [
        "",
        _("Frozen encoder + logistic regression ({steps} steps of Adam on the features, no "
          "fine-tuning): {mean} on mean-pooled features, {cls} on [CLS].").format(
            steps=settings["baseline_steps"], mean=_pct(baseline["mean"]),
            cls=_pct(baseline["cls"])),
        "",
        "| " + " | ".join([_("kind of sentence"), _("frozen + logistic regression"),
                           _("fine-tuned (reference)")]) + " |",
        "|---|---|---|",
    ]  # fmt: skip
    for kind, accuracy in reference["by_kind"].items():
        frozen = baseline.get("mean_by_kind", {}).get(kind)
        lines.append(f"| {KIND_NAMES.get(kind, kind)} | {_pct(frozen)} | {_pct(accuracy)} |")
    lines += ["", "## " + _("Your run against the reference's"), ""]
    if error:
        lines.append(_("Your run did not finish: {error}").format(error=error))
    lines += verdict
    lines += ["", "![" + _("loss, learning rate and accuracy of the runs") + "](finetune.png)", ""]
    return "\n".join(lines)


def pretrain_markdown(*, pieces: list[str], settings: dict, reference: dict | None,
                      mine: dict | None, verdict: list[str], error: str | None,
                      seconds: float) -> str:  # fmt: skip
    run = mine or reference or {}
    lines = [
        "# " + _("Pre-training lab"),
        "",
        _("A BERT of {layers} layers, hidden size {hidden}, {heads} heads ({params:,} "
          "parameters) trained from scratch with the masked-LM objective on {sentences} "
          "sentences (grader/lab/data/corpus, a {vocab}-word vocabulary): {steps} steps of "
          "batch {batch}, peak learning rate {lr:g}, seed {seed}. The whole lab took {seconds:.0f} "
          "s.").format(
            layers=settings["layers"], hidden=settings["hidden_size"], heads=settings["heads"],
            params=run.get("parameters", 0), sentences=run.get("sentences", 0),
            vocab=run.get("vocab_size", 0), steps=settings["steps"],
            batch=settings["batch_size"], lr=settings["lr"], seed=settings["seed"],
            seconds=seconds),
        "",
        "## " + _("Whose pieces"),
        "",
        *_pieces(pieces),
        "",
    ]  # fmt: skip
    if error:
        lines += [_("Your run did not finish: {error}").format(error=error), ""]
    if run:
        first, last = run["steps"][0]["loss"], sum(s["loss"] for s in run["steps"][-50:]) / len(
            run["steps"][-50:])  # fmt: skip
        lines += [_("The loss fell from {first:.2f} at step 1 to {last:.2f} (mean of the last "
                    "50 steps).").format(first=first, last=last), "",
                  "## " + _("Fill in the blank (held-out sentences)"), "",
                  "| " + " | ".join([_("sentence"), _("answer"), _("before training"),
                                     _("after training")]) + " |", "|---|---|---|---|"]  # fmt: skip
        for before, after in zip(run["before"], run["after"], strict=True):
            lines.append(f"| `{before['text']}` | {before['answer']} | "
                         f"{', '.join(before['top'])} | {', '.join(after['top'])} |")  # fmt: skip
        shares = run["masking"]
        lines += ["", "## " + _("What the masking rule did"), "",
                  _("{selected} of ordinary tokens selected (the rule: 15%); of the selected: "
                    "{mask} [MASK], {random} random, {unchanged} unchanged (80/10/10). Special "
                    "tokens selected: {special}; unselected tokens changed: {changed}.").format(
                      selected=_pct(shares["selected"]), mask=_pct(shares["mask"]),
                      random=_pct(shares["random"]), unchanged=_pct(shares["unchanged"]),
                      special=shares["special_selected"],
                      changed=shares["unselected_changed"])]  # fmt: skip
    lines += ["", *verdict, "",
              "![" + _("MLM loss, learning rate and masking shares") + "](pretrain.png)", ""]
    return "\n".join(lines)
