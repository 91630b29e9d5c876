"""The labs in their --quick form: the shipped data, whose pieces a lab uses, the runs (the
reference's alone, and the learner's in the sandbox beside it), the step-by-step comparison
that names the step a wrong piece leaves the reference's run, and clear messages when the
learner's code crashes or loops. The full runs are benchmarks (README, "Labs"), not tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.dev.verify import mutant_path, mutant_source
from grader.lab import compare, labs
from grader.lab.data import make_corpus, make_reviews
from grader.lab.datasets import read_probes, read_reviews
from grader.lab.labs import finetune_lab, pretrain_lab
from grader.lab.pieces import choose_pieces
from grader.lab.show import show_attention
from grader.progress import Progress

SOLUTIONS = PROJECT_ROOT / "solutions"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def console() -> tuple[Console, object]:
    import io

    buffer = io.StringIO()
    return Console(file=buffer, width=200, highlight=False, color_system=None), buffer


def solutions_with(tmp_path: Path, exercise_id: str, replacement: str) -> Path:
    """A copy of solutions/ with one exercise's file replaced."""
    folder = tmp_path / "target"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / load_catalogue().get(exercise_id).file).write_text(replacement, encoding="utf-8")
    return folder


def mutant_folder(tmp_path: Path, exercise_id: str, mistake: str) -> Path:
    exercise = load_catalogue().get(exercise_id)
    return solutions_with(tmp_path, exercise_id,
                          mutant_source(exercise.file, mutant_path(exercise_id, mistake)))


def lab_output(root: Path, lab: str) -> Path:
    (folder,) = sorted((root / "labs").glob(f"*-{lab}"))
    return folder


# ------------------------------------------------------------------------------- the data


def test_the_shipped_reviews_are_what_the_script_writes():
    train, test = make_reviews.make()
    shipped = make_reviews.HERE
    assert (shipped / "train.tsv").read_text(encoding="utf-8") == make_reviews.render(train)
    assert (shipped / "test.tsv").read_text(encoding="utf-8") == make_reviews.render(test)
    assert len(read_reviews("train")) >= 500 and len(read_reviews("test")) >= 200
    texts = [text for _, text, _ in read_reviews("train") + read_reviews("test")]
    assert len(set(texts)) == len(texts), "a sentence occurs twice"


def test_the_shipped_corpus_is_what_the_script_writes_and_hides_the_probes():
    lines, vocab = make_corpus.make()
    corpus = make_corpus.HERE
    assert (corpus / "train.txt").read_text(encoding="utf-8").splitlines() == lines
    assert (corpus / "vocab.txt").read_text(encoding="utf-8").splitlines() == vocab
    text = "\n".join(lines)
    for sentence, answer in read_probes():
        assert sentence.replace("[MASK]", answer) not in text, sentence


# ------------------------------------------------------------------------------ the pieces


def test_a_piece_is_the_learners_once_it_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path))
    progress = Progress.load()
    pieces = choose_pieces("finetune", PROJECT_ROOT / "exercises", "passed", progress=progress)
    assert [p.mine for p in pieces] == [False, False, False]
    assert all("the reference's" in p.describe() for p in pieces)
    started = choose_pieces("finetune", SOLUTIONS, "started")
    assert [p.mine for p in started] == [True, True, True]
    graded = choose_pieces("finetune", SOLUTIONS, "passed",
                           graded={"optimizer": "passed", "bert_model": "failed"})
    assert [p.mine for p in graded] == [False, False, True]


# --------------------------------------------------------------------- the comparison alone


def _run(losses, lrs, norms=None):
    return {"warmup": 1, "steps": [
        {"step": i + 1, "loss": loss, "lr": lr, "norms": (norms or [{}] * len(losses))[i]}
        for i, (loss, lr) in enumerate(zip(losses, lrs, strict=True))]}


def test_the_first_departure_is_named_by_what_left_first():
    reference = _run([0.7, 0.6, 0.5], [0.0, 1.0, 0.5], [{"biases": 1.0}] * 3)
    assert compare.first_departure(reference, reference) is None
    assert compare.first_departure(reference, _run([0.7, 0.6, 0.5], [0.0, 0.9, 0.5],
                                                   [{"biases": 1.0}] * 3)).what == "lr"
    late = compare.first_departure(reference, _run([0.7, 0.6, 0.45], [0.0, 1.0, 0.5],
                                                   [{"biases": 1.0}] * 3))  # fmt: skip
    assert (late.step, late.what) == (3, "loss")
    shrunk = compare.first_departure(reference, _run(
        [0.7, 0.6, 0.5], [0.0, 1.0, 0.5], [{"biases": 1.0}, {"biases": 1 - 1e-6},
                                           {"biases": 1.0}]))  # fmt: skip
    assert (shrunk.step, shrunk.what) == (2, "biases")
    assert "step 2" in compare.departure_sentence(shrunk)


# ------------------------------------------------------------------------------- the runs


def test_finetune_quick_with_the_reference_alone_writes_figure_and_report(tmp_path):
    out, buffer = console()
    assert finetune_lab(out, SOLUTIONS, quick=True, use="reference", root=tmp_path) == 0
    text = buffer.getvalue()
    assert "Baseline" in text and "Epoch 1, reference run" in text and "Traceback" not in text
    folder = lab_output(tmp_path, "finetune")
    assert (folder / "finetune.png").read_bytes().startswith(PNG_SIGNATURE)
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "frozen" in report.lower() and "](finetune.png)" in report
    data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert len(data["reference"]["steps"]) == 6 and data["yours"] is None


def test_finetune_quick_with_right_pieces_matches_the_reference_at_every_step(tmp_path):
    out, buffer = console()
    assert finetune_lab(out, SOLUTIONS, quick=True, use="started", root=tmp_path) == 0
    text = buffer.getvalue()
    assert "your run" in text and "matches the reference's at every step" in text


@pytest.mark.parametrize(("exercise_id", "mistake", "expected"), [
    ("optimizer", "opt_decay_on_layernorm", "at step 2: the sum of squares of the LayerNorm "
                                            "weights"),
    ("optimizer", "sched_no_warmup", "at step 1: the learning rate is 5e-05"),
    ("sequence_classification", "seqcls_without_pooler", "at step 1: the loss is"),
])  # fmt: skip
def test_a_wrong_piece_leaves_the_reference_run_at_its_step_with_its_mistake(
    tmp_path, exercise_id, mistake, expected
):
    folder = mutant_folder(tmp_path, exercise_id, mistake)
    out, buffer = console()
    assert finetune_lab(out, folder, quick=True, use="started", root=tmp_path / "state") == 1
    text = " ".join(buffer.getvalue().split())
    assert expected in text
    assert f"known mistake, {mistake}" in text, text[-1500:]
    report = (lab_output(tmp_path / "state", "finetune") / "report.md").read_text("utf-8")
    assert mistake in report


def test_a_crash_in_the_learners_code_is_a_sentence_not_a_traceback(tmp_path):
    source = (SOLUTIONS / "e10_sequence_classification.py").read_text(encoding="utf-8")
    broken = source.replace("def forward(self, sequence_output: Tensor, pooled_output: Tensor) "
                            "-> Tensor:\n", "def forward(self, sequence_output: Tensor, "
                            "pooled_output: Tensor) -> Tensor:\n        raise RuntimeError("
                            "'boom in the head')\n", 1)  # fmt: skip
    assert broken != source
    folder = solutions_with(tmp_path, "sequence_classification", broken)
    out, buffer = console()
    assert finetune_lab(out, folder, quick=True, use="started", root=tmp_path / "state") == 1
    text = " ".join(buffer.getvalue().split())
    assert "Your run stopped: your code raised RuntimeError" in text
    assert "e10_sequence_classification.py" in text and "boom in the head" in text
    assert "Traceback" not in text


def test_a_loop_in_the_learners_code_is_stopped_by_the_time_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(labs, "QUICK_CPU_LIMIT_S", 4)
    looping = ("def param_groups(model, weight_decay):\n    while True:\n        pass\n\n\n"
               "def linear_warmup_decay(step, num_warmup_steps, num_training_steps):\n"
               "    return 1.0\n")  # fmt: skip
    folder = solutions_with(tmp_path, "optimizer", looping)
    out, buffer = console()
    assert finetune_lab(out, folder, quick=True, use="started", root=tmp_path / "state") == 1
    text = " ".join(buffer.getvalue().split())
    assert "Your run stopped" in text and "Traceback" not in text


def test_pretrain_quick_with_right_pieces_checks_the_masking_rule(tmp_path):
    out, buffer = console()
    assert pretrain_lab(out, SOLUTIONS, quick=True, use="started", root=tmp_path) == 0
    text = " ".join(buffer.getvalue().split())
    assert "it matches the paper's 15% and 80/10/10" in text
    assert "monday , tuesday , [MASK] , thursday ." in text
    folder = lab_output(tmp_path, "pretrain")
    assert (folder / "pretrain.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "before training" in (folder / "report.md").read_text(encoding="utf-8")


def test_pretrain_quick_names_a_masking_rule_that_picks_special_tokens(tmp_path):
    folder = mutant_folder(tmp_path, "mlm_masking", "mlm_special_tokens_selected")
    out, buffer = console()
    assert pretrain_lab(out, folder, quick=True, use="started", root=tmp_path / "state") == 1
    assert "special tokens" in " ".join(buffer.getvalue().split())


def test_pretrain_quick_compares_step_by_step_when_the_masking_is_the_references(tmp_path):
    folder = mutant_folder(tmp_path, "mlm_head", "mlm_loss_over_all_tokens")
    stub = (PROJECT_ROOT / "exercises" / "e08_mlm_masking.py").read_text(encoding="utf-8")
    (folder / "e08_mlm_masking.py").write_text(stub, encoding="utf-8")  # not started
    out, buffer = console()
    assert pretrain_lab(out, folder, quick=True, use="started", root=tmp_path / "state") == 1
    text = " ".join(buffer.getvalue().split())
    assert "mlm_masking: the reference's" in text and "reference run" in text
    assert "leaves the reference's at step" in text and "mlm_loss_over_all_tokens" in text


def test_show_attention_with_right_and_wrong_code(tmp_path):
    out, buffer = console()
    assert show_attention(out, "The cat sat on the mat.", SOLUTIONS, layer=1, head=2,
                          use="started", root=tmp_path / "right") == 0  # fmt: skip
    text = buffer.getvalue()
    assert "computed with your code" in text and "equals the reference's" in text
    assert "[CLS]" in text and "0:[CLS]" in text
    assert (lab_output(tmp_path / "right", "attention") / "attention.png").is_file()
    folder = mutant_folder(tmp_path, "attention", "unscaled_scores")
    out, buffer = console()
    assert show_attention(out, "The cat sat on the mat.", folder, layer=1, head=2,
                          use="started", root=tmp_path / "wrong") == 1  # fmt: skip
    assert "differs from the reference's" in buffer.getvalue()


def test_the_commands_exist_and_take_lang(tmp_path):
    env = {**os.environ, "BERTPREP_HOME": str(tmp_path), "BERTPREP_LANG": "en"}
    result = subprocess.run(
        [sys.executable, "-m", "grader.cli", "show", "attention", "Hello world.", "--use",
         "reference", "--lang", "en"], cwd=PROJECT_ROOT, env=env, capture_output=True,
        text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "layer 0, head 0" in result.stdout
    for command in (["lab", "finetune"], ["lab", "pretrain"]):
        helped = subprocess.run([sys.executable, "-m", "grader.cli", *command, "--help"],
                                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
        assert helped.returncode == 0 and "--quick" in helped.stdout and "--lang" in helped.stdout


# ------------------------------------------------------------- the error heat-map of a verdict


def test_the_error_grid_pools_to_where_the_error_is():
    import torch

    from grader.checks.kit import error_grid

    want = torch.zeros(2, 20, 64, dtype=torch.float64)
    got = want.clone()
    got[1, 13, 50] = 0.5
    grid = error_grid(got, want, (1, 13, 50), name="last_hidden_state")
    assert (grid["rows"], grid["columns"], grid["steps"]) == ("seq", "hidden", [3, 3])
    values = grid["values"]
    assert len(values) == 7 and len(values[0]) == 22
    assert values[13 // 3][50 // 3] == 0.5 and sum(map(sum, values)) == 0.5
    assert error_grid(got[0, 0], want[0, 0], (3,), name="x") is None


def test_a_failing_verdict_shows_where_the_error_lives(tmp_path):
    from grader.feedback import render_verdict
    from grader.sandbox.runner import run_checks

    folder = mutant_folder(tmp_path, "attention", "unscaled_scores")
    verdict = run_checks(["attention"], folder)["attention"]
    assert verdict.status == "failed" and verdict.grid is not None
    assert (verdict.grid["rows"], verdict.grid["columns"]) == ("query", "key")
    out, buffer = console()
    render_verdict(out, verdict, load_catalogue().get("attention"), 0, folder=str(folder))
    text = buffer.getvalue()
    assert "where the error lives" in text and "query 0" in text
