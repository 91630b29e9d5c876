"""``bertprep interview``: a timed mock interview over the question bank, then a debrief.

A session draws questions — due FSRS cards first, then new ones (shuffled, so topics mix),
then the rest by due date — from the chosen topics, while its time lasts (``--minutes``) and
up to ``--questions``. For each question: the question and a countdown; the learner types an
answer (or speaks it and presses Enter); the model answer; the learner ticks the rubric points
they covered; a follow-up when the answer was strong; the question's FSRS card is rated:

    rubric points covered      FSRS rating
    less than a third          Again
    a third, under two thirds  Hard
    two thirds or more         Good      (and a follow-up is asked)
    every point                Easy      (and a follow-up is asked)

(3 points: 0 Again, 1 Hard, 2 Good, 3 Easy; 4 points: 0-1 Again, 2 Hard, 3 Good, 4 Easy;
5 points: 0-1 Again, 2-3 Hard, 4 Good, 5 Easy.) The rating uses the rubric only: the model
answer and rubric are the bank's, so they are the fair yardstick; the follow-up is recorded
in the transcript with the learner's own verdict on it.

``--coding`` keeps part of the session (``--coding-minutes``, default a third) for one
exercise from the catalogue: the learner edits ``exercises/<file>``, presses Enter, and the
grader grades it in its isolated child under the time that is left (never less than
GRADING_FLOOR_S, so a pencils-down submission is still graded).

The session ends with a debrief (score per rubric point and question, time per question,
weakest topics) and a Markdown transcript in ``.bertprep/interviews/<timestamp>.md``.
Everything goes through a SessionIO, so tests drive whole sessions with scripted input.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise, load_catalogue
from grader.interview.bank import Question
from grader.interview.debrief import coding_line, print_debrief, save_transcript
from grader.interview.records import (
    CodingResult,
    InterviewPlan,
    InterviewResult,
    Turn,
    deserves_follow_up,
    display_path,
    parse_ticks,
    rating_for,
)
from grader.interview.review import Deck
from grader.interview.terminal import SessionIO, clock_text
from grader.interview.texts import ui_texts, up_to
from grader.progress import Progress, file_digest
from grader.workspace import next_exercise

MIN_QUESTION_S = 30  # a question is not started with less than this left in the question phase
MIN_FOLLOW_UP_S = 30
MIN_CODING_S = 60
GRADING_FLOOR_S = 30


def numbered(points: Sequence[str]) -> Table:
    """A numbered list whose wrapped lines stay indented under their own text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", min_width=4)
    grid.add_column(ratio=1)
    for number, point in enumerate(points, start=1):
        grid.add_row(f"{number}.", escape(point))
    return grid


def draw_questions(
    questions: Sequence[Question], deck: Deck, plan: InterviewPlan, now: datetime
) -> list[Question]:
    """Due cards first, then new questions (shuffled: a real interview mixes topics), then the
    rest by due date, from the chosen topics."""
    pool = [q for q in questions if not plan.topics or q.topic in plan.topics]
    random.Random(plan.seed).shuffle(pool)
    return deck.queue(pool, now, include_later=True)


class InterviewSession:
    def __init__(
        self,
        io: SessionIO,
        plan: InterviewPlan,
        questions: Sequence[Question],
        deck: Deck,
        catalogue: Catalogue | None = None,
    ):
        self.io = io
        self.plan = plan
        self.questions = questions
        self.deck = deck
        self.catalogue = catalogue or load_catalogue()
        self.ui = ui_texts(plan.lang)
        self.rng = random.Random(plan.seed)

    @property
    def console(self):
        return self.io.console

    def run(self) -> InterviewResult:
        io, plan, ui = self.io, self.plan, self.ui
        result = InterviewResult(plan, started_at=io.now())
        started = io.clock()
        session_end = started + plan.minutes * 60
        questions_end = session_end - plan.coding_seconds
        queue = draw_questions(self.questions, self.deck, plan, io.now())
        self._print_plan()
        try:
            for question in queue:
                if plan.max_questions is not None and len(result.turns) >= plan.max_questions:
                    break
                if questions_end - io.clock() < MIN_QUESTION_S:
                    self.console.print(f"\n[bold]{ui['questions_over']}[/]")
                    break
                turn = self.ask(question, len(result.turns) + 1, questions_end, session_end)
                if turn.assessed:
                    entry = self.deck.rate(question.id, turn.rating, io.now())
                    self.deck.save()  # after every question: stopping half-way loses nothing
                    turn.next_due = entry.card.due
                result.turns.append(turn)
                if turn.closed:
                    result.stopped_early = result.input_ended = True
                    break
            else:
                if plan.max_questions is None or len(result.turns) < plan.max_questions:
                    self.console.print(f"\n{ui['bank_done']}")
            if plan.coding and not result.stopped_early:
                result.coding = self.coding_round(result.turns, session_end)
        except KeyboardInterrupt:
            result.stopped_early = True
            self.console.print(f"\n[yellow]{ui['stopped']}[/]")
        result.duration = io.clock() - started
        return result

    def _print_plan(self) -> None:
        plan, ui = self.plan, self.ui
        count = (
            up_to(plan.lang, plan.max_questions) if plan.max_questions else ui["as_time_allows"]
        )
        coding = (
            ui["with_coding"].format(coding=clock_text(plan.coding_seconds)) if plan.coding else ""
        )
        line = ui["plan"].format(
            count=count,
            minutes=f"{plan.minutes:g}",
            topics=", ".join(plan.topics) or ui["all_topics"],
            answer=clock_text(plan.answer_seconds),
            coding=coding,
        )
        self.console.print(f"[bold]{ui['title']}[/] — {escape(line)}")

    def ask(
        self, question: Question, number: int, questions_end: float, session_end: float
    ) -> Turn | None:
        """One question, start to rating; None when the input ended before the rubric."""
        io, ui = self.io, self.ui
        text = question.text(self.plan.lang)
        started = io.clock()
        stars = "★" * question.difficulty + "☆" * (3 - question.difficulty)
        self.console.print()
        self.console.rule(
            f"[bold]{ui['question'].format(n=number)}[/] · {escape(question.topic)} · "
            f"{question.kind} · {stars} · "
            f"{ui['session_left'].format(left=clock_text(session_end - started))}"
        )
        self.console.print(Panel(escape(text.question), border_style="cyan"))
        deadline = min(started + self.plan.answer_seconds, questions_end)
        answer = io.read_answer(deadline, ui["instruction"])
        answer_seconds = io.clock() - started
        if answer.timed_out:
            self.console.print(f"[yellow]{ui['time_up']}[/]")
        io.show_answer(answer.text, ui["your_answer"], ui["no_answer"])
        if text.short:  # the 30-second version first, as an interviewer wants to hear it
            self.console.print(Panel(escape(text.short), border_style="green",
                                     title=f"{ui['model_answer']} · {ui['short_answer']}",
                                     title_align="left"))  # fmt: skip
        self.console.print(
            Panel(
                Markdown(text.answer),
                title=ui["model_answer"],
                title_align="left",
                border_style="green",
            )
        )
        self.console.print(f"[bold]{ui['rubric']}[/]")
        self.console.print(numbered(text.rubric))
        covered = self.ask_ticks(len(text.rubric))
        if covered is None:  # the input ended: keep the answer, leave the card unrated
            return Turn(question=question, answer=answer.text, answer_seconds=answer_seconds,
                        timed_out=answer.timed_out, covered=[],
                        rating=rating_for(0, len(text.rubric)), assessed=False, closed=True,
                        total_seconds=io.clock() - started)  # fmt: skip
        turn = Turn(
            question=question,
            answer=answer.text,
            answer_seconds=answer_seconds,
            timed_out=answer.timed_out,
            covered=covered,
            rating=rating_for(len(covered), len(text.rubric)),
            closed=answer.closed,
        )
        if turn.closed or questions_end - io.clock() < MIN_FOLLOW_UP_S:
            pass  # no time left in the question part for a follow-up
        elif deserves_follow_up(len(covered), len(text.rubric)):
            self.follow_up(turn, self.rng.choice(list(text.follow_ups)), questions_end)
        else:  # a weak answer: probe the first point it missed, as an interviewer would
            missed = next(p for i, p in enumerate(text.rubric) if i not in covered)
            self.follow_up(turn, ui["probe"].format(point=missed), questions_end,
                           check=ui["probe_check"])  # fmt: skip
        turn.total_seconds = io.clock() - started
        return turn

    def ask_ticks(self, points: int) -> list[int] | None:
        while True:
            reply = self.io.ask(self.ui["ticks_prompt"])
            if reply is None:
                return None
            covered = parse_ticks(reply, points)
            if covered is not None:
                return covered
            self.console.print(f"[yellow]{self.ui['ticks_help']}[/]")

    def follow_up(
        self, turn: Turn, question: str, questions_end: float, check: str | None = None
    ) -> None:
        io, ui = self.io, self.ui
        turn.follow_up = question
        self.console.print(
            Panel(
                escape(turn.follow_up),
                title=ui["follow_up"],
                title_align="left",
                border_style="magenta",
            )
        )
        now = io.clock()
        # Half an answer's time, within the question phase, but never too short to think.
        half_answer = min(now + self.plan.answer_seconds / 2, questions_end)
        deadline = max(now + MIN_FOLLOW_UP_S, half_answer)
        answer = io.read_answer(deadline, ui["instruction"])
        if answer.timed_out:
            self.console.print(f"[yellow]{ui['time_up']}[/]")
        io.show_answer(answer.text, ui["your_answer"], ui["no_answer"])
        turn.follow_up_answer = answer.text
        if answer.closed:
            turn.closed = True
            return
        reply = io.ask(check or ui["follow_up_check"])
        if reply is None:
            turn.closed = True
        elif reply.strip().lower()[:1] in ("y", "n", "是", "否"):
            turn.follow_up_held = reply.strip().lower()[:1] in ("y", "是")

    def pick_exercise(self, turns: Sequence[Turn]) -> Exercise | None:
        """The chosen exercise; else one from a coding question of this session or of the
        chosen topics that is not passed yet; else the next exercise not passed."""
        if self.plan.exercise:
            return self.catalogue.get(self.plan.exercise)
        progress = Progress.load()
        asked = [t.question for t in turns]
        in_topics = [
            q for q in self.questions if not self.plan.topics or q.topic in self.plan.topics
        ]
        for question in [*asked, *in_topics]:
            is_exercise = question.kind == "coding" and question.exercise is not None
            if is_exercise and not progress.has_passed(question.exercise):
                return self.catalogue.get(question.exercise)
        return next_exercise(self.catalogue, progress)

    def coding_round(self, turns: Sequence[Turn], session_end: float) -> CodingResult | None:
        if self.plan.coding_round in ("drill", "debug"):  # instead of a plain exercise
            from grader.drill.rounds import interview_round

            return interview_round(self, turns, session_end, grade_within)
        io, ui = self.io, self.ui
        exercise = self.pick_exercise(turns)
        self.console.print()
        self.console.rule(f"[bold]{ui['coding']}[/]")
        if exercise is None:
            self.console.print(ui["coding_none"])
            return None
        path = self.plan.target / exercise.file
        started = io.clock()
        self.console.print(
            Panel(
                f"[bold]{escape(exercise.text('title', self.plan.lang))}[/] ({exercise.id})\n"
                f"{escape(exercise.text('summary', self.plan.lang))}\n\n"
                f"{escape(ui['coding_edit'].format(path=display_path(path)))}\n"
                f"[dim]{escape(ui['coding_stuck'].format(id=exercise.id))}[/]",
                border_style="blue",
            )
        )
        deadline = max(session_end - GRADING_FLOOR_S, started + MIN_CODING_S)
        reply = io.read_answer(deadline, ui["coding_instruction"])
        coding_seconds = io.clock() - started
        if reply.text.strip().lower() == "skip":
            return CodingResult(exercise, path, "skipped", coding_seconds=coding_seconds)
        budget = max(session_end - io.clock(), GRADING_FLOOR_S)
        self.console.print(ui["grading"].format(id=exercise.id, left=clock_text(budget)))
        graded_at = io.clock()
        result = grade_within(exercise, self.plan.target, budget, self.catalogue)
        result.coding_seconds = coding_seconds
        result.grading_seconds = io.clock() - graded_at
        if result.status == "out_of_time":
            result.message = ui["grading_out_of_time"]
        self.console.print(coding_line(result))
        return result


def grade_within(
    exercise: Exercise, target: Path, budget: float, catalogue: Catalogue
) -> CodingResult:
    """Grade one exercise in the isolated child; give up after ``budget`` seconds by killing
    the grading worker (the runner then stops waiting on it)."""
    from grader.sandbox.runner import TEST_TIMEOUT_S, Worker, run_checks

    box: dict = {}
    cancelled = threading.Event()

    def work() -> None:
        worker = None
        try:
            worker = Worker()
            box["worker"] = worker
            if cancelled.is_set():
                return
            verdicts = run_checks(
                [exercise.id],
                target,
                worker=worker,
                catalogue=catalogue,
                test_timeout=min(TEST_TIMEOUT_S, budget),
            )
            box["verdict"] = verdicts[exercise.id]
        except Exception as err:  # a worker killed on time, or one that failed to start
            box["error"] = err
        finally:
            if worker is not None:
                worker.close()

    thread = threading.Thread(target=work, daemon=True, name="interview-grading")
    thread.start()
    thread.join(budget)
    path = target / exercise.file
    if thread.is_alive():
        cancelled.set()
        if "worker" in box:
            box["worker"].close()
        thread.join(5)
        return CodingResult(exercise, path, "out_of_time")
    verdict = box.get("verdict")
    if verdict is None:
        return CodingResult(exercise, path, "error", message=str(box.get("error", "")))
    if target.resolve() == (PROJECT_ROOT / "exercises").resolve():
        # The same record `bertprep check` keeps: the overview shows the interview's verdict.
        progress = Progress.load()
        digest = getattr(verdict, "digest", None) or file_digest(path)  # the graded bytes
        progress.record_verdict(exercise.id, verdict.status, digest)
        progress.save()
    return CodingResult(
        exercise,
        path,
        verdict.status,
        verdict.passed,
        verdict.total,
        verdict.message,
        verdict.diagnosis_text,
    )


def run_interview(
    io: SessionIO,
    plan: InterviewPlan,
    questions: Sequence[Question],
    deck: Deck,
    catalogue: Catalogue | None = None,
) -> InterviewResult:
    """The whole session: questions, the coding round, the transcript and the debrief."""
    from grader.interview.review import report_repair

    report_repair(io, deck, plan.lang)
    result = InterviewSession(io, plan, questions, deck, catalogue).run()
    if result.turns or result.coding:
        result.transcript = save_transcript(result)
    print_debrief(io, result)
    return result


__all__ = ["InterviewPlan", "InterviewResult", "Turn", "rating_for", "run_interview"]
