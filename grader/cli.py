"""The ``bertprep`` command: progress, checks with diagnoses, hints, watch mode, self-check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from grader.catalogue import BLOG_QUESTIONS, PROJECT_ROOT, Catalogue, Exercise, load_catalogue
from grader.progress import Progress, atomic_write_text, file_digest, is_untouched_stub, state_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    help="Practice BERT for interviews: fill in exercises/, and bertprep grades them against a "
    "reference BERT proven equal to Hugging Face transformers.",
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

STATUS_STYLE = {
    "passed": "[green]passed[/]",
    "failed": "[red]failed[/]",
    "error": "[red]error[/]",
    "not_started": "[dim]not started[/]",
    "in_progress": "[yellow]in progress[/]",
    "syntax_error": "[red]does not parse[/]",
}


def exercise_path(exercise: Exercise) -> Path:
    return PROJECT_ROOT / "exercises" / exercise.file


def current_status(exercise: Exercise, progress: Progress) -> str:
    """The last verdict if it is about the file as it is now, else what the file shows."""
    path = exercise_path(exercise)
    entry = progress.exercises.get(exercise.id, {})
    if entry.get("digest") and entry.get("digest") == file_digest(path):
        return entry["status"]
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return "error"
    if is_untouched_stub(source):
        return "not_started"
    try:
        compile(source, str(path), "exec")
    except SyntaxError:
        return "syntax_error"
    return "in_progress"


def next_exercise(catalogue: Catalogue, progress: Progress) -> Exercise | None:
    for exercise in catalogue.exercises:
        if current_status(exercise, progress) != "passed":
            return exercise
    return None


def resolve_id(catalogue: Catalogue, exercise_id: str) -> Exercise:
    try:
        return catalogue.get(exercise_id)
    except KeyError as err:
        err_console.print(f"[red]{escape(str(err.args[0]))}[/]")
        raise typer.Exit(2) from None


def print_overview(catalogue: Catalogue, progress: Progress) -> None:
    table = Table(title="bertprep: BERT, implemented and graded", title_justify="left")
    for column in ("#", "id", "exercise", "blog", "status"):
        table.add_column(column)
    done = 0
    for number, exercise in enumerate(catalogue.exercises, start=1):
        status = current_status(exercise, progress)
        done += status == "passed"
        table.add_row(str(number), exercise.id, exercise.title, " ".join(exercise.blog),
                      STATUS_STYLE.get(status, status))  # fmt: skip
    console.print(table)
    console.print(f"{done}/{len(catalogue.exercises)} exercises passed.")
    upcoming = next_exercise(catalogue, progress)
    if upcoming is None:
        console.print("[green]Everything passes.[/] Try `bertprep verify` or the docs' interview "
                      "questions next.")  # fmt: skip
        return
    console.print(
        f"Next: [bold]{upcoming.id}[/] — {upcoming.summary}\n"
        f"  1. edit exercises/{upcoming.file}\n"
        f"  2. run `bertprep check {upcoming.id}` (or keep `bertprep watch` open)\n"
        f"  3. stuck? `bertprep hint {upcoming.id}`"
    )


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        print_overview(load_catalogue(), Progress.load())


@app.command("list")
def list_exercises(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """List the exercises in learning order, with their status."""
    catalogue, progress = load_catalogue(), Progress.load()
    if as_json:
        rows = [
            {
                "id": e.id,
                "title": e.title,
                "file": f"exercises/{e.file}",
                "blog": list(e.blog),
                "prerequisites": list(e.prerequisites),
                "docs": e.docs,
                "mistakes": list(e.mistakes),
                "status": current_status(e, progress),
            }
            for e in catalogue.exercises
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print_overview(catalogue, progress)


def render_verdict(verdict, exercise: Exercise, hint_level: int, folder: str = "exercises") -> None:
    label = {
        "passed": "[green]PASSED[/]",
        "failed": "[red]FAILED[/]",
        "error": "[red]ERROR[/]",
        "not_started": "[dim]NOT STARTED[/]",
    }[verdict.status]
    counts = f"{verdict.passed}/{verdict.total} checks" if verdict.total else ""
    console.print(f"[bold]{exercise.id}[/]  {label}  {counts}")
    if verdict.status == "passed":
        return
    if verdict.status == "not_started":
        console.print(f"  edit exercises/{exercise.file} — {escape(exercise.summary)}")
        console.print(f"  next: bertprep hint {exercise.id}")
        return
    if verdict.check:
        console.print(f"  check: {escape(verdict.check)}")
    console.print(f"  problem: {escape(verdict.message)}")
    if verdict.inputs:
        console.print(f"  input: {escape(verdict.inputs)}")
    if verdict.expected:
        console.print(f"  expected {escape(verdict.expected)}")
    if verdict.got:
        console.print(f"  got      {escape(verdict.got)}")
    if verdict.location:
        console.print(f"  where: {escape(folder)}/{escape(verdict.location)}")
    if verdict.diagnosis_text:
        console.print(f"  [yellow]diagnosis:[/] {escape(verdict.diagnosis_text)}")
    console.print(f"  next: bertprep hint {exercise.id} --level {min(3, hint_level + 1)}")


def grade(exercises: list[Exercise], target: str, worker=None):
    from grader.runner import run_checks
    from grader.target import resolve_target

    try:
        folder = resolve_target(target)
    except FileNotFoundError as err:
        err_console.print(f"[red]{escape(str(err))}[/]")
        raise typer.Exit(2) from None
    return folder, run_checks([e.id for e in exercises], folder, worker=worker)


@app.command()
def check(
    exercise_id: str | None = typer.Argument(None, help="exercise id (default: the next one)"),
    all_exercises: bool = typer.Option(False, "--all", help="check every exercise"),
    target: str = typer.Option(
        "exercises", help="exercises | solutions | a folder laid out like exercises/"
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable verdicts"),
) -> None:
    """Grade exercises; exit status 0 only if every checked exercise passes."""
    catalogue, progress = load_catalogue(), Progress.load()
    if all_exercises:
        chosen = list(catalogue.exercises)
    elif exercise_id:
        chosen = [resolve_id(catalogue, exercise_id)]
    else:
        upcoming = next_exercise(catalogue, progress)
        chosen = [upcoming] if upcoming else list(catalogue.exercises)
    started = time.perf_counter()
    folder, verdicts = grade(chosen, target)
    elapsed = time.perf_counter() - started
    if folder == (PROJECT_ROOT / "exercises").resolve():
        for exercise in chosen:
            progress.record_verdict(exercise.id, verdicts[exercise.id].status,
                                    file_digest(exercise_path(exercise)))  # fmt: skip
        progress.save()
    if as_json:
        print(json.dumps([v.to_json() for v in verdicts.values()], indent=2, ensure_ascii=False))
    else:
        for exercise in chosen:
            render_verdict(
                verdicts[exercise.id], exercise, progress.hint_level_seen(exercise.id),
                folder=target if target in ("exercises", "solutions") else str(folder),
            )  # fmt: skip
        if len(chosen) > 1:
            passed = sum(v.status == "passed" for v in verdicts.values())
            console.print(f"{passed}/{len(chosen)} passed in {elapsed:.1f}s")
    if not all(v.status == "passed" for v in verdicts.values()):
        raise typer.Exit(1)


@app.command()
def hint(
    exercise_id: str,
    level: int | None = typer.Option(None, min=1, max=3, help="1 idea, 2 approach, 3 near-code"),
) -> None:
    """Show a hint: each call without --level reveals the next level."""
    catalogue, progress = load_catalogue(), Progress.load()
    exercise = resolve_id(catalogue, exercise_id)
    seen = progress.hint_level_seen(exercise.id)
    shown = level or min(3, seen + 1)
    console.print(f"[bold]{exercise.id}[/] hint {shown}/3: {escape(exercise.hints[shown - 1])}")
    if shown < 3 and level is None:
        console.print(f"  (run `bertprep hint {exercise.id}` again for level {shown + 1})")
    console.print(f"  read more: docs/en/{exercise.docs} (or `bertprep docs` for the site)")
    if shown > seen:
        progress.entry(exercise.id)["hint_level"] = shown
        progress.save()


@app.command()
def solution(
    exercise_id: str,
    force: bool = typer.Option(False, "--force", help="show it even before you pass"),
) -> None:
    """Show the worked solution (after you pass, or with --force)."""
    catalogue, progress = load_catalogue(), Progress.load()
    exercise = resolve_id(catalogue, exercise_id)
    if not (force or progress.has_passed(exercise.id)):
        err_console.print(
            f"Pass `bertprep check {exercise.id}` first (or use --force). Hints help: "
            f"`bertprep hint {exercise.id}`."
        )
        raise typer.Exit(1)
    source = (PROJECT_ROOT / "solutions" / exercise.file).read_text(encoding="utf-8")
    console.print(Syntax(source, "python", line_numbers=True, word_wrap=True))


def pristine_stub(exercise: Exercise) -> str:
    """The stub as shipped: the newest committed version of the file that is still a stub."""
    relative = f"exercises/{exercise.file}"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    try:
        commits = git("log", "--format=%H", "--", relative).split()
    except (OSError, subprocess.CalledProcessError):
        commits = []
    for commit in commits:
        try:
            source = git("show", f"{commit}:{relative}")
        except subprocess.CalledProcessError:
            continue
        if is_untouched_stub(source):
            return source
    raise FileNotFoundError(f"no committed stub of {relative} found (reset needs the git history)")


@app.command()
def reset(exercise_id: str) -> None:
    """Restore an exercise's stub; your file is backed up first under .bertprep/backups/."""
    catalogue = load_catalogue()
    exercise = resolve_id(catalogue, exercise_id)
    try:
        stub = pristine_stub(exercise)
    except FileNotFoundError as err:
        err_console.print(f"[red]{escape(str(err))}[/]")
        raise typer.Exit(1) from None
    path = exercise_path(exercise)
    if path.exists():
        backup = state_dir() / "backups" / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.py"
        atomic_write_text(backup, path.read_text(encoding="utf-8"))
        console.print(f"backed up your file to {backup}")
    atomic_write_text(path, stub)
    console.print(f"exercises/{exercise.file} is a fresh stub again.")


@app.command()
def watch(
    exercise_id: str | None = typer.Argument(None, help="start with this exercise"),
) -> None:
    """Re-check the exercise you are editing every time you save (Enter re-runs, q quits)."""
    from grader.watch import run_watch

    run_watch(console, exercise_id)


@app.command()
def verify(
    only: list[str] | None = typer.Option(None, "--only", help="limit to these exercise ids"),
) -> None:
    """Check the grader itself: stubs not started, solutions pass, every mutant diagnosed."""
    from grader.verify import verify as run_verify

    started = time.perf_counter()
    report = run_verify(only=only, progress=lambda message: console.print(f"[dim]{message}[/]"))
    elapsed = time.perf_counter() - started
    for problem in report.problems:
        console.print(f"[red]✗[/] {escape(problem)}")
    verdict = "[green]verify passed[/]" if report.ok else "[red]verify failed[/]"
    console.print(f"{verdict}: {report.checked} gradings, {len(report.problems)} problems, "
                  f"{elapsed:.1f}s")  # fmt: skip
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Show the reference BERT agreeing with transformers on the real MiniLM weights."""
    from grader.demo import run_demo

    if not run_demo(console):
        raise typer.Exit(1)


@app.command()
def bench(
    what: str = typer.Argument("forward", help="forward | grader | all"),
    repeats: int = typer.Option(30, help="timed rounds per contender (forward)"),
    batch: int = typer.Option(8),
    seq: int = typer.Option(128),
) -> None:
    """Benchmarks (reported, never pass/fail): reference vs transformers forward time, and
    the grader's speed (check --all wall time, watch save-to-verdict latency)."""
    from grader.bench import check_all_time, forward_ratio, watch_latency

    if what not in ("forward", "grader", "all"):
        err_console.print("bench takes: forward | grader | all")
        raise typer.Exit(2)
    if what in ("grader", "all"):
        timing = check_all_time()
        console.print(
            f"bertprep check --all --target solutions: {timing['passed']}/{timing['exercises']} "
            f"passed in {timing['total_s']:.1f}s (worker start {timing['worker_start_s']:.1f}s, "
            f"grading {timing['grading_s']:.1f}s; slowest {timing['slowest']}) — target < 30 s"
        )
        latency = watch_latency()
        slow = {k: f"{v:.2f}s" for k, v in latency["per_exercise_s"].items() if v >= 1.0}
        console.print(
            f"watch, save -> verdict: median {latency['median_s']:.2f}s, "
            f"{latency['under_1s']} exercises under 1 s — target < 1 s"
            + (f"; slower: {slow}" if slow else "")
        )
    if what == "grader":
        return
    result = forward_ratio(batch=batch, seq=seq, repeats=repeats)
    console.print(
        f"BertModel forward, all-MiniLM-L6-v2, batch {result['batch']} x {result['seq']}, "
        f"fp32, inference mode, {result['threads']} threads, median of {result['repeats']}:\n"
        f"  reference    {result['reference_ms']:8.2f} ms\n"
        f"  transformers {result['transformers_ms']:8.2f} ms (sdpa)\n"
        f"  ratio reference / transformers = [bold]{result['ratio']:.3f}[/] (target <= 1.00)"
    )


@app.command()
def docs(
    port: int = typer.Option(8000, help="port on 127.0.0.1"),
    build_only: bool = typer.Option(False, "--build-only", help="build site/ and exit"),
) -> None:
    """Build the documentation site (English and Chinese) and serve it locally, offline."""
    from grader.docs_site import DocsError, build_site, serve_site

    try:
        if build_only:
            console.print(f"site built in {build_site()}")
        else:
            serve_site(port=port)
    except DocsError as err:
        err_console.print(f"[red]{escape(str(err))}[/]")
        raise typer.Exit(1) from None


@app.command()
def blog() -> None:
    """The blog questions the exercises answer, and which exercises serve each."""
    catalogue = load_catalogue()
    for question, text in BLOG_QUESTIONS.items():
        ids = [e.id for e in catalogue.exercises if question in e.blog]
        console.print(f"[bold]{question}[/] {escape(text)}\n  {', '.join(ids) or '-'}")


LANG_HELP = "zh | en: the language of the questions and answers"
BANK_HELP = "a folder of question TOML files (default: grader/questions)"
TOPICS_HELP = "comma-separated topics (default: all), e.g. attention,mlm"


def load_questions(bank: Path | None, topics: str | None, lang: str) -> tuple[list, tuple]:
    """The bank's questions and the chosen topics; exits with every problem named when the
    bank, a topic or the language is not usable."""
    from grader.question_bank import LANGUAGES, QUESTIONS_DIR, BankError, load_bank

    if lang not in LANGUAGES:
        err_console.print(f"--lang takes {' or '.join(LANGUAGES)}, not {lang!r}")
        raise typer.Exit(2)
    folder = bank or QUESTIONS_DIR
    try:
        questions = load_bank(folder)
    except BankError as err:
        err_console.print("[red]The question bank does not follow grader/questions/README.md:[/]")
        for problem in err.problems:
            err_console.print(f"  {escape(problem)}")
        raise typer.Exit(2) from None
    if not questions:
        err_console.print(f"No questions in {escape(str(folder))} (one <topic>.toml per topic).")
        raise typer.Exit(1)
    known = sorted({q.topic for q in questions})
    chosen = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    unknown = [t for t in chosen if t not in known]
    if unknown:
        err_console.print(f"Unknown topics {', '.join(unknown)}; known: {', '.join(known)}")
        raise typer.Exit(2)
    return [q for q in questions if not chosen or q.topic in chosen], chosen


@app.command()
def interview(
    minutes: float = typer.Option(30.0, min=1, help="length of the whole session"),
    questions: int | None = typer.Option(None, min=1, help="at most this many questions"),
    topics: str | None = typer.Option(None, help=TOPICS_HELP),
    lang: str = typer.Option("en", help=LANG_HELP),
    answer_seconds: float = typer.Option(180.0, min=10, help="time for one answer"),
    coding: bool = typer.Option(False, "--coding", help="end with a graded coding round"),
    coding_minutes: float | None = typer.Option(
        None, min=1, help="time kept for the coding round (default: a third of the session)"
    ),
    exercise: str | None = typer.Option(
        None, help="the coding round's exercise (default: a coding question's, else the next)"
    ),
    target: str = typer.Option("exercises", help="where the coding round's code lives"),
    seed: int | None = typer.Option(None, help="fix the order of new questions"),
    bank: Path | None = typer.Option(None, help=BANK_HELP),
) -> None:
    """A timed mock interview: questions with a countdown, model answers, rubric, follow-ups,
    an optional graded coding round, then a debrief and a Markdown transcript."""
    from grader.interview import InterviewPlan, run_interview
    from grader.review import Deck
    from grader.sessionio import session_io
    from grader.target import resolve_target

    chosen, topic_names = load_questions(bank, topics, lang)
    folder = PROJECT_ROOT / "exercises"
    if coding:
        if exercise:
            resolve_id(load_catalogue(), exercise)
        try:
            folder = resolve_target(target)
        except FileNotFoundError as err:
            err_console.print(f"[red]{escape(str(err))}[/]")
            raise typer.Exit(2) from None
    plan = InterviewPlan(minutes=minutes, max_questions=questions, topics=topic_names,
                         lang=lang, answer_seconds=answer_seconds, coding=coding,
                         coding_minutes=coding_minutes, exercise=exercise, target=folder,
                         seed=seed)  # fmt: skip
    run_interview(session_io(console), plan, chosen, Deck.load())


@app.command()
def review(
    limit: int = typer.Option(20, min=1, help="at most this many cards in this session"),
    topics: str | None = typer.Option(None, help=TOPICS_HELP),
    lang: str = typer.Option("en", help=LANG_HELP),
    bank: Path | None = typer.Option(None, help=BANK_HELP),
) -> None:
    """Spaced repetition (FSRS) over the question bank: due cards first, then new ones; rate
    each Again / Hard / Good / Easy (1-4 or a/h/g/e)."""
    from grader.review import Deck, run_review
    from grader.sessionio import session_io

    chosen, _ = load_questions(bank, topics, lang)
    run_review(session_io(console), chosen, Deck.load(), lang=lang, limit=limit)


def main() -> None:
    app(prog_name="bertprep")


if __name__ == "__main__":
    sys.exit(main())
