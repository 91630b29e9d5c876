"""The end of a mock interview: the debrief table and the Markdown transcript."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from grader.interview.records import CodingResult, InterviewResult, Turn, display_path
from grader.interview.review import interval_text
from grader.interview.terminal import SessionIO, clock_text
from grader.interview.texts import ui_texts
from grader.progress import create_unique, describe, state_dir, warn


def coding_line(result: CodingResult) -> str:
    colour = "green" if result.status == "passed" else "red"
    counts = f"{result.passed}/{result.total} checks" if result.total else ""
    line = f"[bold]{result.exercise.id}[/] [{colour}]{result.status.upper().replace('_', ' ')}[/]"
    if counts:
        line += f"  {counts}"
    if result.status not in ("passed", "skipped") and result.message:
        line += f"\n  {escape(result.message)}"
    if result.diagnosis:
        line += f"\n  [yellow]diagnosis:[/] {escape(result.diagnosis)}"
    return line


def topic_scores(turns: Sequence[Turn]) -> list[tuple[str, int, int]]:
    """(topic, covered, points) per topic, weakest first."""
    totals: dict[str, list[int]] = {}
    for turn in turns:
        covered, points = totals.setdefault(turn.question.topic, [0, 0])
        totals[turn.question.topic] = [covered + len(turn.covered), points + turn.points]
    rows = [(topic, covered, points) for topic, (covered, points) in totals.items()]
    return sorted(rows, key=lambda row: (row[1] / row[2], row[0]))


def weakest_topics(turns: Sequence[Turn], limit: int = 3) -> list[tuple[str, int, int]]:
    return [row for row in topic_scores(turns) if row[1] < row[2]][:limit]


def _percent(covered: int, points: int) -> int:
    return round(100 * covered / points) if points else 0


def rating_label(turn: Turn, ui: dict[str, str]) -> str:
    return ui[turn.rating.name] if turn.assessed else ui["not_assessed"]


def print_debrief(io: SessionIO, result: InterviewResult) -> None:
    ui = ui_texts(result.plan.lang)
    console = io.console
    console.print()
    console.rule(f"[bold]{ui['debrief']}[/]")
    if not result.turns:
        console.print(ui["no_turns"])
    else:
        now = io.now()
        table = Table(show_lines=False)
        for column in (
            "#",
            ui["question_column"],
            ui["topic"],
            ui["score"],
            ui["answer_time"],
            ui["total_time"],
            ui["rating"],
            ui["next_review"],
        ):
            # fold, never truncate: an id cut to "attention-sca…" cannot be looked up
            table.add_column(column, overflow="fold")
        for number, turn in enumerate(result.turns, start=1):
            marks = "".join("✓" if i in turn.covered else "✗" for i in range(turn.points))
            table.add_row(
                str(number),
                turn.question.id,
                turn.question.topic,
                f"{len(turn.covered)}/{turn.points} {marks}",
                clock_text(turn.answer_seconds) + (" ⏱" if turn.timed_out else ""),
                clock_text(turn.total_seconds),
                ui[turn.rating.name] if turn.assessed else "—",
                interval_text(turn.next_due, now, result.plan.lang) if turn.next_due else "",
            )
        console.print(table)
        for number, turn in enumerate(result.turns, start=1):
            text = turn.question.text(result.plan.lang)
            console.print(f"[bold]{number}. {escape(turn.question.id)}[/]")
            for index, point in enumerate(text.rubric):
                mark = "[green]✓[/]" if index in turn.covered else "[red]✗[/]"
                console.print(f"  {mark} {escape(point)}")
        weak = weakest_topics(result.turns)
        listed = ", ".join(f"{topic} {_percent(c, p)}% ({c}/{p})" for topic, c, p in weak)
        console.print(f"[bold]{ui['weakest']}:[/] {escape(listed or ui['no_weak'])}")
        if weak:
            console.print(f"  bertprep review --topics {','.join(t for t, _, _ in weak)}")
        covered = sum(len(t.covered) for t in result.turns)
        points = sum(t.points for t in result.turns)
        console.print(
            ui["overall"].format(
                covered=covered,
                points=points,
                percent=_percent(covered, points),
                duration=clock_text(result.duration),
            )
        )
    if result.coding is not None:
        console.print(f"[bold]{ui['coding']}:[/] {coding_line(result.coding)}")
    if result.transcript is not None:
        console.print(ui["transcript"].format(path=escape(str(result.transcript))))


def _heading(label: str) -> str:
    return label[:1].upper() + label[1:]


def _quote(text: str, empty: str) -> str:
    if not text.strip():
        return f"_{empty}_"
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def transcript_markdown(result: InterviewResult) -> str:
    plan, ui = result.plan, ui_texts(result.plan.lang)
    lang = plan.lang
    local = result.started_at.astimezone()
    covered = sum(len(t.covered) for t in result.turns)
    points = sum(t.points for t in result.turns)
    out = [
        f"# {ui['title']} — {local:%Y-%m-%d %H:%M}",
        "",
        f"- language: {lang} · topics: {', '.join(plan.topics) or 'all'} · planned: "
        f"{plan.minutes:g} min, {clock_text(plan.answer_seconds)} per answer"
        + (f", coding round {clock_text(plan.coding_seconds)}" if plan.coding else ""),
        f"- questions answered: {len(result.turns)} · duration: {clock_text(result.duration)}"
        + (" · stopped early" if result.stopped_early else ""),
        f"- score: {covered}/{points} rubric points ({_percent(covered, points)}%)",
        "",
    ]
    for number, turn in enumerate(result.turns, start=1):
        question, text = turn.question, turn.question.text(lang)
        timing = f"{clock_text(turn.answer_seconds)}" + (", time ran out" if turn.timed_out else "")
        out += [
            f"## {number}. {question.id} — {question.topic} ({question.kind}, "
            f"difficulty {question.difficulty})",
            "",
            f"**{ui['question'].format(n=number)}.** {text.question}",
            "",
            f"**{_heading(ui['your_answer'])}** ({timing}):",
            "",
            _quote(turn.answer, ui["no_answer"]),
            "",
            f"**{_heading(ui['model_answer'])}:**",
            "",
            text.answer,
            "",
            f"**{_heading(ui['score'])}: {len(turn.covered)}/{turn.points} → "
            f"{rating_label(turn, ui)}**"
            + (
                f" (next review {turn.next_due.astimezone():%Y-%m-%d %H:%M})"
                if turn.next_due
                else ""
            ),
            "",
            *(
                f"- [{'x' if i in turn.covered else ' '}] {point}"
                for i, point in enumerate(text.rubric)
            ),
            "",
        ]
        if turn.follow_up:
            held = {True: ui["held"], False: ui["not_held"], None: "—"}[turn.follow_up_held]
            out += [
                f"**{ui['follow_up']}:** {turn.follow_up}",
                "",
                _quote(turn.follow_up_answer, ui["no_answer"]),
                "",
                f"({held})",
                "",
            ]
        out += [f"Sources: {', '.join(f'`{s}`' for s in question.sources)}", ""]
    if result.coding is not None:
        coding = result.coding
        out += [
            f"## {ui['coding']}: {coding.exercise.id}",
            "",
            f"- file: `{display_path(coding.path)}`",
            f"- verdict: **{coding.status}**"
            + (f", {coding.passed}/{coding.total} checks" if coding.total else ""),
            f"- coding time {clock_text(coding.coding_seconds)}, grading "
            f"{clock_text(coding.grading_seconds)}",
        ]
        if coding.message and coding.status != "passed":
            out.append(f"- {coding.message}")
        if coding.diagnosis:
            out.append(f"- diagnosis: {coding.diagnosis}")
        out.append("")
    if result.turns:
        out += [
            f"## {ui['debrief']}",
            "",
            f"| # | {ui['question_column']} | {ui['topic']} | {ui['score']} | "
            f"{ui['answer_time']} | {ui['total_time']} | {ui['rating']} |",
            "|---|---|---|---|---|---|---|",
        ]
        for number, turn in enumerate(result.turns, start=1):
            out.append(
                f"| {number} | {turn.question.id} | {turn.question.topic} | "
                f"{len(turn.covered)}/{turn.points} | {clock_text(turn.answer_seconds)} | "
                f"{clock_text(turn.total_seconds)} | {rating_label(turn, ui)} |"
            )
        weak = weakest_topics(result.turns)
        listed = ", ".join(f"{topic} {_percent(c, p)}% ({c}/{p})" for topic, c, p in weak)
        out += ["", f"**{ui['weakest']}:** {listed or ui['no_weak']}", ""]
    return "\n".join(out)


def save_transcript(result: InterviewResult, folder: Path | None = None) -> Path | None:
    """Write the transcript to ``.bertprep/interviews/<timestamp>.md`` under a name no other
    transcript has (two sessions in one second keep both); None, said in one line on stderr,
    when the state folder cannot be written."""
    folder = folder or state_dir() / "interviews"
    stamp = f"{result.started_at.astimezone():%Y%m%d-%H%M%S}"
    text = transcript_markdown(result).encode("utf-8")
    try:
        return create_unique(folder, lambda n: f"{stamp}-{n}.md" if n > 1 else f"{stamp}.md", text)
    except OSError as err:
        warn(f"could not save the transcript in {folder} ({describe(err)}).")
        return None
