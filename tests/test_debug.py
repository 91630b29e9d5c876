"""``bertprep debug``: the bug pool, the broken file, and grading it on the real weights.

Most tests grade in-process (``compare.grade_file``, the same code the sandbox child runs)
with the real weights loaded once for the module; the tests of bad input, of a whole round
and of the command line go through the sandbox worker, as the learner's file does.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.debug import bugs as pool
from grader.debug.bugs import BUGS, BY_ID, MAX_BUGS, apply_bugs, broken_source, choose_bugs
from grader.debug.compare import (
    COARSE,
    TOLERANCE,
    build,
    checkpoint,
    fixed_inputs,
    grade_file,
    load_clean,
    record,
)
from grader.debug.report import remaining
from grader.debug.round import DebugRound, finish, follow_up_questions, play_round
from grader.sandbox.runner import Worker

CLEAN = pool.clean_source()


@pytest.fixture(scope="module")
def state():
    return checkpoint()


@pytest.fixture(scope="module")
def worker():
    with Worker() as live:
        yield live


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def first_divergence(result: dict) -> str | None:
    return next((row["name"] for row in result.get("modules", []) if row.get("first")), None)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- the pool and the file made from it ------------------------------------------------------


def test_the_pool_has_fifteen_kinds_or_more_each_explained():
    catalogue = load_catalogue()
    assert len(BUGS) >= 15 and len(BY_ID) == len(BUGS)
    for bug in BUGS:
        assert (PROJECT_ROOT / "docs" / "en" / bug.docs).is_file(), bug.docs
        if bug.id in catalogue.mistakes:  # the catalogue's id: the docs of an exercise that has it
            pages = {e.docs for e in catalogue.exercises if bug.id in e.mistakes}
            assert bug.docs in pages, (bug.id, pages)
        assert bug.title and bug.fix and COARSE.fullmatch(bug.first_divergence)


def test_every_pair_of_compatible_bugs_makes_valid_python():
    for a, b in itertools.combinations(BUGS, 2):
        if not pool.conflict(a, b):
            source = apply_bugs(CLEAN, [a, b])  # compiles, or raises
            assert apply_bugs(source, [a, b], reverse=True) == CLEAN


def test_a_seed_always_picks_the_same_bugs_with_distinct_sites():
    for seed in range(40):
        chosen = choose_bugs(MAX_BUGS, seed)
        assert [b.id for b in chosen] == [b.id for b in choose_bugs(MAX_BUGS, seed)]
        units = [unit for bug in chosen for unit in bug.units]
        assert len(chosen) == MAX_BUGS and len(units) == len(set(units))
        compile(broken_source(chosen, seed), "broken_bert.py", "exec")
    assert len({tuple(b.id for b in choose_bugs(4, seed)) for seed in range(40)}) > 20
    with pytest.raises(ValueError):
        choose_bugs(MAX_BUGS + 1, 0)


def test_the_file_handed_out_does_not_name_its_bugs():
    source = broken_source(choose_bugs(MAX_BUGS, 3), 3)
    for bug in BUGS:
        assert bug.id not in source and bug.title not in source


# -- what grading compares with --------------------------------------------------------------


def test_the_reference_and_the_clean_template_equal_transformers_on_the_fixed_inputs(state):
    """The grader compares with reference.BertModel; this is the proof that doing so is
    comparing with transformers' BertModel (and that the clean template is BERT)."""
    transformers = pytest.importorskip("transformers")
    from reference import BertModel, minilm_dir

    inputs = fixed_inputs()
    assert inputs["token_type_ids"].any() and not inputs["attention_mask"].all()
    hf = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()
    with torch.no_grad():
        want = hf(**inputs)
    keep = inputs["attention_mask"].bool()
    for model in (build(BertModel, state), build(load_clean().BertModel, state)):
        (last, pooled), _, _ = record(model, inputs)
        assert (last - want.last_hidden_state)[keep].abs().max() < 1e-5
        assert (pooled - want.pooler_output).abs().max() < 1e-5


# -- every bug alone: the right first divergence, and the fix passes -------------------------


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_each_bug_alone_diverges_where_it_lives_and_its_fix_passes(bug, state, tmp_path):
    broken = write(tmp_path / "broken_bert.py", broken_source([bug], 1))
    result = grade_file(broken, [bug.id], state)
    assert not result["passed"] and "error" not in result
    assert first_divergence(result) == bug.first_divergence
    assert result["bugs"][bug.id]["status"] == "remaining"
    assert max(d for d in result["outputs"].values()) > TOLERANCE
    fixed = write(broken, apply_bugs(broken.read_text(encoding="utf-8"), [bug], reverse=True))
    result = grade_file(fixed, [bug.id], state)
    assert result["passed"] and first_divergence(result) is None
    assert remaining(result) == 0


def test_a_round_of_k_bugs_counts_down_as_they_are_fixed(state, tmp_path):
    chosen = choose_bugs(5, seed=11)
    path = write(tmp_path / "broken_bert.py", broken_source(chosen, 11))
    ids = [b.id for b in chosen]
    counts = [remaining(grade_file(path, ids, state))]
    for bug in random.Random(0).sample(chosen, len(chosen)):
        write(path, apply_bugs(path.read_text(encoding="utf-8"), [bug], reverse=True))
        result = grade_file(path, ids, state)
        counts.append(remaining(result))
        assert result["bugs"][bug.id]["status"] == "fixed"
    assert counts == [5, 4, 3, 2, 1, 0] and result["passed"]


def test_a_fix_counts_by_what_the_code_does_not_how_it_is_written(state, tmp_path):
    bugs = [BY_ID["unscaled_scores"], BY_ID["layernorm_bessel_variance"]]
    path = write(tmp_path / "broken_bert.py", broken_source(bugs, 2))
    text = path.read_text(encoding="utf-8")
    text = text.replace("return query @ key.transpose(-2, -1)\n",
                        "scale = self.head_size**-0.5\n        return (query * scale) @ key.mT\n")
    text = text.replace("var = x.var(dim=-1, keepdim=True)",
                        "var = torch.var(x, dim=-1, keepdim=True, correction=0)")  # fmt: skip
    result = grade_file(write(path, text), [b.id for b in bugs], state)
    assert result["passed"] and remaining(result) == 0


def test_a_fix_through_a_helper_method_the_learner_added_counts(state, tmp_path):
    bug, other = BY_ID["mha_merge_without_transpose"], BY_ID["gelu_tanh_approximation"]
    path = write(tmp_path / "broken_bert.py", broken_source([bug, other], 6))
    text = path.read_text(encoding="utf-8").replace(
        "return x.reshape(batch, seq, self.num_heads * self.head_size)",
        "return self._heads_last(x).reshape(batch, seq, -1)\n\n"
        "    def _heads_last(self, x):\n        return x.permute(0, 2, 1, 3)",
    )
    result = grade_file(write(path, text), [bug.id, other.id], state)
    assert result["bugs"][bug.id]["status"] == "fixed"
    assert result["bugs"][other.id]["status"] == "remaining"
    assert remaining(result) == 1 and not result["passed"]


def test_a_new_bug_in_a_fixed_place_keeps_it_counted(state, tmp_path):
    bug = BY_ID["softmax_over_queries"]
    path = write(tmp_path / "broken_bert.py", broken_source([bug], 5))
    text = path.read_text(encoding="utf-8").replace("dim=-2)", "dim=-1) * 1.01")
    result = grade_file(write(path, text), [bug.id], state)
    assert not result["passed"] and result["bugs"][bug.id]["status"] == "remaining"


# -- bad input, in the sandbox: a message, never a lost file ----------------------------------

BAD = {
    "syntax": ("import math\n", "import math\ndef broken(:\n", "does not parse at line"),
    "loop": ("        return self.dense(hidden_states[:, 0])",
             "        while True:\n            pass", "built and run"),
    "exit": ("import math\n", "import math, os\nos._exit(0)\n", "run as a module"),
    "crash": ("import math\n", "import math, os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
              "run as a module"),
    "raises": ("        return self.dense(hidden_states[:, 0])",
               "        raise RuntimeError('boom')", "RuntimeError: boom"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_is_a_message_and_the_file_is_kept(kind, worker, tmp_path):
    from grader.debug.grading import check_file

    old, new, said = BAD[kind]
    bug = BY_ID["pooler_missing_tanh"]
    text = broken_source([bug], 4)
    assert text.count(old) == 1
    path = write(tmp_path / "broken_bert.py", text.replace(old, new))
    before = path.read_bytes()
    result = check_file(path, [bug.id], worker, time_limit=3)
    assert said in result["error"]["message"], result
    assert not result.get("passed")
    assert path.read_bytes() == before
    if kind == "raises":  # the code runs, so the bugs can still be counted
        assert remaining(result) == 1


# -- a whole round: checks on every save, a hint, the debrief ---------------------------------


class Script:
    """Events for a round: each step may change the file, then returns an event."""

    def __init__(self, steps):
        self.steps = list(steps)

    def get(self, timeout):
        if not self.steps:
            return ("key", "q")
        step = self.steps.pop(0)
        return step() if callable(step) else step


def test_a_round_checks_each_save_gives_hints_and_ends_with_a_debrief(home, worker):
    round_ = DebugRound.create(bugs=2, seed=21, minutes=10)
    assert round_.path.parent.parent == home / "debug"
    output = io.StringIO()
    console = Console(file=output, width=200, highlight=False)

    def fix(bug_id):
        def step():
            text = round_.path.read_text(encoding="utf-8")
            write(round_.path, apply_bugs(text, [BY_ID[bug_id]], reverse=True))
            return ("file", round_.path)

        return step

    first, second = round_.bugs
    events = Script([("key", "h"), fix(first), ("file", round_.path), ("key", "h"), fix(second)])
    result, reason = play_round(console, round_, worker, events)
    assert reason == "done" and result["passed"]
    text = output.getvalue()
    assert "2 of 2 bugs remain" in text and "1 of 2 bugs remain" in text
    assert "0 of 2 bugs remain" in text and "<- first divergence" in text
    saved = json.loads((round_.folder / "round.json").read_text(encoding="utf-8"))
    assert [c["remaining"] for c in saved["checks"]] == [2, 1, 0]  # the repeat save: not graded
    assert [h["bug"] for h in saved["hints"]] == [first, second]
    assert "Hint: one bug is in" in text
    path = finish(console, DebugRound.load(round_.folder), result, reason)
    debrief = path.read_text(encoding="utf-8")
    for bug_id in round_.bugs:
        assert f"`{bug_id}`" in debrief and f"docs/en/{BY_ID[bug_id].docs}" in debrief
    assert "## Your file at the end" in debrief
    questions = follow_up_questions()
    assert len(questions) == 2
    assert any("kv-cache" in q.id or "kv-cache" in q.tags for q in questions[:1])
    assert all(f"## Follow-up: {q.id}" in debrief for q in questions)


def test_the_command_runs_a_round_and_checks_a_file(home, tmp_path):
    env = {**os.environ, "BERTPREP_HOME": str(home), "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}

    def bertprep(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=PROJECT_ROOT,
                              env=env, input=stdin, capture_output=True, text=True,
                              timeout=300)  # fmt: skip

    ran = bertprep("debug", "--bugs", "3", "--seed", "8", "--no-editor", stdin="h\nq\n")
    assert ran.returncode == 1, ran.stderr
    assert "3 of 3 bugs remain" in ran.stdout and "Hint: one bug is in" in ran.stdout
    assert "Debrief" in ran.stdout and "You fixed 0 of 3 bugs" in ran.stdout
    folder = next((home / "debug").glob("*-8"))
    clean = write(tmp_path / "mine.py", CLEAN)
    checked = bertprep("debug", "--check", str(clean))
    assert checked.returncode == 0 and "is BERT again" in checked.stdout, checked.stdout
    again = bertprep("debug", "--check")  # the latest round's file, untouched
    assert again.returncode == 1 and "3 of 3 bugs remain" in again.stdout
    assert (folder / "broken_bert.py").read_text(encoding="utf-8") == broken_source(
        choose_bugs(3, 8), 8
    )


class FixingInput(io.StringIO):
    """Scripted interview input that fixes every bug of the round once its file exists."""

    def __init__(self, text: str, home: Path):
        super().__init__(text)
        self.home, self.fixed = home, False

    def readline(self, *args):
        rounds = list((self.home / "debug").glob("*/round.json"))
        if rounds and not self.fixed:
            round_ = DebugRound.load(rounds[0].parent)
            text = round_.path.read_text(encoding="utf-8")
            bugs = [BY_ID[b] for b in round_.bugs]
            write(round_.path, apply_bugs(text, bugs, reverse=True))
            self.fixed = True
        return super().readline(*args)


def test_an_interview_can_end_with_a_debug_round(home, tmp_path):
    from grader.interview.bank import load_bank
    from grader.interview.records import InterviewPlan
    from grader.interview.review import Deck
    from grader.interview.session import InterviewSession
    from grader.interview.terminal import ScriptedIO

    questions = load_bank(Path(__file__).parent / "fixtures" / "questions")
    output = io.StringIO()
    console = Console(file=output, width=200, highlight=False)
    plan = InterviewPlan(minutes=10, max_questions=1, coding=True, coding_round="debug", seed=4)
    stdin = FixingInput("my answer\n\nnone\n\nn\n\n", home)  # the last Enter: check it
    result = InterviewSession(ScriptedIO(stdin, console), plan, questions,
                              Deck(tmp_path / "review.json")).run()  # fmt: skip
    text = output.getvalue()
    assert result.coding is not None and result.coding.status == "passed", text
    assert result.coding.exercise.id == "debug-round" and "Debrief" in text
    assert "You fixed 3 of 3 bugs" in text
    assert list((home / "debug").glob("*/debrief.md"))
