"""The ``bertprep`` command line: parse options, call one function, set the exit code.

Every command is a few lines; what it does lives in the feature modules (watch, interview,
site, dev) and the engine below them (feedback, workspace, progress, sandbox). Imports of
feature modules sit inside the commands so that ``bertprep --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

import grader.cli_labs as labs
import grader.cli_rounds as rounds
from grader.catalogue import (
    BLOG_QUESTIONS,
    PROJECT_ROOT,
    Catalogue,
    Exercise,
    blog_question,
    load_catalogue,
)
from grader.i18n import (
    LANGUAGES,
    _,
    install_cjk_wrapping,
    install_click_translations,
    language,
    language_from_argv,
    set_language,
)
from grader.progress import Progress, file_digest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The language is fixed before any help text below is translated: --lang anywhere on the
# command line, else BERTPREP_LANG, else the locale. A bad --lang value is left to click,
# which names it.
try:
    set_language(language_from_argv(sys.argv[1:]))
except ValueError:
    set_language(None)
install_cjk_wrapping()
install_click_translations()

LANG_OPTION_HELP = _("zh | en: the language bertprep speaks (default: BERTPREP_LANG, then the "
                     "locale)")  # fmt: skip


Language = Enum("Language", {lang: lang for lang in LANGUAGES}, type=str)
# Every command takes --lang (tests/test_i18n.py checks it); its value was read above.
LANG = typer.Option(None, "--lang", help=LANG_OPTION_HELP)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    help=_("Practice BERT for interviews: fill in exercises/, and bertprep grades them against "
           "a reference BERT proven equal to Hugging Face transformers. Your progress and "
           "other state live in .bertprep/ in the project (set BERTPREP_HOME to move them)."),
)  # fmt: skip
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on stderr; raise the returned Exit to stop with ``code``."""
    err_console.print(f"[red]{escape(message)}[/]")
    return typer.Exit(code)


def resolve_id(catalogue: Catalogue, exercise_id: str) -> Exercise:
    try:
        return catalogue.get(exercise_id)
    except KeyError:
        raise fail(_("no exercise {id}; known: {known}").format(
            id=repr(exercise_id), known=", ".join(catalogue.ids())), 2) from None  # fmt: skip


def resolve_folder(target: str) -> Path:
    from grader.sandbox.target import resolve_target

    try:
        return resolve_target(target)
    except FileNotFoundError:
        raise fail(_("target folder {path} does not exist").format(path=target), 2) from None


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    lang: Language | None = LANG,
) -> None:
    from grader.feedback import print_overview

    if ctx.invoked_subcommand is None:
        catalogue, progress = load_catalogue(), Progress.load()
        print_overview(console, catalogue, progress, rounds.drills_due(catalogue, progress))


@app.command("list", help=_("List the exercises in learning order, with their status."))
def list_exercises(
    as_json: bool = typer.Option(False, "--json", help=_("machine-readable")),
    lang: Language | None = LANG,
) -> None:
    from grader.feedback import exercise_rows, print_overview

    catalogue, progress = load_catalogue(), Progress.load()
    if as_json:
        print(json.dumps(exercise_rows(catalogue, progress), indent=2, ensure_ascii=False))
    else:
        print_overview(console, catalogue, progress)


@app.command(help=_("Grade exercises; exit status 0 only if every checked exercise passes."))
def check(
    exercise_id: str | None = typer.Argument(None, help=_("exercise id (default: the next one)")),
    all_exercises: bool = typer.Option(False, "--all", help=_("check every exercise")),
    target: str = typer.Option(
        "exercises", help=_("exercises | solutions | a folder laid out like exercises/")
    ),
    as_json: bool = typer.Option(False, "--json", help=_("machine-readable verdicts")),
    lang: Language | None = LANG,
) -> None:
    from grader.feedback import render_verdict
    from grader.sandbox.runner import run_checks
    from grader.workspace import exercise_path, next_exercise, ungradable_verdicts

    catalogue, progress = load_catalogue(), Progress.load()
    if all_exercises:
        chosen = list(catalogue.exercises)
    elif exercise_id:
        chosen = [resolve_id(catalogue, exercise_id)]
    else:
        upcoming = next_exercise(catalogue, progress)
        chosen = [upcoming] if upcoming else list(catalogue.exercises)
    folder = resolve_folder(target)
    started = time.perf_counter()
    refused = ungradable_verdicts(chosen, folder)  # a FIFO would make the grader wait forever
    graded = [e.id for e in chosen if e.id not in refused]
    found = run_checks(graded, folder) if graded else {}
    verdicts = {e.id: refused.get(e.id) or found[e.id] for e in chosen}
    elapsed = time.perf_counter() - started
    if as_json:
        print(json.dumps([v.to_json() for v in verdicts.values()], indent=2, ensure_ascii=False))
    else:
        shown_folder = target if target in ("exercises", "solutions") else str(folder)
        for exercise in chosen:
            render_verdict(console, verdicts[exercise.id], exercise,
                           progress.hint_level_seen(exercise.id), folder=shown_folder)  # fmt: skip
        if len(chosen) > 1:
            passed = sum(v.status == "passed" for v in verdicts.values())
            console.print(_("{passed}/{total} passed in {seconds:.1f}s").format(
                passed=passed, total=len(chosen), seconds=elapsed))  # fmt: skip
    if folder == (PROJECT_ROOT / "exercises").resolve():
        for exercise in chosen:
            verdict = verdicts[exercise.id]
            # Recorded against the bytes that were graded (the runner's snapshot) when known.
            digest = getattr(verdict, "digest", None) or file_digest(exercise_path(exercise))
            progress.record_verdict(exercise.id, verdict.status, digest)
        progress.save()  # after the verdicts: a state that cannot be saved is one line after them
    if not all(v.status == "passed" for v in verdicts.values()):
        raise typer.Exit(1)


@app.command(help=_("Show a hint: each call without --level reveals the next level."))
def hint(
    exercise_id: str,
    level: int | None = typer.Option(
        None, min=1, max=3, help=_("1 idea, 2 approach, 3 near-code")
    ),
    lang: Language | None = LANG,
) -> None:
    from grader.feedback import print_hint

    catalogue, progress = load_catalogue(), Progress.load()
    exercise = resolve_id(catalogue, exercise_id)
    rounds.refuse_while_drilling(exercise)
    seen = progress.hint_level_seen(exercise.id)
    shown = level or min(3, seen + 1)
    print_hint(console, exercise, shown, chained=level is None)
    if shown > seen:
        progress.see_hint(exercise.id, shown)
        progress.save()


@app.command(help=_("Show the worked solution (after you pass, or with --force)."))
def solution(
    exercise_id: str,
    force: bool = typer.Option(False, "--force", help=_("show it even before you pass")),
    lang: Language | None = LANG,
) -> None:
    catalogue, progress = load_catalogue(), Progress.load()
    exercise = resolve_id(catalogue, exercise_id)
    rounds.refuse_while_drilling(exercise)
    if not (force or progress.has_passed(exercise.id)):
        err_console.print(_("Pass `bertprep check {id}` first (or use --force). Hints help: "
                            "`bertprep hint {id}`.").format(id=exercise.id))  # fmt: skip
        raise typer.Exit(1)
    source = (PROJECT_ROOT / "solutions" / exercise.file).read_text(encoding="utf-8")
    console.print(Syntax(source, "python", line_numbers=True, word_wrap=True))


@app.command(help=_("Restore an exercise's stub; your file is backed up first under "
                    ".bertprep/backups/."))  # fmt: skip
def reset(exercise_id: str, lang: Language | None = LANG) -> None:
    from grader.workspace import ResetError, reset_exercise

    exercise = resolve_id(load_catalogue(), exercise_id)
    try:
        backup = reset_exercise(exercise)
    except (FileNotFoundError, ResetError) as err:
        raise fail(str(err)) from None
    if backup is not None:
        console.print(_("backed up your file to {path}").format(path=backup))
    console.print(_("exercises/{file} is a fresh stub again.").format(file=exercise.file))


@app.command(help=_("Re-check the exercise you are editing every time you save (Enter "
                    "re-runs, q quits)."))  # fmt: skip
def watch(
    exercise_id: str | None = typer.Argument(None, help=_("start with this exercise")),
    lang: Language | None = LANG,
) -> None:
    from grader.watch import run_watch

    start = resolve_id(load_catalogue(), exercise_id) if exercise_id else None
    run_watch(console, start.id if start else None)


@app.command(help=_("Check the grader itself: stubs not started, solutions pass, every mutant "
                    "diagnosed."))  # fmt: skip
def verify(
    only: list[str] | None = typer.Option(None, "--only", help=_("limit to these exercise ids")),
    lang: Language | None = LANG,
) -> None:
    from grader.dev.verify import run_and_report

    if not run_and_report(console, only=only):
        raise typer.Exit(1)


@app.command(help=_("Show the reference BERT agreeing with transformers on the real MiniLM "
                    "weights."))  # fmt: skip
def demo(lang: Language | None = LANG) -> None:
    from grader.dev.demo import run_demo

    if not run_demo(console):
        raise typer.Exit(1)


@app.command(help=_("Benchmarks (reported, never pass/fail): reference vs transformers forward "
                    "time, and the grader's speed (check --all wall time, watch save-to-verdict "
                    "latency)."))  # fmt: skip
def bench(
    what: str = typer.Argument("forward", help=_("forward | grader | all")),
    repeats: int = typer.Option(30, help=_("timed rounds per contender (forward)")),
    batch: int = typer.Option(8, help=_("batch size (forward)")),
    seq: int = typer.Option(128, help=_("sequence length (forward)")),
    lang: Language | None = LANG,
) -> None:
    from grader.dev.bench import report_forward, report_grader

    if what not in ("forward", "grader", "all"):
        raise fail(_("bench takes: forward | grader | all"), 2)
    if what in ("grader", "all"):
        report_grader(console)
    if what in ("forward", "all"):
        report_forward(console, batch=batch, seq=seq, repeats=repeats)


@app.command(help=_("Build the documentation site (English and Chinese) and serve it "
                    "locally, offline."))  # fmt: skip
def docs(
    port: int = typer.Option(8000, help=_("port on 127.0.0.1")),
    build_only: bool = typer.Option(False, "--build-only", help=_("build site/ and exit")),
    lang: Language | None = LANG,
) -> None:
    from grader.site.assets import DocsError
    from grader.site.build import build_site, serve_site

    try:
        if build_only:
            console.print(_("site built in {path}").format(path=build_site()))
        else:
            serve_site(port=port)
    except DocsError as err:
        raise fail(str(err)) from None


@app.command(help=_("The blog questions the exercises answer, and which exercises serve "
                    "each."))  # fmt: skip
def blog(lang: Language | None = LANG) -> None:
    catalogue = load_catalogue()
    for question in BLOG_QUESTIONS:
        ids = [e.id for e in catalogue.exercises if question in e.blog]
        text = escape(blog_question(question))
        console.print(f"[bold]{question}[/] {text}\n  {', '.join(ids) or '-'}")


BANK_HELP = _("a folder of question TOML files (default: grader/interview/questions)")
TOPICS_HELP = _("comma-separated topics (default: all), e.g. attention,mlm")


def load_questions(bank: Path | None, topics: str | None, lang: str) -> tuple[list, tuple]:
    from grader.interview.bank import BankError, select_questions

    try:
        return select_questions(bank, topics, lang)
    except BankError as err:
        err_console.print("[red]" + escape(_("The question bank cannot be used (schema: "
                          "grader/interview/questions/README.md):")) + "[/]")  # fmt: skip
        for problem in err.problems:
            err_console.print(f"  {escape(problem)}")
        raise typer.Exit(2) from None


@app.command(help=_("A timed mock interview: questions with a countdown, model answers, "
                    "rubric, follow-ups, an optional graded coding round, then a debrief and a "
                    "Markdown transcript."))  # fmt: skip
def interview(
    minutes: float = typer.Option(30.0, min=1, help=_("length of the whole session")),
    questions: int | None = typer.Option(None, min=1, help=_("at most this many questions")),
    topics: str | None = typer.Option(None, help=TOPICS_HELP),
    lang: Language | None = LANG,
    answer_seconds: float = typer.Option(180.0, min=10, help=_("time for one answer")),
    coding: bool = typer.Option(False, "--coding", help=_("end with a graded coding round")),
    coding_minutes: float | None = typer.Option(
        None, min=1, help=_("time kept for the coding round (default: a third of the session)")
    ),
    exercise: str | None = typer.Option(
        None, help=_("the coding round's exercise (default: a coding question's, else the next)")
    ),
    target: str = typer.Option("exercises", help=_("where the coding round's code lives")),
    seed: int | None = typer.Option(None, help=_("fix the order of new questions")),
    bank: Path | None = typer.Option(None, help=BANK_HELP),
    coding_round: rounds.CodingRound = typer.Option("exercise",
                                                    help=_(rounds.CODING_ROUND_HELP)),
) -> None:
    from grader.interview.review import Deck
    from grader.interview.session import InterviewPlan, run_interview
    from grader.interview.terminal import session_io

    chosen, topic_names = load_questions(bank, topics, language())
    folder, coding = PROJECT_ROOT / "exercises", coding or coding_round != "exercise"
    if coding:
        if exercise:
            resolve_id(load_catalogue(), exercise)
        folder = resolve_folder(target)
    plan = InterviewPlan(minutes=minutes, max_questions=questions, topics=topic_names,
                         lang=language(), answer_seconds=answer_seconds, coding=coding,
                         coding_minutes=coding_minutes, exercise=exercise, target=folder,
                         seed=seed, coding_round=coding_round.value)  # fmt: skip
    result = run_interview(session_io(console), plan, chosen, Deck.load())
    if result.input_ended:
        from grader.interview.texts import ui_texts

        err_console.print(ui_texts(language())["input_ended"])
        raise typer.Exit(1)


@app.command(help=_("Spaced repetition (FSRS) over the question bank: due cards first, then "
                    "new ones; rate each Again / Hard / Good / Easy (1-4 or a/h/g/e)."))
def review(
    limit: int = typer.Option(20, min=1, help=_("at most this many cards in this session")),
    topics: str | None = typer.Option(None, help=TOPICS_HELP),
    lang: Language | None = LANG,
    bank: Path | None = typer.Option(None, help=BANK_HELP),
) -> None:
    from grader.interview.review import Deck, run_review
    from grader.interview.terminal import session_io

    chosen, _topics = load_questions(bank, topics, language())
    run_review(session_io(console), chosen, Deck.load(), lang=language(), limit=limit)


rounds.register_rounds(app, console, LANG, Language, resolve_id)  # drill, debug
labs.register_labs(app, console, LANG, Language, resolve_folder)  # lab, show


def main() -> None:
    app(prog_name="bertprep")


if __name__ == "__main__":
    sys.exit(main())
