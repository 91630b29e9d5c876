"""The bodies of ``bertprep lab finetune`` and ``bertprep lab pretrain``.

Each lab: say whose pieces it uses; start the learner's run in the sandbox (when any piece is
theirs) and run the reference's at the same time in this process, one thread each, with a
progress bar per run; compare the two runs step by step; draw the figure; write the report.
The exit status is 0 when the lab ran and the learner's run (if any) stayed with the
reference's, 1 otherwise.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.catalogue import load_catalogue
from grader.i18n import _
from grader.lab import compare, plots, report
from grader.lab.isolated import QUICK_CPU_LIMIT_S, IsolatedJob
from grader.lab.pieces import Piece, as_data, choose_pieces, mine, needs_grading
from grader.lab.terminal import RunProgress

POLL_S = 0.2


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """``count`` threads and denormals flushed to zero while a run lasts (tiny Adam moments
    otherwise make some steps ten times slower on x86)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.set_flush_denormal(False)


def pick_pieces(console: Console, lab: str, folder: Path, use: str) -> tuple[Piece, ...]:
    graded = None
    if needs_grading(folder, use):
        from grader.lab.pieces import LAB_PIECES
        from grader.sandbox.runner import run_checks

        console.print(escape(_("Grading the pieces in {folder} first, to know which pass.")
                             .format(folder=folder)))  # fmt: skip
        graded = {i: v.status for i, v in run_checks(list(LAB_PIECES[lab]), folder).items()}
    pieces = choose_pieces(lab, folder, use, graded=graded)
    console.print(_("[bold]Whose pieces[/]"))
    for piece in pieces:
        console.print("  " + escape(piece.describe()))
    return pieces


def suspects(departure: compare.Departure, owned: set[str]) -> list[str]:
    """The learner's pieces that can explain a departure: the schedule and the decay groups
    act through the optimizer; a loss that differs before any update, through the forward
    pass and the loss; later, any of them."""
    if departure.what == "lr" or departure.what in compare.FAMILIES:
        names = {"optimizer"}
    elif departure.what == "loss" and departure.step == 1:
        names = {"bert_model", "sequence_classification", "mlm_head"}
    else:
        names = set(owned)
    return sorted(names & owned)


def diagnoses(departure: compare.Departure, pieces: tuple[Piece, ...], folder: Path) -> list[str]:
    """The catalogue's diagnosis of the suspected pieces of the learner's that fail their
    checks (a grading run of those pieces only; a passed piece is not graded again)."""
    from grader.sandbox.runner import run_checks

    owned = mine(pieces)
    status = {p.id: p.status for p in pieces}
    suspects_ = [i for i in suspects(departure, owned) if status.get(i) != "passed"]
    if not suspects_:
        return []
    catalogue = load_catalogue()
    found = []
    for exercise_id, verdict in run_checks(suspects_, folder).items():
        if verdict.status == "passed":
            continue
        if verdict.diagnosis in catalogue.mistakes:
            text = catalogue.mistakes[verdict.diagnosis].sentence()
            found.append(_("{id} fails its checks with a known mistake, {mistake}: {text}")
                         .format(id=exercise_id, mistake=verdict.diagnosis, text=text))  # fmt: skip
        else:
            found.append(_("{id} fails its checks: {message}").format(
                id=exercise_id, message=verdict.message))  # fmt: skip
    return found


def run_both(job: str, settings: dict, pieces: tuple[Piece, ...], folder: Path,
             reference_run: Callable[[Callable[[dict], None]], dict], progress: RunProgress,
             cpu_limit: float | None = None, with_reference: bool = True
             ) -> tuple[dict | None, dict | None, str | None]:  # fmt: skip
    """(the reference's result, the learner's result or None, why there is none). Without
    ``with_reference`` (a run that cannot be compared step by step) the learner's run is the
    only one.

    Every run takes one thread: on a machine whose other core is busy, a second thread makes
    torch's thread pool wait on itself (measured here: twice the CPU time, four times the
    wall time of one thread), and two runs side by side use two cores anyway."""
    owned = mine(pieces)
    if not owned:
        with torch_threads(1):
            return reference_run(lambda e: progress.feed("reference", e)), None, None
    extra = {"cpu_limit": cpu_limit} if cpu_limit else {}
    with IsolatedJob(job, settings, as_data(pieces), folder, **extra) as isolated:
        isolated.start()

        def pump() -> None:
            for event in isolated.events():
                progress.feed("yours", event)

        def on_reference(event: dict) -> None:
            progress.feed("reference", event)
            pump()

        reference = None
        if with_reference:
            with torch_threads(1):  # two runs on (at least) two cores: one thread each
                reference = reference_run(on_reference)
        while isolated.running():
            pump()
            time.sleep(POLL_S)
        pump()
        result, error = isolated.finish()
    return reference, result, error


def verdict_lines(reference: dict, result: dict | None, error: str | None,
                  pieces: tuple[Piece, ...], folder: Path
                  ) -> tuple[list[str], compare.Departure | None]:  # fmt: skip
    """What the comparison says, as sentences, and where the runs part (if they do)."""
    owned = mine(pieces)
    if not owned:
        return [_("No piece of yours is in this run yet, so this is the reference's run. Each "
                  "piece you pass joins the next run.")], None  # fmt: skip
    if error:
        return [_("Your run stopped: {error}").format(error=error)], None
    lines = []
    if result and result.get("borrowed"):
        lines.append(result["borrowed"])
    departure = compare.first_departure(reference, result)
    if departure is None:
        lines.append(_("Your run matches the reference's at every step: the learning rate, the "
                       "loss (within {rtol:g}) and, over the first {window} steps, every family "
                       "of weights.").format(rtol=compare.LOSS_RTOL,
                                             window=compare.family_window(reference)))  # fmt: skip
        return lines, None
    lines.append(compare.departure_sentence(departure))
    causes = compare.likely_causes(departure, reference, result, owned)
    causes += diagnoses(departure, pieces, folder)
    lines += [_("Likely cause: {cause}").format(cause=cause) for cause in causes]
    if not causes:
        lines.append(_("No known mistake matches: compare your pieces with the reference's on "
                       "the step above."))  # fmt: skip
    return lines, departure


def finetune_lab(console: Console, folder: Path, *, quick: bool = False, use: str = "passed",
                 seed: int = 14, root: Path | None = None) -> int:  # fmt: skip
    from grader.lab.finetune import FinetuneSettings, frozen_baseline, run_finetune

    started = time.perf_counter()
    settings = FinetuneSettings.quick(seed) if quick else FinetuneSettings(seed=seed)
    console.print(_("[bold]Fine-tuning all-MiniLM-L6-v2[/] on the review set: is the sentence "
                    "positive or negative, when negation and \u201cbut\u201d decide?"))  # fmt: skip
    pieces = pick_pieces(console, "finetune", folder, use)
    with torch_threads(1):
        baseline = frozen_baseline(settings)
    summary = _("frozen encoder + logistic regression: {acc:.1%}").format(acc=baseline["mean"])
    console.print(escape(_("Baseline: a logistic regression on the frozen encoder's features "
                           "scores {mean:.1%} (mean-pooled) and {cls:.1%} ([CLS]).").format(
        mean=baseline["mean"], cls=baseline["cls"])))  # fmt: skip
    labels = {"reference": _("reference run")}
    if mine(pieces):
        labels["yours"] = _("your run")
    with RunProgress(console, labels, baseline=summary) as progress:
        reference, result, error = run_both(
            "finetune", settings.to_data(), pieces, folder,
            lambda on_event: run_finetune(settings, {}, on_event), progress,
            QUICK_CPU_LIMIT_S if quick else None)  # fmt: skip
    lines, departure = verdict_lines(reference, result, error, pieces, folder)
    for line in lines:
        console.print(escape(line))
    folder_out = report.lab_folder("finetune", root)
    plots.finetune_figure(reference, result, baseline, folder_out / "finetune.png",
                          departure.step if departure else None)  # fmt: skip
    seconds = time.perf_counter() - started
    text = report.finetune_markdown(
        pieces=[p.describe() for p in pieces], settings=settings.to_data(),
        reference=reference, mine=result, baseline=baseline, verdict=lines, error=error,
        seconds=seconds)  # fmt: skip
    (folder_out / "report.md").write_text(text, encoding="utf-8")
    report.write_json(folder_out, {"settings": settings.to_data(), "pieces": as_data(pieces),
                                   "baseline": baseline, "reference": reference,
                                   "yours": result, "error": error})  # fmt: skip
    console.print(escape(_("Report and figure: {path} ({seconds:.0f} s in all)").format(
        path=folder_out, seconds=seconds)))  # fmt: skip
    return 1 if error or departure else 0


def masking_lines(shares: dict) -> tuple[list[str], bool]:
    """The learner's masking rule against the paper's, within 4 standard errors; and whether
    it matches."""
    counts_selected, counts_ordinary = shares["selected_count"], shares["ordinary_count"]

    def off(value: float, expected: float, n: int) -> bool:
        return abs(value - expected) > 4 * (expected * (1 - expected) / max(1, n)) ** 0.5 + 1e-9

    problems = []
    if off(shares["selected"], 0.15, counts_ordinary):
        problems.append(_("it selected {share:.1%} of the ordinary tokens where the rule selects "
                          "15%").format(share=shares["selected"]))  # fmt: skip
    for key, expected in (("mask", 0.8), ("random", 0.1), ("unchanged", 0.1)):
        if off(shares[key], expected, counts_selected):
            problems.append(_("{share:.1%} of the selected tokens became {what} where the rule "
                              "says {expected:.0%}").format(
                share=shares[key], what={"mask": "[MASK]", "random": _("a random token"),
                                         "unchanged": _("themselves")}[key],
                expected=expected))  # fmt: skip
    if shares["special_selected"]:
        problems.append(_("it selected {n} special tokens ([CLS], [SEP], padding), which the rule "
                          "never selects").format(n=shares["special_selected"]))  # fmt: skip
    if shares["unselected_changed"]:
        problems.append(_("it changed {n} tokens it did not select").format(
            n=shares["unselected_changed"]))  # fmt: skip
    if not problems:
        return [_("Your masking rule's draws differ from the reference's (any order of draws is "
                  "right), so your run is judged by what the rule did: it matches the paper's "
                  "15% and 80/10/10.")], True  # fmt: skip
    return [_("Your masking rule departs from the paper's: {problems}.").format(
        problems="; ".join(problems))], False  # fmt: skip


def pretrain_lab(console: Console, folder: Path, *, quick: bool = False, use: str = "passed",
                 seed: int = 14, root: Path | None = None) -> int:  # fmt: skip
    from grader.lab.pretrain import PretrainSettings, run_pretrain

    started = time.perf_counter()
    settings = PretrainSettings.quick(seed) if quick else PretrainSettings(seed=seed)
    console.print(_("[bold]Pre-training a tiny BERT from scratch[/] with the masked-LM objective "
                    "on the shipped corpus."))  # fmt: skip
    pieces = pick_pieces(console, "pretrain", folder, use)
    # The learner's masking rule draws differently from the reference's (any order of draws
    # is right): the runs cannot be compared step by step, so theirs runs alone.
    own_masking = "mlm_masking" in mine(pieces)
    labels = {} if own_masking else {"reference": _("reference run")}
    if mine(pieces):
        labels["yours"] = _("your run")
    with RunProgress(console, labels) as progress:
        reference, result, error = run_both(
            "pretrain", settings.to_data(), pieces, folder,
            lambda on_event: run_pretrain(settings, {}, on_event), progress,
            QUICK_CPU_LIMIT_S if quick else None, with_reference=not own_masking)  # fmt: skip
    if result is not None and own_masking:
        lines, matches = masking_lines(result["masking"])
        failed = not matches
    else:
        lines, departure = verdict_lines(reference, result, error, pieces, folder)
        failed = departure is not None
    shown = result or reference
    if shown is None:  # the learner's run alone, and it stopped
        shown = {"before": [], "after": []}
    table = Table(title=_("Fill in the blank (held-out sentences), top 3 guesses"),
                  title_justify="left")  # fmt: skip
    for column in (_("sentence"), _("answer"), _("before training"), _("after training")):
        table.add_column(column)
    for before, after in zip(shown["before"], shown["after"], strict=True):
        right = "green" if after["top"][0] == after["answer"] else "red"
        table.add_row(escape(before["text"]), escape(before["answer"]),
                      escape(", ".join(before["top"])),
                      f"[{right}]{escape(', '.join(after['top']))}[/]")  # fmt: skip
    console.print(table)
    for line in lines:
        console.print(escape(line))
    folder_out = report.lab_folder("pretrain", root)
    plots.pretrain_figure(reference, result, folder_out / "pretrain.png")
    seconds = time.perf_counter() - started
    text = report.pretrain_markdown(pieces=[p.describe() for p in pieces],
                                    settings=settings.to_data(), reference=reference, mine=result,
                                    verdict=lines, error=error, seconds=seconds)  # fmt: skip
    (folder_out / "report.md").write_text(text, encoding="utf-8")
    report.write_json(folder_out, {"settings": settings.to_data(), "pieces": as_data(pieces),
                                   "reference": reference, "yours": result, "error": error})
    console.print(escape(_("Report and figure: {path} ({seconds:.0f} s in all)").format(
        path=folder_out, seconds=seconds)))  # fmt: skip
    return 1 if error or failed else 0
