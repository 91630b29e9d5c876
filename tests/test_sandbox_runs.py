"""A verdict belongs to exactly the code that was graded (issue 9 B5, B6, B8, B10).

Each test grades a scratch copy of solutions/ with one file changed, in a warm worker as
``bertprep check`` and ``watch`` do. No test asserts a wall-clock time; the waits below are
generous bounds that only keep a broken grader from hanging the suite.
"""

from __future__ import annotations

import shutil
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.sandbox import procs
from grader.sandbox.runner import Worker, run_checks
from grader.sandbox.snapshot import bytes_digest

CORRECT_GELU = textwrap.dedent("""\
    import math

    import torch


    def gelu(x):
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
""")
RELU_GELU = "import torch\n\n\ndef gelu(x):\n    return torch.relu(x)\n"


@pytest.fixture(scope="module")
def worker():
    with Worker() as warm:
        yield warm


@pytest.fixture
def target(tmp_path) -> Path:
    folder = tmp_path / "target"
    shutil.copytree(PROJECT_ROOT / "solutions", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return folder


def wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


# --- B5: the bytes graded are the bytes recorded ----------------------------------------------


def test_a_verdict_carries_the_digest_of_the_graded_bytes(worker, target):
    verdict = run_checks(["gelu"], target, worker=worker)["gelu"]
    assert verdict.status == "passed"
    assert verdict.digest == bytes_digest((target / "e02_gelu.py").read_bytes())


def test_a_file_replaced_during_grading_is_not_recorded_as_passed(worker, target, tmp_path):
    gate = tmp_path / "gate"
    slow_but_right = (
        f"import os, time\n"
        f"open({str(gate) + '.started'!r}, 'w').close()\n"
        f"while not os.path.exists({str(gate) + '.go'!r}):\n"
        f"    time.sleep(0.01)\n\n" + CORRECT_GELU
    )
    (target / "e02_gelu.py").write_text(slow_but_right)
    graded: dict = {}
    run = threading.Thread(target=lambda: graded.update(run_checks(["gelu"], target,
                                                                   worker=worker)))  # fmt: skip
    run.start()
    try:
        wait_for(Path(str(gate) + ".started"))
        (target / "e02_gelu.py").write_text(RELU_GELU)  # saved while the checks run
    finally:
        Path(str(gate) + ".go").touch()
        run.join(300)
    verdict = graded["gelu"]
    assert verdict.status == "passed"  # the bytes that were graded were right...
    assert verdict.digest == bytes_digest(slow_but_right.encode())
    assert verdict.digest != bytes_digest(RELU_GELU.encode())  # ...and they are not these
    again = run_checks(["gelu"], target, worker=worker)["gelu"]
    assert again.status == "failed" and again.digest == bytes_digest(RELU_GELU.encode())


# --- B6: every exercise from a clean state ----------------------------------------------------

GLOBAL_CHANGES = textwrap.dedent("""\
    import torch

    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.manual_seed(1234)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

""")


def test_global_torch_state_set_by_one_exercise_does_not_reach_the_others(worker, target):
    """dtype, grad mode, seed, threads, deterministic algorithms set at the top of
    e01_layer_norm.py: check --all still passes every (correct) solution."""
    layer_norm = target / "e01_layer_norm.py"
    head, future, rest = layer_norm.read_text().partition("from __future__ import annotations\n")
    layer_norm.write_text(head + future + GLOBAL_CHANGES + rest)
    ids = load_catalogue().ids()
    verdicts = run_checks(ids, target, worker=worker)
    failing = {i: f"{v.status}: {v.message}" for i, v in verdicts.items() if v.status != "passed"}
    assert failing == {}


# --- B8: the answer, however it is reached ----------------------------------------------------

BORROWED_ELSEWHERE = {
    ("attention", "e04_attention.py"): (
        "from reference import scaled_dot_product_attention  # noqa: F401\n",
        "reference",
    ),
    ("attention", "e04_attention.py", "sdpa"): (
        "import torch.nn.functional as F\n\n\n"
        "def scaled_dot_product_attention(query, key, value, attention_mask=None):\n"
        "    from reference import additive_attention_mask\n"
        "    mask = None if attention_mask is None else additive_attention_mask(\n"
        "        attention_mask, query.dtype)\n"
        "    scores = query @ key.transpose(-2, -1) / query.size(-1) ** 0.5\n"
        "    probs = (scores if mask is None else scores + mask).softmax(-1)\n"
        "    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask), probs\n",
        "torch.nn.functional.scaled_dot_product_attention",
    ),
    ("bert_model", "e17_bert_model.py"): (
        "import reference\n\n\nclass BertModel(reference.BertModel):\n"
        "    def forward(self, input_ids, attention_mask=None, token_type_ids=None):\n"
        "        out = super().forward(input_ids, attention_mask, token_type_ids)\n"
        "        return out.last_hidden_state, out.pooler_output\n",
        "reference.BertModel",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BORROWED_ELSEWHERE), ids="-".join)
def test_borrowed_answers_are_graded_but_never_passed(worker, target, case):
    exercise_id, file = case[:2]
    source, words = BORROWED_ELSEWHERE[case]
    (target / file).write_text(source)
    verdict = run_checks([exercise_id], target, worker=worker)[exercise_id]
    assert verdict.status == "borrowed", verdict
    assert words in verdict.message and verdict.borrowed
    assert verdict.total > 0  # it was graded: the learner sees how the code did


def test_borrowing_seen_only_at_run_time_is_caught(worker, target):
    """No import statement names the answer: the run-time watch sees the call."""
    (target / "e02_gelu.py").write_text(
        "import sys\n\n\ndef gelu(x):\n"
        "    answers = sys.modules['refer' + 'ence']\n"
        "    return getattr(answers, 'ge' + 'lu')(x)\n"
    )
    verdict = run_checks(["gelu"], target, worker=worker)["gelu"]
    assert verdict.status == "borrowed" and "reference" in verdict.message, verdict


# --- B10: nothing the learner started outlives the check ------------------------------------


def test_processes_the_learner_starts_do_not_outlive_the_verdict(worker, target, tmp_path):
    pids = tmp_path / "pids"
    (target / "e02_gelu.py").write_text(textwrap.dedent(f"""\
        import math
        import os
        import subprocess
        import time

        import torch

        PIDS = {str(pids)!r}


        def record(pid):
            with open(PIDS, "a") as handle:
                handle.write(f"{{pid}}\\n")


        def start_everything():
            record(subprocess.Popen(["sleep", "300"]).pid)
            record(subprocess.Popen(["sleep", "300"], start_new_session=True).pid)
            child = os.fork()
            if child == 0:  # a new session, and a grandchild orphaned inside it
                os.setsid()
                grandchild = os.fork()
                if grandchild == 0:
                    time.sleep(300)
                    os._exit(0)
                record(grandchild)
                os._exit(0)
            record(child)
            sleeper = os.fork()
            if sleeper == 0:
                time.sleep(300)
                os._exit(0)
            record(sleeper)


        start_everything()


        def gelu(x):
            return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    """))
    verdict = run_checks(["gelu"], target, worker=worker)["gelu"]
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 5
    alive = [pid for pid in started if procs.is_alive(pid)]
    assert alive == [], f"still running after the verdict: {alive}"
    assert verdict.status == "passed"


def test_an_exercise_may_be_named_apart_from_its_check_module(worker, target):
    """Drills, debug rounds and labs grade under their own ids with a shared check module."""
    import dataclasses

    from grader.catalogue import Catalogue, Exercise

    gelu = load_catalogue().get("gelu")

    @dataclasses.dataclass(frozen=True)
    class Renamed(Exercise):
        @property
        def check_file(self):
            return gelu.check_file

    fields = {f.name: getattr(gelu, f.name) for f in dataclasses.fields(Exercise)}
    renamed = Renamed(**{**fields, "id": "gelu-drill"})
    catalogue = Catalogue(exercises=(renamed,), mistakes=load_catalogue().mistakes)
    verdict = run_checks(["gelu-drill"], target, worker=worker, catalogue=catalogue)["gelu-drill"]
    plain = run_checks(["gelu"], target, worker=worker)["gelu"]  # every check, under either id
    assert verdict.status == "passed" and verdict.total == plain.total > 0, (verdict, plain)


@pytest.mark.parametrize("kind", ["fifo", "huge", "fifo_symlink"])
def test_a_file_that_cannot_be_read_safely_is_an_error_not_a_hang(worker, target, kind):
    import os

    path = target / "e02_gelu.py"
    path.unlink()
    if kind == "huge":
        path.write_bytes(b"# padding\n" * (6 * 2**20))  # 60 MB of comments
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        os.mkfifo(target / "pipe")
        path.symlink_to(target / "pipe")
    verdicts = run_checks(["gelu", "layer_norm"], target, worker=worker)
    assert verdicts["gelu"].status == "error", verdicts["gelu"]
    assert "not graded" in verdicts["gelu"].message
    assert verdicts["layer_norm"].status == "passed"


def test_the_worker_caches_the_grader_bytecode_but_never_the_learner(target):
    import importlib.util

    check = load_catalogue().get("gelu").check_file
    cached = Path(importlib.util.cache_from_source(str(check)))
    cached.unlink(missing_ok=True)
    with Worker() as fresh:  # it writes what is stale when it starts, before any grading
        assert cached.is_file()
        verdict = run_checks(["gelu"], target, worker=fresh)["gelu"]
    assert verdict.status == "passed", verdict
    assert not list(target.rglob("__pycache__")) and not list(target.rglob("*.pyc"))
