"""``bertprep drill``: spaced repetition over code, driven without a terminal.

Drills run through ``run_drill`` with scripted events (each may write the drill's file first)
and a fake clock, grading in one real sandbox worker for the module; the lock and the
listings go through the command line. State lives in a temporary BERTPREP_HOME.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from rich.console import Console

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.drill.schedule import default_minutes, drill_cards, drill_deck, drill_rating, due_count
from grader.drill.session import run_drill
from grader.drill.workspace import lock, lock_path, prepare, running_drill, unlock
from grader.interview.records import InterviewPlan
from grader.interview.review import Deck
from grader.interview.session import InterviewSession
from grader.interview.terminal import ScriptedIO
from grader.progress import Progress, file_digest
from grader.sandbox.runner import Worker

CATALOGUE = load_catalogue()
LONG_AGO = "2025-01-01T09:00:00"


@pytest.fixture(scope="module")
def worker():
    with Worker() as live:
        yield live


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def passed(home: Path, *ids: str, yours: tuple[str, ...] = ()) -> None:
    """progress.json: ``ids`` passed long ago; ``yours`` passed with the file as it is now."""
    records = {i: {"status": "passed", "first_passed_at": LONG_AGO, "digest": "0" * 16}
               for i in ids}  # fmt: skip
    for exercise_id in yours:
        path = PROJECT_ROOT / "exercises" / CATALOGUE.get(exercise_id).file
        records[exercise_id] = {"status": "passed", "first_passed_at": LONG_AGO,
                                "digest": file_digest(path)}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    (home / "progress.json").write_text(json.dumps({"version": 1, "exercises": records}))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Script:
    """Drill events: every step first moves the fake clock on by ``step_s``."""

    def __init__(self, clock: Clock, steps, step_s: float = 20.0):
        self.clock, self.steps, self.step_s = clock, list(steps), step_s

    def get(self, timeout):
        self.clock.now += self.step_s
        if not self.steps:
            return ("key", "q")
        step = self.steps.pop(0)
        return step() if callable(step) else step


def save(home: Path, exercise_id: str, text: str):
    """A step that saves ``text`` as the drill's file and reports the save."""

    def step():
        exercise = CATALOGUE.get(exercise_id)
        path = sorted((home / "drills").glob(f"*-{exercise_id}"))[-1] / exercise.file
        path.write_text(text, encoding="utf-8")
        return ("file", path)

    return step


def solution(exercise_id: str) -> str:
    return (PROJECT_ROOT / "solutions" / CATALOGUE.get(exercise_id).file).read_text("utf-8")


def digests(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def drill(exercise_id: str, worker, clock: Clock, steps, **kwargs):
    output = io.StringIO()
    result = run_drill(Console(file=output, width=200, highlight=False),
                       CATALOGUE.get(exercise_id), CATALOGUE, events=Script(clock, steps),
                       worker=worker, clock=clock, editor=False, **kwargs)  # fmt: skip
    return result, output.getvalue()


# -- the rating and the schedule -----------------------------------------------------------


def test_how_a_drill_is_rated():
    limit = 600.0
    assert drill_rating(True, 200, limit, 0) == Rating.Easy
    assert drill_rating(True, 200, limit, 1) == Rating.Good  # fast, but a failing save
    assert drill_rating(True, 400, limit, 0) == Rating.Good
    assert drill_rating(True, 700, limit, 0) == Rating.Hard  # passed after the time
    assert drill_rating(False, None, limit, 0) == Rating.Again


def test_the_countdown_follows_the_exercise_size():
    minutes = {e.id: default_minutes(e) for e in CATALOGUE.exercises}
    assert all(5 <= m <= 30 for m in minutes.values())
    assert minutes["gelu"] < minutes["multi_head"] < minutes["pair_packing"]


def test_a_passed_exercise_is_due_a_day_after_its_pass_then_as_fsrs_says(home):
    passed(home, "gelu")
    progress, now = Progress.load(), datetime.now(UTC)
    cards = drill_cards(CATALOGUE, progress, drill_deck(), now)
    assert [c.exercise.id for c in cards] == ["gelu"] and cards[0].due < now
    assert due_count(CATALOGUE, progress, now) == 1
    deck = drill_deck()
    deck.rate("gelu", Rating.Good, now)
    deck.save()
    assert (home / "drills.json").is_file() and not (home / "review.json").exists()
    later = drill_cards(CATALOGUE, progress, drill_deck(), now)[0]
    assert later.due >= now + timedelta(days=1) and later.last_rating == "Good"
    assert due_count(CATALOGUE, progress, now) == 0


# -- the drill's folder: the stub, and whose are the other pieces -----------------------------


def test_the_folder_holds_the_stub_and_says_whose_each_piece_is(home):
    passed(home, "encoder_layer", yours=("multi_head",))
    exercise = CATALOGUE.get("encoder_layer")
    folder, pieces = prepare(exercise, CATALOGUE, Progress.load())
    kinds = {p.file: p.kind for p in pieces}
    assert kinds == {"e07_encoder_layer.py": "stub", "e05_multi_head.py": "yours",
                     "e02_gelu.py": "solution", "e04_attention.py": "solution",
                     "e03_padding_mask.py": "solution"}  # fmt: skip
    assert (folder / "e05_multi_head.py").read_bytes() == (
        PROJECT_ROOT / "exercises" / "e05_multi_head.py").read_bytes()  # fmt: skip
    assert (folder / "e04_attention.py").read_bytes() == (
        PROJECT_ROOT / "solutions" / "e04_attention.py").read_bytes()  # fmt: skip
    notes = (folder / "DRILL.md").read_text(encoding="utf-8")
    assert "`e05_multi_head.py`: your own file from exercises/" in notes
    assert "`e04_attention.py`: the worked solution from solutions/" in notes
    assert folder.parent == home / "drills" and folder.name.endswith("-encoder_layer")


# -- whole drills ----------------------------------------------------------------------------


def test_a_drill_saved_as_the_solution_passes_and_is_rated(home, worker):
    passed(home, "attention")
    exercise_files = sorted((PROJECT_ROOT / "exercises").glob("e0[34]_*.py"))
    before = digests(exercise_files)
    clock = Clock()
    steps = [save(home, "attention", solution("attention"))]
    result, text = drill("attention", worker, clock, steps)
    assert result.passed and result.ended == "done" and result.failing_saves == 0
    assert result.seconds == 20.0 and result.rating == Rating.Easy
    assert "attention  PASSED" in text and "rated Easy" in text
    card = drill_deck().entries["attention"]
    assert card.last_rating == "Easy" and card.reviews == 1
    log = (home / "drills" / "log.md").read_text(encoding="utf-8")
    assert "· attention · Easy" in log and "failing saves: 0" in log
    assert "softmax" in log.split("```python", 1)[1]  # the final code is in the log
    assert digests(exercise_files) == before  # exercises/ untouched
    assert running_drill("attention") is None and not lock_path("attention").exists()


def test_a_drill_left_as_the_stub_is_rated_again(home, worker):
    passed(home, "gelu")
    clock = Clock()
    result, text = drill("gelu", worker, clock, [("key", "")], minutes=5)  # Enter, then q
    assert not result.passed and result.ended == "quit" and result.rating == Rating.Again
    assert result.verdicts == ["not_started"] and result.failing_saves == 0  # not a save
    assert drill_deck().entries["gelu"].last_rating == "Again"
    assert "Not passed, 0 failing saves: rated Again" in text
    stub = sorted((home / "drills").glob("*-gelu"))[-1] / "e02_gelu.py"
    assert "NotImplementedError" in stub.read_text(encoding="utf-8")


def test_a_pass_after_the_time_is_hard_and_failing_saves_count(home, worker):
    passed(home, "gelu")
    clock = Clock()
    steps = [save(home, "gelu", "import torch\n\ndef gelu(x):\n    return torch.relu(x)\n"),
             lambda: (clock.__setattr__("now", 330.0), None)[1],  # past the 5 minutes
             save(home, "gelu", solution("gelu"))]  # fmt: skip
    result, text = drill("gelu", worker, clock, steps, minutes=5)
    assert result.passed and result.failing_saves == 1 and result.rating == Rating.Hard
    assert "Time is up" in text and "a pass from now on rates Hard" in text


def test_bad_saves_are_verdicts_and_the_drill_goes_on(home, worker):
    passed(home, "gelu")
    clock = Clock()
    loop = "def gelu(x):\n    while True:\n        pass\n"
    crash = "import os\n\ndef gelu(x):\n    os._exit(3)\n"
    steps = [save(home, "gelu", "def gelu(x:\n"), save(home, "gelu", loop),
             save(home, "gelu", crash), ("key", "h"), save(home, "gelu", solution("gelu"))]
    result, text = drill("gelu", worker, clock, steps, minutes=10, time_limit=2)
    assert result.verdicts == ["error", "error", "error", "passed"]
    assert result.failing_saves == 3 and result.rating == Rating.Good
    assert "does not parse" in text and "Hints are locked until the drill ends" in text
    saved = sorted((home / "drills").glob("*-gelu"))[-1] / "e02_gelu.py"
    assert saved.read_text(encoding="utf-8") == solution("gelu")  # the learner's last save


# -- the command line: the lock on hints and solutions, the list, the overview -----------------


def bertprep(home: Path, *args: str, stdin: str = ""):
    env = {**os.environ, "BERTPREP_HOME": str(home), "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=PROJECT_ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_hints_and_the_solution_are_locked_while_a_drill_runs(home):
    passed(home, "gelu")
    lock("gelu", home / "drills" / "somewhere")  # held by this (live) process
    try:
        hint = bertprep(home, "hint", "gelu")
        shown = bertprep(home, "solution", "gelu", "--force")
        other = bertprep(home, "hint", "attention")
    finally:
        unlock("gelu")
    assert hint.returncode == 1 and "A drill of gelu is running" in hint.stderr
    assert shown.returncode == 1 and "locked" in shown.stderr and "def gelu" not in shown.stdout
    assert other.returncode == 0 and "hint 1/3" in other.stdout
    stale = {"pid": 2**22 + 12345, "folder": "x", "started_at": LONG_AGO}  # no such process
    lock_path("gelu").write_text(json.dumps(stale))
    assert running_drill("gelu") is None
    assert bertprep(home, "hint", "gelu").returncode == 0


def test_the_list_and_the_overview_say_what_is_due(home):
    passed(home, "gelu", "attention")
    listed = bertprep(home, "drill", "--list")
    assert listed.returncode == 0 and "2 due now" in listed.stdout
    assert "gelu" in listed.stdout and "attention" in listed.stdout
    overview = bertprep(home)
    assert "2 drills are due: run `bertprep drill`" in overview.stdout
    refused = bertprep(home, "drill", "wordpiece")
    assert refused.returncode == 1 and "has not passed yet" in refused.stdout


# -- a drill as an interview's coding round ------------------------------------------------


class Typing(io.StringIO):
    """Scripted input that saves the drill's solution once the drill's folder exists (the
    learner writes it, then presses Enter)."""

    def __init__(self, text: str, home: Path, exercise_id: str):
        super().__init__(text)
        self.home, self.exercise_id, self.saved = home, exercise_id, False

    def readline(self, *args):
        if not self.saved and any((self.home / "drills").glob(f"*-{self.exercise_id}")):
            save(self.home, self.exercise_id, solution(self.exercise_id))()
            self.saved = True
        return super().readline(*args)


def test_an_interview_can_end_with_a_drill(home, tmp_path):
    from grader.interview.bank import load_bank

    passed(home, "gelu")
    questions = load_bank(Path(__file__).parent / "fixtures" / "questions")
    stdin = Typing("my answer\n\nnone\n\nn\n\n", home, "gelu")  # the last Enter: grade it
    output = io.StringIO()
    console = Console(file=output, width=200, highlight=False)
    plan = InterviewPlan(minutes=10, max_questions=1, coding=True, coding_round="drill", seed=1)
    result = InterviewSession(ScriptedIO(stdin, console), plan, questions,
                              Deck(tmp_path / "review.json")).run()  # fmt: skip
    assert result.coding is not None and result.coding.status == "passed", output.getvalue()
    assert result.coding.exercise.id == "gelu" and "drills" in str(result.coding.path)
    assert drill_deck().entries["gelu"].last_rating in ("Good", "Easy")
    assert "· gelu ·" in (home / "drills" / "log.md").read_text(encoding="utf-8")


def test_with_nothing_to_drill_the_coding_round_is_a_plain_exercise(home, tmp_path):
    from grader.interview.bank import load_bank

    questions = load_bank(Path(__file__).parent / "fixtures" / "questions")
    output = io.StringIO()
    console = Console(file=output, width=200, highlight=False)
    plan = InterviewPlan(minutes=10, max_questions=1, coding=True, coding_round="drill", seed=1)
    stdin = io.StringIO("my answer\n\nnone\n\nn\nskip\n\n")
    result = InterviewSession(ScriptedIO(stdin, console), plan, questions,
                              Deck(tmp_path / "review.json")).run()  # fmt: skip
    assert "nothing to drill" in output.getvalue()
    assert result.coding is not None and result.coding.status == "skipped"
    assert "exercises" in str(result.coding.path) and not (home / "drills").exists()
