"""The interview question bank: the real bank follows its schema, and the validator rejects
every way a hand-written bank file goes wrong, naming the file and the question."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.interview.bank import (
    LANGUAGES,
    QUESTIONS_DIR,
    BankError,
    load_bank,
    read_bank,
    source_problem,
)

FIXTURES = Path(__file__).parent / "fixtures" / "questions"

VALID_QUESTION = """
[[question]]
id = "{id}"
topic = "{topic}"
kind = "concept"
difficulty = 2
tags = ["attention"]
exercise = "attention"
sources = ["paper:1706.03762#3.2.1", "code:bertprep/reference/modeling.py#BertSelfAttention"]

[question.en]
question = "Why scale the scores?"
answer = "Because the dot products grow with d_head."
rubric = ["variance grows", "softmax saturates", "gradients vanish"]
follow_ups = ["What if d_head = 1?"]

[question.zh]
question = "为什么要缩放分数？"
answer = "因为点积随 d_head 增大。"
rubric = ["方差增大", "softmax 饱和", "梯度消失"]
follow_ups = ["d_head = 1 时呢？"]
"""


def write_bank(folder: Path, text: str, topic: str = "attention") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{topic}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def question(question_id: str = "scaling", topic: str = "attention", **replace: str) -> str:
    text = VALID_QUESTION.format(id=question_id, topic=topic)
    for old, new in replace.items():
        old = old.replace("__", " ")  # keyword names cannot hold the spaces some edits need
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def problems_of(tmp_path: Path, text: str, topic: str = "attention") -> list[str]:
    """The problems found in a one-file bank, file names relative to the bank folder."""
    bank = tmp_path / "bank"
    write_bank(bank, text, topic)
    return [p.replace(f"{bank}{os.sep}", "") for p in read_bank(bank)[1]]


# -- the real bank -------------------------------------------------------------------------


def test_the_real_bank_follows_the_schema():
    questions, problems = read_bank(QUESTIONS_DIR)
    assert not problems, "grader/interview/questions/ breaks its schema:\n" + "\n".join(problems)
    assert questions, "grader/interview/questions/ holds no questions yet"
    assert len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert q.file.stem == q.topic
        assert set(q.texts) == set(LANGUAGES)


def test_every_source_in_the_real_bank_is_well_formed():
    questions = load_bank(QUESTIONS_DIR)
    bad = [
        f"{q.file.name}: {q.id}: {p}"
        for q in questions
        for s in q.sources
        if (p := source_problem(s))
    ]
    assert not bad, "\n".join(bad)
    assert all(q.sources for q in questions)


def test_every_real_entry_has_a_short_answer_in_both_languages():
    """What you would say in 30 seconds: the interview mode shows it first."""
    missing = [f"{q.id} ({lang})" for q in load_bank(QUESTIONS_DIR) for lang in LANGUAGES
               if not q.text(lang).short]  # fmt: skip
    assert not missing, "no short answer: " + ", ".join(missing)


def test_a_short_answer_over_thirty_seconds_is_refused(tmp_path):
    long = " ".join(["word"] * 71)
    text = question(**{'answer = "Because the dot products grow with d_head."':
                       f'answer = "Because the dot products grow with d_head."\nshort = "{long}"'})
    problems = problems_of(tmp_path, text)
    assert any("short has 71 words; at most 70" in p for p in problems), problems


def test_the_fixture_bank_is_valid():
    questions = load_bank(FIXTURES)
    assert {q.topic for q in questions} == {"attention", "mlm"}


# -- source references --------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "paper:1810.04805#3.1",
        "paper:1810.04805#A.2",
        "paper:1706.03762v5#3.2.1",
        "paper:1412.6980#2",  # a 4-digit number before 2015
        "paper:hep-th/9901001#2",  # old-style arXiv id
        "code:google-research/bert/modeling.py#attention_layer",
        "code:huggingface/transformers/src/transformers/models/bert/modeling_bert.py"
        "#BertSelfAttention.forward",
        "code:bertprep/reference/modeling.py#scaled_dot_product_attention",
        "code:bertprep/reference/modeling.py#BertSelfAttention.forward",
        "docs:https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html",
    ],
)
def test_documented_source_forms_are_accepted(source):
    assert source_problem(source) is None


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("paper:1810.04805", "needs the form"),
        ("paper:1810.04805#", "needs the form"),
        ("paper:1810.4805#3", "wrong number of digits"),
        ("paper:1412.69801#2", "wrong number of digits"),
        ("paper:1813.04805#3.1", "not an arXiv id"),
        ("paper:BERT#3.1", "not an arXiv id"),
        ("paper:1810.04805#section 3", "is not like 3.2.1"),
        ("code:modeling.py#gelu", "not code:<owner>/<repo>/<path>#<symbol>"),
        ("code:google-research/bert#gelu", "not code:<owner>/<repo>/<path>#<symbol>"),
        ("code:google-research/bert/modeling.py", "needs the form"),
        ("code:google-research/bert/modeling.py#not a symbol", "not a symbol name"),
        ("code:owner/repo/../../etc/passwd#root", "not a plain relative path"),
        ("code:bertprep/reference/no_such_file.py#gelu", "no file reference/no_such_file.py"),
        ("code:bertprep/reference/modeling.py#NoSuchSymbolAnywhere", "does not appear"),
        ("code:bertprep/reference/modeling.py#BertSelf", "does not appear"),  # whole words
        ("docs:http://pytorch.org/docs/", "not docs:<https URL>"),
        ("docs:pytorch.org/docs/", "not docs:<https URL>"),
        ("docs:https://localhost", "not docs:<https URL>"),
        ("https://pytorch.org/docs/", "does not start with paper:, code: or docs:"),
        ("blog:https://example.com/post", "does not start with"),
    ],
)
def test_malformed_sources_are_rejected(source, complaint):
    problem = source_problem(source)
    assert problem is not None and complaint in problem, problem


def test_a_bad_source_is_reported_with_its_file_and_question(tmp_path):
    text = question(**{'"paper:1706.03762#3.2.1"': '"paper:1706.03762"'})
    assert problems_of(tmp_path, text) == [
        "attention.toml: question scaling: source 'paper:1706.03762' needs the form "
        "paper:<...>#<...>"
    ]


# -- the rest of the schema ----------------------------------------------------------------


def test_a_valid_file_has_no_problems(tmp_path):
    assert problems_of(tmp_path, question()) == []


def test_missing_chinese_is_rejected(tmp_path):
    text = question().split("[question.zh]")[0]
    problems = problems_of(tmp_path, text)
    assert any("question scaling" in p and "missing [question.zh]" in p for p in problems)


def test_chinese_that_is_not_chinese_is_rejected(tmp_path):
    text = question(**{"为什么要缩放分数？": "Why scale the scores?"})
    assert any("no Chinese text" in p for p in problems_of(tmp_path, text))


def test_rubric_count_mismatch_between_languages_is_rejected(tmp_path):
    text = question(**{'"梯度消失"]': '"梯度消失", "多一条"]'})
    problems = problems_of(tmp_path, text)
    assert any(
        "rubric counts differ between languages (3 in en, 4 in zh)" in p for p in problems
    ), problems


def test_follow_up_count_mismatch_is_rejected(tmp_path):
    text = question(**{'follow_ups = ["d_head = 1 时呢？"]': 'follow_ups = ["一", "二"]'})
    assert any("follow_ups counts differ" in p for p in problems_of(tmp_path, text))


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    bank = tmp_path / "bank"
    write_bank(bank, question("same-id"), "attention")
    write_bank(bank, question("same-id", topic="mlm"), "mlm")
    problems = read_bank(bank)[1]
    assert problems == [
        f"{bank / 'mlm.toml'}: question same-id: duplicate id (first defined "
        f"in {bank / 'attention.toml'})"
    ]


def test_unknown_exercise_is_rejected(tmp_path):
    text = question(**{'exercise = "attention"': 'exercise = "no_such_exercise"'})
    problems = problems_of(tmp_path, text)
    assert problems == [
        "attention.toml: question scaling: exercise 'no_such_exercise' is not "
        "a catalogue exercise id"
    ]


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        ({'topic = "attention"': 'topic = "mlm"'}, "does not match the file name"),
        ({'kind = "concept"': 'kind = "essay"'}, "kind 'essay' is not one of"),
        ({"difficulty = 2": "difficulty = 4"}, "difficulty 4 is not 1, 2 or 3"),
        ({"difficulty = 2": "difficulty = true"}, "difficulty True is not 1, 2 or 3"),
        ({'id = "scaling"': 'id = "Scaling Question"'}, "is not a lower-case slug"),
        ({'tags = ["attention"]': "tags = 3"}, "tags must be a list"),
        (
            {'answer = "Because the dot products grow with d_head."': 'answer = "  "'},
            "[question.en] answer is missing or empty",
        ),
        (
            {'"softmax saturates", "gradients vanish"]': '"softmax saturates"]'},
            "has 2 rubric; needs 3 to 5",
        ),
        (
            {'follow_ups = ["What if d_head = 1?"]': "follow_ups = []"},
            "has 0 follow_ups; needs 1 to 3",
        ),
        ({"sources = [": 'colour = "red"\nsources = ['}, "unknown key 'colour'"),
        ({"sources = [": "sources = []\nxsources = ["}, "sources must be a non-empty list"),
    ],
)
def test_schema_violations_are_named(tmp_path, edit, complaint):
    problems = problems_of(tmp_path, question(**edit))
    assert any(complaint in p for p in problems), problems
    assert all(p.startswith("attention.toml: question ") for p in problems), problems


def test_a_file_that_is_not_toml_is_named(tmp_path):
    problems = problems_of(tmp_path, "[[question]\nid = ")
    assert len(problems) == 1 and problems[0].startswith("attention.toml: not valid TOML")


def test_load_bank_raises_with_every_problem(tmp_path):
    bank = tmp_path / "bank"
    write_bank(bank, question(**{'kind = "concept"': 'kind = "x"', "difficulty = 2": "d = 0"}))
    with pytest.raises(BankError) as raised:
        load_bank(bank)
    assert len(raised.value.problems) == 3  # kind, unknown key d, missing difficulty


def test_the_cli_refuses_a_broken_bank_and_says_why(tmp_path):
    bank = tmp_path / "bank"
    write_bank(bank, question(**{'exercise = "attention"': 'exercise = "nope"'}))
    env = {**os.environ, "BERTPREP_HOME": str(tmp_path / "state"), "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "grader.cli", "review", "--bank", str(bank)],
        cwd=PROJECT_ROOT,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "question scaling: exercise 'nope' is not a catalogue exercise id" in result.stderr
