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
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsrs import Rating
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise, load_catalogue
from grader.progress import Progress, atomic_write_text, file_digest, state_dir
from grader.question_bank import Question
from grader.review import Deck, interval_text
from grader.sessionio import SessionIO, clock_text

MIN_QUESTION_S = 30  # a question is not started with less than this left in the question phase
MIN_FOLLOW_UP_S = 30
MIN_CODING_S = 60
GRADING_FLOOR_S = 30

UI = {
    "en": {
        "title": "Mock interview",
        "plan": "{count} · {minutes} min · topics: {topics} · {answer} per answer{coding}",
        "up_to": "up to {n} questions",
        "as_time_allows": "questions as time allows",
        "with_coding": " · coding round {coding}",
        "all_topics": "all",
        "question": "Question {n}",
        "session_left": "{left} left in the session",
        "instruction": "type or speak your answer; Enter on an empty line finishes",
        "your_answer": "your answer",
        "no_answer": "(nothing typed: a spoken answer, or skipped)",
        "time_up": "Time is up for this answer: moving on.",
        "model_answer": "model answer",
        "rubric": "Rubric: which points did your answer cover?",
        "ticks_prompt": "Covered points (e.g. 1,3 · all · none): ",
        "ticks_help": "Type point numbers like 1,3 or 1-3, or all, or none.",
        "follow_up": "Follow-up",
        "follow_up_check": "Did your follow-up answer hold up? (y/n) ",
        "questions_over": "The question part of the session is over.",
        "bank_done": "No more questions in the chosen topics.",
        "stopped": "Session stopped.",
        "coding": "Coding round",
        "coding_edit": "Edit {path}, then press Enter on an empty line to grade it "
        "(it is graded when time runs out anyway; type skip to skip).",
        "coding_stuck": "Stuck? `bertprep hint {id}` in another terminal.",
        "coding_instruction": "Enter grades your file",
        "coding_none": "Every exercise already passes: no coding round.",
        "grading": "Grading {id} (time left for grading: {left})…",
        "grading_out_of_time": "the grader ran out of the session's time",
        "skipped": "skipped",
        "debrief": "Debrief",
        "score": "score",
        "answer_time": "answer",
        "total_time": "total",
        "rating": "rating",
        "next_review": "next review",
        "topic": "topic",
        "question_column": "question",
        "weakest": "Weakest topics",
        "no_weak": "none: every rubric point covered",
        "overall": "Overall: {covered}/{points} rubric points ({percent}%) in {duration}.",
        "transcript": "Transcript saved to {path}",
        "no_turns": "No question was answered.",
        "held": "held up",
        "not_held": "did not hold up",
    },
    "zh": {
        "title": "模拟面试",
        "plan": "{count} · {minutes} 分钟 · 主题：{topics} · 每题 {answer}{coding}",
        "up_to": "最多 {n} 题",
        "as_time_allows": "时间允许的题数",
        "with_coding": " · 编程环节 {coding}",
        "all_topics": "全部",
        "question": "第 {n} 题",
        "session_left": "本场剩余 {left}",
        "instruction": "输入或口述你的回答；在空行按回车结束",
        "your_answer": "你的回答",
        "no_answer": "（未输入：口头回答或跳过）",
        "time_up": "本题时间到，进入下一步。",
        "model_answer": "参考答案",
        "rubric": "评分要点：你的回答覆盖了哪几点？",
        "ticks_prompt": "覆盖的要点（如 1,3 · all · none）：",
        "ticks_help": "请输入要点编号，如 1,3 或 1-3，或 all / none。",
        "follow_up": "追问",
        "follow_up_check": "你对追问的回答站得住吗？(y/n) ",
        "questions_over": "问答环节时间到。",
        "bank_done": "所选主题的题目已全部问完。",
        "stopped": "面试已停止。",
        "coding": "编程环节",
        "coding_edit": "编辑 {path}，完成后在空行按回车评分"
        "（时间到也会自动评分；输入 skip 跳过）。",
        "coding_stuck": "卡住了？在另一个终端运行 `bertprep hint {id}`。",
        "coding_instruction": "回车开始评分",
        "coding_none": "所有练习都已通过：没有编程环节。",
        "grading": "正在评分 {id}（评分可用时间：{left}）…",
        "grading_out_of_time": "评分超出了本场剩余时间",
        "skipped": "已跳过",
        "debrief": "复盘",
        "score": "得分",
        "answer_time": "作答",
        "total_time": "总计",
        "rating": "评级",
        "next_review": "下次复习",
        "topic": "主题",
        "question_column": "题目",
        "weakest": "最薄弱的主题",
        "no_weak": "无：所有要点都已覆盖",
        "overall": "总计：{covered}/{points} 个要点（{percent}%），用时 {duration}。",
        "transcript": "记录已保存到 {path}",
        "no_turns": "没有回答任何题目。",
        "held": "站得住",
        "not_held": "站不住",
    },
}


def rating_for(covered: int, points: int) -> Rating:
    """The FSRS rating of an answer that covered ``covered`` of ``points`` rubric points
    (integer arithmetic, so 2 of 3 is two thirds exactly)."""
    if 3 * covered < points:
        return Rating.Again
    if 3 * covered < 2 * points:
        return Rating.Hard
    if covered < points:
        return Rating.Good
    return Rating.Easy


def deserves_follow_up(covered: int, points: int) -> bool:
    return 3 * covered >= 2 * points


def parse_ticks(reply: str, points: int) -> list[int] | None:
    """0-based indices of the ticked points from "1,3", "1 3", "1-3", "all" or "none";
    None when the reply is not one of those (or names a point that does not exist)."""
    text = reply.strip().lower()
    if text in ("all", "全部"):
        return list(range(points))
    if text in ("none", "0", "无"):
        return []
    chosen: set[int] = set()
    for part in re.split(r"[,\s，、]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            return None
        low, high = int(match[1]), int(match[2] or match[1])
        if not 1 <= low <= high <= points:
            return None
        chosen.update(range(low - 1, high))
    return sorted(chosen) if chosen else None


@dataclass
class InterviewPlan:
    minutes: float = 30.0
    max_questions: int | None = None
    topics: tuple[str, ...] = ()  # empty: every topic
    lang: str = "en"
    answer_seconds: float = 180.0
    coding: bool = False
    coding_minutes: float | None = None  # None: a third of the session
    exercise: str | None = None  # the coding round's exercise, when chosen by hand
    target: Path = PROJECT_ROOT / "exercises"
    seed: int | None = None

    @property
    def coding_seconds(self) -> float:
        if not self.coding:
            return 0.0
        minutes = self.coding_minutes if self.coding_minutes is not None else self.minutes / 3
        return min(minutes, self.minutes) * 60


@dataclass
class Turn:
    """One question as it was asked and answered."""

    question: Question
    answer: str
    answer_seconds: float
    timed_out: bool
    covered: list[int]  # 0-based indices of the rubric points the learner ticked
    rating: Rating
    total_seconds: float = 0.0
    follow_up: str | None = None
    follow_up_answer: str = ""
    follow_up_held: bool | None = None  # the learner's own verdict; None: not given
    next_due: datetime | None = None
    closed: bool = False  # the input ended during this turn

    @property
    def points(self) -> int:
        return len(self.question.text("en").rubric)


@dataclass
class CodingResult:
    exercise: Exercise
    path: Path
    status: str  # passed | failed | not_started | error | skipped | out_of_time
    passed: int = 0
    total: int = 0
    message: str = ""
    diagnosis: str | None = None
    coding_seconds: float = 0.0
    grading_seconds: float = 0.0


@dataclass
class InterviewResult:
    plan: InterviewPlan
    started_at: datetime
    turns: list[Turn] = field(default_factory=list)
    coding: CodingResult | None = None
    duration: float = 0.0
    stopped_early: bool = False
    transcript: Path | None = None


def draw_questions(
    questions: Sequence[Question], deck: Deck, plan: InterviewPlan, now: datetime
) -> list[Question]:
    """Due cards first, then new questions (shuffled: a real interview mixes topics), then the
    rest by due date, from the chosen topics."""
    pool = [q for q in questions if not plan.topics or q.topic in plan.topics]
    random.Random(plan.seed).shuffle(pool)
    return deck.queue(pool, now, include_later=True)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


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
        self.ui = UI[plan.lang]
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
                if turn is None:
                    result.stopped_early = True
                    break
                entry = self.deck.rate(question.id, turn.rating, io.now())
                self.deck.save()  # after every question: stopping half-way loses nothing
                turn.next_due = entry.card.due
                result.turns.append(turn)
                if turn.closed:
                    result.stopped_early = True
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
            ui["up_to"].format(n=plan.max_questions) if plan.max_questions else ui["as_time_allows"]
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
        self.console.print(
            Panel(
                Markdown(text.answer),
                title=ui["model_answer"],
                title_align="left",
                border_style="green",
            )
        )
        self.console.print(f"[bold]{ui['rubric']}[/]")
        for point_number, point in enumerate(text.rubric, start=1):
            self.console.print(f"  {point_number}. {escape(point)}")
        covered = self.ask_ticks(len(text.rubric))
        if covered is None:
            return None
        turn = Turn(
            question=question,
            answer=answer.text,
            answer_seconds=answer_seconds,
            timed_out=answer.timed_out,
            covered=covered,
            rating=rating_for(len(covered), len(text.rubric)),
            closed=answer.closed,
        )
        if deserves_follow_up(len(covered), len(text.rubric)):
            self.follow_up(turn, text.follow_ups, questions_end)
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

    def follow_up(self, turn: Turn, follow_ups: Sequence[str], questions_end: float) -> None:
        io, ui = self.io, self.ui
        turn.follow_up = self.rng.choice(list(follow_ups))
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
        reply = io.ask(ui["follow_up_check"])
        if reply is None:
            turn.closed = True
        elif reply.strip().lower()[:1] in ("y", "n", "是", "否"):
            turn.follow_up_held = reply.strip().lower()[:1] in ("y", "是")

    def pick_exercise(self, turns: Sequence[Turn]) -> Exercise | None:
        """The chosen exercise; else one from a coding question of this session or of the
        chosen topics that is not passed yet; else the next exercise not passed."""
        if self.plan.exercise:
            return self.catalogue.get(self.plan.exercise)
        from grader.cli import next_exercise

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
                f"[bold]{escape(exercise.title)}[/] ({exercise.id})\n{escape(exercise.summary)}\n\n"
                f"{escape(ui['coding_edit'].format(path=_display_path(path)))}\n"
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
    from grader.runner import TEST_TIMEOUT_S, Worker, run_checks

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
        progress.record_verdict(exercise.id, verdict.status, file_digest(path))
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


def print_debrief(io: SessionIO, result: InterviewResult) -> None:
    ui = UI[result.plan.lang]
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
            table.add_column(column)
        for number, turn in enumerate(result.turns, start=1):
            marks = "".join("✓" if i in turn.covered else "✗" for i in range(turn.points))
            table.add_row(
                str(number),
                turn.question.id,
                turn.question.topic,
                f"{len(turn.covered)}/{turn.points} {marks}",
                clock_text(turn.answer_seconds) + (" ⏱" if turn.timed_out else ""),
                clock_text(turn.total_seconds),
                turn.rating.name,
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
    plan, ui = result.plan, UI[result.plan.lang]
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
            f"**{_heading(ui['score'])}: {len(turn.covered)}/{turn.points} → {turn.rating.name}**"
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
            f"- file: `{_display_path(coding.path)}`",
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
                f"{clock_text(turn.total_seconds)} | {turn.rating.name} |"
            )
        weak = weakest_topics(result.turns)
        listed = ", ".join(f"{topic} {_percent(c, p)}% ({c}/{p})" for topic, c, p in weak)
        out += ["", f"**{ui['weakest']}:** {listed or ui['no_weak']}", ""]
    return "\n".join(out)


def save_transcript(result: InterviewResult, folder: Path | None = None) -> Path:
    """Write the transcript atomically to ``.bertprep/interviews/<timestamp>.md``."""
    folder = folder or state_dir() / "interviews"
    stamp = f"{result.started_at.astimezone():%Y%m%d-%H%M%S}"
    path = folder / f"{stamp}.md"
    suffix = 2
    while path.exists():  # two sessions in one second (scripts, tests) keep both transcripts
        path = folder / f"{stamp}-{suffix}.md"
        suffix += 1
    atomic_write_text(path, transcript_markdown(result))
    return path


def run_interview(
    io: SessionIO,
    plan: InterviewPlan,
    questions: Sequence[Question],
    deck: Deck,
    catalogue: Catalogue | None = None,
) -> InterviewResult:
    """The whole session: questions, the coding round, the transcript and the debrief."""
    from grader.review import report_repair

    report_repair(io, deck, plan.lang)
    result = InterviewSession(io, plan, questions, deck, catalogue).run()
    if result.turns or result.coding:
        result.transcript = save_transcript(result)
    print_debrief(io, result)
    return result


__all__ = ["InterviewPlan", "InterviewResult", "Turn", "rating_for", "run_interview"]
