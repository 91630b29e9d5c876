"""``bertprep interview`` and ``bertprep review`` driven end to end: scripted stdin (not a
terminal) through the real CLI, an injected clock for the time limits, and a real terminal
through tmux. Every test uses the small fixture bank in tests/fixtures/questions/."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from rich.console import Console

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.interview.bank import load_bank
from grader.interview.review import Deck, run_review
from grader.interview.session import (
    InterviewPlan,
    InterviewSession,
    draw_questions,
    grade_within,
    parse_ticks,
    rating_for,
    run_interview,
)
from grader.interview.terminal import LineEditor, ScriptedIO

FIXTURES = Path(__file__).parent / "fixtures" / "questions"
BANK = ["--bank", str(FIXTURES)]
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MLM_IDS = {"fixture-mlm-80-10-10", "fixture-mlm-code"}


def bertprep(*args: str, home: Path, stdin: str = "", timeout: float = 120):
    env = {**os.environ, "BERTPREP_HOME": str(home), "COLUMNS": "250", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def lines(*items: str) -> str:
    return "\n".join(items) + "\n"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture(scope="module")
def bank():
    return load_bank(FIXTURES)


def transcript_of(home: Path) -> str:
    transcripts = sorted((home / "interviews").glob("*.md"))
    assert len(transcripts) == 1, transcripts
    return transcripts[0].read_text(encoding="utf-8")


def cards(home: Path) -> dict[str, dict]:
    return json.loads((home / "review.json").read_text(encoding="utf-8"))["cards"]


# -- the rubric -> FSRS rating mapping --------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "ratings"),
    [
        (3, ["Again", "Hard", "Good", "Easy"]),
        (4, ["Again", "Again", "Hard", "Good", "Easy"]),
        (5, ["Again", "Again", "Hard", "Hard", "Good", "Easy"]),
    ],
)
def test_rubric_coverage_maps_to_fsrs_ratings(points, ratings):
    assert [rating_for(covered, points).name for covered in range(points + 1)] == ratings


def test_rubric_ticks_are_parsed_or_refused():
    assert parse_ticks("1,3", 4) == [0, 2]
    assert parse_ticks(" 3 1 ", 4) == [0, 2]
    assert parse_ticks("1-3", 4) == [0, 1, 2]
    assert parse_ticks("ALL", 3) == [0, 1, 2]
    assert parse_ticks("none", 3) == []
    assert parse_ticks("1，2", 3) == [0, 1]  # a Chinese keyboard's comma
    for refused in ("", "5", "0-2", "one", "1,x", "3-1"):
        assert parse_ticks(refused, 4) is None, refused


def test_the_line_editor_handles_keys_of_a_real_terminal():
    editor = LineEditor()
    typed = "first\x1b[Dlinee\x7f\nsecond 中文\n\x7f\x7fnd\n"  # arrow key, backspaces
    finished = [editor.feed(char) for char in typed]
    assert editor.text() == "firstline\nsecond 中nd"  # the first backspace joins the lines
    assert not any(finished)
    assert editor.feed("\n") is True  # Enter on an empty line finishes


# -- a whole interview through the CLI, stdin not a terminal ---------------------------------


def test_a_whole_interview_session_from_scripted_stdin(home):
    script = lines(
        "[MASK] is never seen when fine-tuning,",  # answer to question 1, two lines
        "so 10% stay and 10% are random.",
        "",
        "all",  # every rubric point: Easy, and a follow-up
        "Masking half would leave too little context.",
        "",
        "y",  # the follow-up held up
        "",  # question 2: answered aloud
        "2",  # one point of three: Hard, and a probe of the first point it missed
        "Only the selected tokens count.",
        "",
        "n",  # the probe's answer did not cover the point either
    )
    result = bertprep("interview", *BANK, "--topics", "mlm", "--seed", "7", home=home, stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first, second = re.findall(r"^## \d\. (\S+)", transcript_of(home), flags=re.MULTILINE)
    assert {first, second} == MLM_IDS
    bank = {q.id: q for q in load_bank(FIXTURES)}
    for question_id in (first, second):
        text = bank[question_id].text("en")
        assert text.question in out
        assert text.answer.split()[2] in out  # the model answer is shown
        assert text.rubric[0] in out
    # The strong answer got one of its follow-ups; the weak one a probe of what it missed.
    assert out.count("Follow-up") == 2
    assert any(f in out for f in bank[first].text("en").follow_ups)
    assert not any(f in out for f in bank[second].text("en").follow_ups)
    missed = bank[second].text("en").rubric[0]
    assert "You did not get to this point:" in out
    assert f"You did not get to this point: {missed}" in transcript_of(home)
    # The debrief: score per question and rubric point, time, weakest topics, transcript.
    debrief = out.split("Debrief")[1]
    assert re.search(rf"{first}\s.*3/3 ✓✓✓.*Easy", debrief)
    assert re.search(rf"{second}\s.*1/3 ✗✓✗.*Hard", debrief)
    assert "Weakest topics: mlm 67% (4/6)" in debrief
    assert "Overall: 4/6 rubric points (67%)" in debrief
    assert "Transcript saved to" in debrief and str(home / "interviews") in debrief
    # The transcript keeps the answers, the ticks, the follow-up and the debrief table.
    transcript = transcript_of(home)
    assert (
        "> [MASK] is never seen when fine-tuning,\n> so 10% stay and 10% are random." in transcript
    )
    assert "> Masking half would leave too little context." in transcript
    assert "(held up)" in transcript
    assert "_(nothing typed: a spoken answer, or skipped)_" in transcript
    assert transcript.count("- [x]") == 4 and transcript.count("- [ ]") == 2
    assert f"| 1 | {first} | mlm | 3/3 |" in transcript
    # Both questions are now FSRS cards, rated from the rubric.
    assert {k: v["last_rating"] for k, v in cards(home).items()} == {first: "Easy", second: "Hard"}


def test_an_answer_ends_at_an_empty_line_and_input_ending_before_the_rubric_is_kept(home):
    # "1 2" was meant as the ticks, but an answer runs until an empty line: it is the
    # answer's second line, and the input then ends at the rubric prompt.
    result = bertprep("interview", *BANK, "--topics", "mlm", "--seed", "7", home=home,
                      stdin="my answer\n1 2\n\n")  # fmt: skip
    assert "an empty line ends it" in result.stdout  # the prompt says how an answer ends
    assert result.returncode == 1
    assert "The input ended before the session finished" in result.stderr
    transcript = transcript_of(home)
    assert "> my answer\n> 1 2" in transcript
    assert "not self-assessed" in transcript
    # nothing was rated: the learner never ticked the rubric
    assert not (home / "review.json").exists() or cards(home) == {}


def test_the_input_ending_mid_session_keeps_what_was_answered(home):
    script = lines("An answer.", "", "1-2")  # then the script ends inside question 2
    result = bertprep(
        "interview", *BANK, "--topics", "attention", "--seed", "1", home=home, stdin=script
    )
    assert result.returncode == 1, result.stderr
    assert "The input ended before the session finished" in result.stderr
    assert len(cards(home)) == 1
    transcript = transcript_of(home)
    assert "questions answered: 1" in transcript and "stopped early" in transcript


def test_due_cards_come_first_then_new_ones(bank, tmp_path):
    deck = Deck(tmp_path / "review.json")
    deck.rate("fixture-mlm-code", Rating.Again, NOW - timedelta(hours=1))  # due again by now
    deck.rate("fixture-attention-mask", Rating.Easy, NOW - timedelta(hours=1))  # due in days
    for seed in range(5):
        queue = [q.id for q in draw_questions(bank, deck, InterviewPlan(seed=seed), NOW)]
        assert queue[0] == "fixture-mlm-code"
        assert set(queue[1:3]) == {"fixture-attention-scaling", "fixture-mlm-80-10-10"}
        assert queue[3] == "fixture-attention-mask"
    only_attention = draw_questions(bank, deck, InterviewPlan(topics=("attention",)), NOW)
    assert {q.topic for q in only_attention} == {"attention"}


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


class SlowTyping(io.StringIO):
    """Scripted lines that each take ``seconds`` of the fake clock to type."""

    def __init__(self, text: str, clock: FakeClock, seconds: float):
        super().__init__(text)
        self.clock, self.seconds = clock, seconds

    def readline(self, *args) -> str:
        self.clock.seconds += self.seconds
        return super().readline(*args)


def test_time_up_moves_on_and_the_session_clock_ends_the_questions(bank, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path / "state"))
    clock = FakeClock()
    output = io.StringIO()
    session_io = ScriptedIO(
        SlowTyping(lines("one", "two", "three", "four", "none"), clock, seconds=25),
        Console(file=output, width=120),
        clock=clock,
        now=lambda: NOW,
    )
    plan = InterviewPlan(minutes=2, answer_seconds=60, seed=1)
    result = run_interview(session_io, plan, bank, Deck(tmp_path / "review.json"))
    # 25 s a line: three lines fit in the 60 s answer, the fourth is past the deadline.
    [turn] = result.turns
    assert turn.timed_out and turn.answer == "one\ntwo\nthree"
    assert turn.covered == [] and turn.rating == Rating.Again
    text = output.getvalue()
    assert "Time is up for this answer" in text
    # 100 s in, 20 s of a 2-minute session is too little for another question.
    assert "The question part of the session is over." in text
    assert result.transcript is not None and result.transcript.exists()


# -- the coding round ----------------------------------------------------------------------


def test_the_coding_round_is_graded_by_the_grader(home):
    # "none": a weak answer, so a probe follows (answered aloud: an empty line, then "n");
    # the last Enter grades my file.
    script = lines("GELU with erf.", "", "none", "", "n", "")
    result = bertprep(
        "interview",
        *BANK,
        "--topics",
        "mlm",
        "--questions",
        "1",
        "--minutes",
        "5",
        "--coding",
        "--exercise",
        "gelu",
        "--target",
        "solutions",
        home=home,
        stdin=script,
    )
    assert result.returncode == 0, result.stderr
    assert "Edit solutions/e02_gelu.py" in result.stdout
    assert re.search(r"Coding round: gelu PASSED\s+\d+/\d+ checks", result.stdout)
    transcript = transcript_of(home)
    assert "## Coding round: gelu" in transcript and "- verdict: **passed**" in transcript


def test_grading_gives_up_when_the_time_is_spent():
    exercise = load_catalogue().get("gelu")
    started = time.monotonic()
    result = grade_within(exercise, PROJECT_ROOT / "solutions", 0.05, load_catalogue())
    assert result.status == "out_of_time"
    assert time.monotonic() - started < 10  # the worker was stopped, not waited for


def test_the_coding_exercise_comes_from_a_coding_question(bank, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path / "state"))
    session = InterviewSession(
        ScriptedIO(io.StringIO(), Console(file=io.StringIO())),
        InterviewPlan(coding=True, topics=("mlm",)),
        bank,
        Deck(tmp_path / "review.json"),
    )
    assert session.pick_exercise([]).id == "gelu"  # fixture-mlm-code's exercise


# -- review: FSRS ratings, due counts, the state file ------------------------------------


def test_review_rates_cards_and_the_due_counts_follow(home):
    first = bertprep("review", *BANK, "--limit", "2", home=home, stdin=lines("", "x", "1", "", "e"))
    assert first.returncode == 0, first.stderr
    assert "Review: 0 due · 4 new · 0 later" in first.stdout
    assert "Type 1, 2, 3 or 4" in first.stdout  # "x" is not a rating
    assert "Reviewed 2. Now: 0 due · 2 new · 2 later" in first.stdout
    ratings = {k: v["last_rating"] for k, v in cards(home).items()}
    assert sorted(ratings.values()) == ["Again", "Easy"]
    again = next(k for k, v in ratings.items() if v == "Again")
    # Let time pass for the Again card: it is due now, and it comes first.
    state = json.loads((home / "review.json").read_text(encoding="utf-8"))
    state["cards"][again]["card"]["due"] = "2000-01-01T00:00:00+00:00"
    (home / "review.json").write_text(json.dumps(state), encoding="utf-8")
    second = bertprep("review", *BANK, home=home, stdin=lines("", "g", "q"))
    assert "Review: 1 due · 2 new · 1 later" in second.stdout
    assert f"1/3 {again.split('-')[1]} " in second.stdout and f"· due · {again}" in second.stdout
    assert "Reviewed 1. Now: 0 due · 2 new · 2 later" in second.stdout
    assert cards(home)[again]["reviews"] == 2


def test_a_corrupt_review_file_keeps_every_readable_card(home):
    bertprep("review", *BANK, "--limit", "3", home=home, stdin=lines("", "3", "", "3", "", "3"))
    path = home / "review.json"
    original = path.read_text(encoding="utf-8").splitlines()
    assert len(original) == 5  # header, three cards, footer
    victim = json.loads(original[2].split(":")[0])
    # One card's line cut short and the closing braces gone: the file is not JSON any more.
    damaged = "\n".join([*original[:2], original[2][:45], original[3]]) + "\n"
    path.write_text(damaged, encoding="utf-8")
    result = bertprep("review", *BANK, home=home, stdin=lines("q"))
    assert result.returncode == 0, result.stderr
    assert f"review.json was damaged: recovered 2 cards; could not read: {victim}" in result.stdout
    assert (home / "review.json.corrupt").read_text(encoding="utf-8") == damaged
    survivors = {json.loads(line.split(":")[0]) for line in (original[1], original[3])}
    assert set(cards(home)) == survivors  # repaired on disk, valid JSON again
    assert "Review: 0 due · 2 new · 2 later" in result.stdout


def test_deck_recovery_cases(tmp_path):
    path = tmp_path / "review.json"
    # Missing file: a fresh start, and nothing written until there is something to keep.
    assert Deck.load(path).entries == {} and not path.exists()
    deck = Deck(path)
    for question_id in ("a", "b", "c"):
        deck.rate(question_id, Rating.Good, NOW)
    deck.save()
    # Valid JSON, one bad card: only that card is lost.
    state = json.loads(path.read_text(encoding="utf-8"))
    state["cards"]["b"]["card"]["due"] = "yesterday"
    path.write_text(json.dumps(state), encoding="utf-8")
    repaired = Deck.load(path)
    assert set(repaired.entries) == {"a", "c"} and repaired.lost == ["b"]
    assert set(Deck.load(path).entries) == {"a", "c"}  # and the repair was saved
    # Not JSON at all: a fresh start, the garbage kept aside (the first damaged copy too).
    path.write_bytes(b"\x00\xffnot json")
    assert Deck.load(path).entries == {}
    assert (tmp_path / "review.json.corrupt-2").read_bytes() == b"\x00\xffnot json"
    assert b'"yesterday"' in (tmp_path / "review.json.corrupt").read_bytes()


def test_two_sessions_at_once_do_not_undo_each_others_ratings(tmp_path):
    path = tmp_path / "review.json"
    review, interview = Deck.load(path), Deck.load(path)
    review.rate("a", Rating.Good, NOW)
    review.save()
    interview.rate("b", Rating.Hard, NOW)
    interview.save()
    assert set(Deck.load(path).entries) == {"a", "b"}


def test_review_in_process_with_a_fixed_clock(bank, tmp_path):
    output = io.StringIO()
    session_io = ScriptedIO(
        io.StringIO(lines("", "4")), Console(file=output, width=120), now=lambda: NOW
    )
    deck = Deck(tmp_path / "review.json")
    assert run_review(session_io, bank, deck, limit=1) == 1
    [entry] = deck.entries.values()
    assert entry.last_rating == "Easy" and entry.card.due > NOW + timedelta(days=1)


# -- --lang zh ------------------------------------------------------------------------------


def test_lang_zh_shows_chinese_questions_and_answers(home, bank):
    result = bertprep(
        "interview",
        *BANK,
        "--lang",
        "zh",
        "--topics",
        "attention",
        "--questions",
        "1",
        home=home,
        stdin=lines("我的回答", "", "none", "", "n"),
    )
    assert result.returncode == 0, result.stderr
    attention = [q for q in bank if q.topic == "attention"]
    assert any(q.text("zh").question in result.stdout for q in attention)
    assert not any(q.text("en").question in result.stdout for q in attention)
    assert "参考答案" in result.stdout and "复盘" in result.stdout
    assert "> 我的回答" in transcript_of(home)
    review = bertprep(
        "review", *BANK, "--lang", "zh", "--limit", "1", home=home, stdin=lines("", "2")
    )
    assert "复习" in review.stdout and "本次复习 1 张" in review.stdout
    assert any(q.text("zh").answer in review.stdout for q in bank)


def test_bad_options_are_refused(home):
    assert bertprep("review", *BANK, "--lang", "fr", home=home).returncode == 2
    unknown = bertprep("interview", *BANK, "--topics", "optics", home=home)
    assert unknown.returncode == 2 and "known: attention, mlm" in unknown.stderr


# -- a real terminal ------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket) running one command in a detached session."""

    def __init__(self, command: str, cwd: Path):
        self.socket = f"bertprep-test-{os.getpid()}"
        self.run("new-session", "-d", "-s", "t", "-x", "160", "-y", "60", "-c", str(cwd), command)

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t", "-S", "-500")

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        pytest.fail(f"the terminal never showed {pattern!r}; it shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def test_interview_in_a_real_terminal(home):
    if shutil.which("tmux") is None:
        pytest.fail(
            "tmux is missing: this test drives `bertprep interview` in a real terminal. "
            "Install it: `apt-get install tmux` (Debian/Ubuntu package: tmux)."
        )
    command = shlex.join(
        [
            "env",
            f"BERTPREP_HOME={home}",
            sys.executable,
            "-m",
            "grader.cli",
            "interview",
            *BANK,
            "--topics",
            "mlm",
            "--answer-seconds",
            "10",
            "--seed",
            "3",
        ]
    )
    tmux = Tmux(f"{command}; echo INTERVIEW-EXITED-$?; sleep 600", PROJECT_ROOT)
    try:
        # Question 1: a live countdown that goes down while the learner types.
        before = int(tmux.wait_for(r"⏱ 0:(\d\d)").split("⏱ 0:")[1][:2])
        tmux.keys("typed in a real terminall", literal=True)
        tmux.keys("BSpace")
        tmux.wait_for(r"typed in a real terminal▏")
        time.sleep(1.2)
        after = int(tmux.screen().split("⏱ 0:")[1][:2])
        assert after < before
        tmux.keys("Enter")
        tmux.keys("second line", literal=True)
        tmux.keys("Enter")
        tmux.keys("Enter")  # an empty line finishes the answer
        tmux.wait_for("model answer")
        tmux.keys("all", "Enter")
        tmux.wait_for("Follow-up")
        tmux.wait_for(r"⏱ 0:\d\d")
        tmux.keys("a follow-up answer", literal=True)
        tmux.keys("Enter", "Enter")
        tmux.wait_for(r"\(y/n\)")
        tmux.keys("y", "Enter")
        # Question 2: nobody types; after 10 s the session moves on by itself.
        tmux.wait_for("Question 2")
        tmux.wait_for("Time is up for this answer", timeout=20)
        tmux.wait_for("Covered points")
        tmux.keys("none", "Enter")
        # A weak answer is probed on the first rubric point it missed.
        tmux.wait_for("You did not get to this point")
        tmux.keys("Enter", "Enter")
        tmux.wait_for(r"\(y/n\)")
        tmux.keys("n", "Enter")
        screen = tmux.wait_for("INTERVIEW-EXITED-0")
        assert "Debrief" in screen and "Transcript saved to" in screen
    finally:
        tmux.close()
    transcript = transcript_of(home)
    assert "> typed in a real terminal\n> second line" in transcript
    assert "> a follow-up answer" in transcript
    assert "time ran out" in transcript
