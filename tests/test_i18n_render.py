"""What a Chinese learner reads is Chinese: every verdict kind, every diagnosis, the overview,
hints and every command's --help, rendered in zh, hold no English sentence.

"No English sentence" is checked mechanically: no run of three or more plain English words
remains once code is set aside (`backtick-quoted` code, identifiers with _ . ( [ = or digits,
CamelCase names) and the few English terms the glossary keeps in Chinese text (padding,
batch, token, logits...). The verdicts are built by the grader's own code paths (the plugin's
classification of an exception, the runner's aggregation, the borrowed and tampered verdicts),
and one real ``bertprep check`` runs in zh on a mutant, so the child process's check titles
and messages are covered too.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from rich.console import Console

import grader.i18n as i18n
from grader.catalogue import PROJECT_ROOT, load_catalogue

CATALOGUE = load_catalogue()
HAN = re.compile(r"[\u4e00-\u9fff]")
# English words that Chinese text keeps as they are (docs/glossary.toml) and proper names.
KEPT = {
    "padding", "batch", "token", "tokens", "logits", "softmax", "dropout", "pooler", "query",
    "key", "value", "head", "eval", "train", "Hugging", "Face", "transformers",
    "Google", "Vaswani", "et", "al", "Again", "Hard", "Good", "Easy", "nonce", "prefill",
    "bertprep",  # commands are code: `bertprep hint attention --level 2`
}  # fmt: skip
CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
TOKEN = re.compile(rf"[{CJK}]+|[^\s{CJK}]+")  # Chinese between two English words breaks a run
WORD = re.compile(r"[A-Za-z][a-z]+|a")
TRAILING = ",.;:!?\"'"


def english_runs(text: str) -> list[str]:
    """Runs of three or more plain English words outside code and `quoted code` (Python
    keywords are not counted: `for layer in self.layers` in a hint is not a sentence)."""
    text = re.sub(r"`[^`\n]*`", " ", text)
    runs, current = [], []
    for token in [*TOKEN.findall(text), ""]:
        word = token.rstrip(TRAILING).lstrip("\"'")
        if keyword.iskeyword(word):
            continue  # neither a word nor a break: "does not match" is prose, "for x in" code
        if WORD.fullmatch(word) and word not in KEPT:
            current.append(word)
            continue
        if len(current) >= 3:
            runs.append(" ".join(current))
        current = []
    return runs


def test_the_detector_finds_english_and_spares_code():
    assert english_runs("问题：probs does not match the reference") == [
        "probs does match the reference"
    ]
    assert english_runs("实际是 NoneType（did you forget to return it?）") == [
        "did you forget to it"
    ]
    assert not english_runs("按顺序执行每一层：for layer in self.encoder.layer: hidden = ...")
    assert not english_runs("输入：batch=2, heads=3, seq_q=5；没有掩码 `use the max yourself`")
    assert not english_runs("在 softmax 之前把 Q K^T 除以 sqrt(d_head)（Vaswani et al. 2017）")
    assert not english_runs("Hugging Face transformers 的 BertModel")


@pytest.fixture
def zh():
    """The process speaks Chinese for one test (and English again afterwards)."""
    before = os.environ.get("BERTPREP_LANG")
    i18n.set_language("zh")
    yield
    i18n._chosen = None
    if before is None:
        os.environ.pop("BERTPREP_LANG", None)
    else:
        os.environ["BERTPREP_LANG"] = before


def rendered(draw) -> str:
    i18n.install_cjk_wrapping()
    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    draw(console)
    return console.export_text()


def assert_chinese(text: str) -> None:
    assert HAN.search(text), f"no Chinese at all:\n{text}"
    runs = english_runs(text)
    assert not runs, f"English left in the Chinese output: {runs}\n{text}"


# ------------------------------------------------------------------- every verdict kind


def _raised_in(tmp_path, source: str):
    """An exception raised from a learner-like file in ``tmp_path`` (so it has a location)."""
    path = tmp_path / "e04_attention.py"
    path.write_text(source, encoding="utf-8")
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    try:
        namespace["run"]()
    except BaseException as err:  # what the learner's code raised
        return err
    raise AssertionError("the snippet did not raise")


def _record(exc, title: str, target: str = "/nonexistent") -> dict:
    from grader.sandbox.failure import forget_failures
    from grader.sandbox.outcomes import classify

    forget_failures()  # each record stands alone, as each check does in the grading child

    record = classify(exc, exc.__traceback__, phase="call", target_dir=target,
                      module="e04_attention")  # fmt: skip
    return {"event": "result", "title": i18n._(title), **record}


def _failure(diagnosis: str | None):
    """A real CheckFailure from the kit's comparison (probs off by an unscaled softmax)."""
    from grader.checks.kit import expect_close
    from grader.sandbox.failure import CheckFailure

    want = torch.tensor([[0.2, 0.3, 0.5]])
    try:
        expect_close(torch.tensor([[0.1, 0.2, 0.7]]), want, name="probs",
                     inputs="batch=1, heads=1, seq_q=1, seq_k=3, d_head=2",
                     mistakes={diagnosis: lambda: torch.tensor([[0.1, 0.2, 0.7]])}
                     if diagnosis else None)  # fmt: skip
    except CheckFailure as err:
        return err
    raise AssertionError("expect_close accepted different values")


def verdict_kinds(tmp_path) -> dict:
    from grader.sandbox.outcomes import CheckTimeout
    from grader.sandbox.verdicts import (
        STATUSES,
        Verdict,
        aggregate,
        borrowed_verdict,
        crash_message,
        tampered_verdict,
    )

    title = "output matches the reference, no mask"
    passed = {"event": "result", "status": "passed", "title": i18n._(title)}

    def graded(*records, collected=None):
        return aggregate("attention", list(records), CATALOGUE, collected)

    timeout = _raised_in(tmp_path, "from grader.sandbox.outcomes import CheckTimeout\n"
                                   "def run():\n    raise CheckTimeout('cpu', 20)\n")
    skip = _raised_in(tmp_path, "import unittest\ndef run():\n    raise unittest.SkipTest('x')\n")
    crash = Verdict("attention", "error", 2, 6,
                    message=crash_message({"signal": 11, "exit_code": None}, ""))  # fmt: skip
    from grader.sandbox.borrowing import imports_message

    kinds = {
        "passed": graded(passed, passed),
        "failed": graded(passed, _record(_failure(None), title)),
        "failed with a diagnosis": graded(passed, _record(_failure("unscaled_scores"), title)),
        "not started": graded(_record(NotImplementedError(), title)),
        "error: time limit": graded(passed, _record(timeout, title, str(tmp_path))),
        "error: time limit, no location": graded(_record(CheckTimeout("wall", 20), title)),
        "error: memory": graded(_record(MemoryError(), title)),
        "error: exception": graded(_record(ValueError("shapes (2,3) and (4,5)"), title)),
        "error: crash": crash,
        "error: stopped early": graded(passed, collected=6),
        "skipped": graded(passed, _record(skip, title, str(tmp_path))),
        "borrowed": borrowed_verdict(
            graded(passed, passed), [imports_message("solutions.e04_attention", "solutions")]
        ),
        "tampered: files changed": tampered_verdict("attention", changed=["grader/kit.py"] * 6),
        "tampered: forged": tampered_verdict("attention", forged=i18n._("a line that is not a "
                                                                         "record")),
        "tampered: earlier": tampered_verdict("attention", graded_earlier=True),
    }
    statuses = {v.status for v in kinds.values()}
    assert statuses == set(STATUSES), f"a verdict kind is not rendered: {set(STATUSES) - statuses}"
    return kinds


def test_every_verdict_kind_renders_in_chinese(zh, tmp_path):
    from grader.feedback import render_verdict

    exercise = CATALOGUE.get("attention")
    for name, verdict in verdict_kinds(tmp_path).items():
        text = rendered(lambda console, v=verdict: render_verdict(console, v, exercise, 0))
        assert "attention" in text, name
        assert_chinese(text)
        if verdict.diagnosis:
            assert "诊断" in text, name


def test_every_mistake_diagnosis_renders_in_chinese(zh):
    from grader.feedback import render_verdict
    from grader.sandbox.verdicts import Verdict

    found = []
    for exercise in CATALOGUE.exercises:
        for mistake_id in exercise.mistakes:
            mistake = CATALOGUE.mistakes[mistake_id]
            verdict = Verdict(exercise.id, "failed", 3, 7, message="-", diagnosis=mistake_id,
                              diagnosis_text=mistake.sentence())  # fmt: skip
            text = rendered(lambda c, v=verdict, e=exercise: render_verdict(c, v, e, 1))
            runs = english_runs(text)
            if runs or not HAN.search(mistake.sentence()):
                found.append(f"{exercise.id}/{mistake_id}: {runs or mistake.sentence()}")
    assert not found, f"{len(found)} diagnoses are not Chinese:\n" + "\n".join(found)


def test_hints_titles_and_summaries_render_in_chinese(zh):
    from grader.feedback import print_hint

    found = []
    for exercise in CATALOGUE.exercises:
        for level in (1, 2):  # level 3 is near-code
            text = rendered(lambda c, e=exercise, n=level: print_hint(c, e, n, chained=True))
            if english_runs(text) or not HAN.search(exercise.hint(level)):
                found.append(f"{exercise.id} hint {level}: {english_runs(text)}")
        for key in ("title", "summary"):
            if not HAN.search(exercise.text(key)):
                found.append(f"{exercise.id} {key}: {exercise.text(key)!r}")
    assert not found, f"{len(found)} catalogue texts are not Chinese:\n" + "\n".join(found)


def test_english_is_still_english(tmp_path):
    """The same verdicts in English: no Chinese character leaks into the default language."""
    from grader.feedback import render_verdict

    i18n._chosen = "en"
    try:
        exercise = CATALOGUE.get("attention")
        for name, verdict in verdict_kinds(tmp_path).items():
            text = rendered(lambda c, v=verdict: render_verdict(c, v, exercise, 0))
            assert not HAN.search(text), (name, text)
    finally:
        i18n._chosen = None


# ------------------------------------------------------------------- the command line


def _bertprep(*args: str, home, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("BERTPREP_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}  # fmt: skip
    environ.update(env, BERTPREP_HOME=str(home), COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env=environ, timeout=300)  # fmt: skip


def test_overview_follows_the_locale_and_lang_overrides_it(tmp_path):
    chinese = _bertprep(home=tmp_path, LANG="zh_CN.UTF-8")
    english = _bertprep("--lang", "en", home=tmp_path, LANG="zh_CN.UTF-8")
    assert chinese.returncode == english.returncode == 0, chinese.stderr + english.stderr
    assert "道练习" in chinese.stdout and "下一题" in chinese.stdout, chinese.stdout
    assert_chinese(chinese.stdout)
    assert "exercises passed." in english.stdout and "Next:" in english.stdout
    assert not HAN.search(english.stdout), english.stdout


def test_every_command_help_is_chinese(tmp_path):
    """``bertprep CMD --help`` for every command, in one child that speaks zh."""
    script = (
        "import typer.main\n"
        "from typer.testing import CliRunner\n"
        "from grader.cli import app\n"
        "group = typer.main.get_command(app)\n"
        "runner = CliRunner()\n"
        "for name in ['', *group.commands]:\n"
        "    args = [name, '--help'] if name else ['--help']\n"
        "    result = runner.invoke(app, args, prog_name='bertprep', env={'COLUMNS': '100'})\n"
        "    print(f'=== {name or \"bertprep\"} {result.exit_code}')\n"
        "    print(result.output)\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL")}
    environ.update(BERTPREP_LANG="zh", BERTPREP_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, env=environ, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    sections = out.stdout.split("=== ")[1:]
    assert len(sections) > 10, out.stdout
    found = []
    for section in sections:
        name, _, text = section.partition("\n")
        assert name.endswith(" 0"), section
        if not HAN.search(text) or english_runs(text):
            found.append(f"{name}: {english_runs(text)}")
        assert "Show this message" not in text and "Options" not in text, section
    assert not found, "--help with English left:\n" + "\n".join(found)


def test_a_real_check_in_chinese_on_a_mutant(tmp_path):
    """The grading child speaks the parent's language: check titles and failure messages."""
    from grader.dev.verify import mutant_source

    exercise = CATALOGUE.get("attention")
    target = tmp_path / "target"
    shutil.copytree(PROJECT_ROOT / "solutions", target,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (target / exercise.file).write_text(
        mutant_source(exercise.file, PROJECT_ROOT / "tests/mutants/attention/unscaled_scores.py"),
        encoding="utf-8",
    )
    result = _bertprep("check", "attention", "--target", str(target), home=tmp_path / "home",
                       LANG="zh_CN.UTF-8")  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    text = result.stdout
    for line in ("未通过", "检查：", "问题：", "输入：", "期望：", "实际：", "诊断：", "下一步："):
        assert line in text, (line, text)
    assert "与参考实现不一致" in text  # the kit's message, rendered in the child
    assert_chinese(text)


# ------------------------------------------------------------------- drills and debug rounds
#
# A whole drill and a whole debug round, scripted as tests/test_drill.py and tests/test_debug.py
# drive them (no terminal, a fake clock), in each language. The grading worker is started
# once the language is chosen, so the grading child (check titles and messages, the debug
# round's load errors) speaks it too. Markdown written by the round (DRILL.md, the drill log,
# debrief.md, the broken file's docstring) is checked without its ```code blocks```.


def _outside_code(markdown: str) -> str:
    return re.sub(r"```.*?```", " ", markdown, flags=re.S)


def _check_language(lang: str, *texts: str) -> None:
    for text in texts:
        if lang == "zh":
            assert_chinese(text)
        else:
            assert not HAN.search(text), text


@pytest.fixture(params=["zh", "en"])
def speaking(request, monkeypatch, tmp_path):
    """The process, and the grading worker started after it, speak one language; state lives
    in a temporary BERTPREP_HOME."""
    from grader.sandbox.runner import Worker

    monkeypatch.setenv("BERTPREP_HOME", str(tmp_path / "state"))
    before = os.environ.get("BERTPREP_LANG")
    i18n.set_language(request.param)
    i18n.install_cjk_wrapping()
    try:
        with Worker() as worker:
            yield request.param, worker, tmp_path / "state"
    finally:
        i18n._chosen = None
        if before is None:
            os.environ.pop("BERTPREP_LANG", None)
        else:
            os.environ["BERTPREP_LANG"] = before


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Script:
    """Scripted events: each step may act first (save a file, move the clock); q at the end."""

    def __init__(self, steps, clock=None, step_s: float = 20.0):
        self.steps, self.clock, self.step_s = list(steps), clock, step_s

    def get(self, timeout):
        if self.clock is not None:
            self.clock.now += self.step_s
        if not self.steps:
            return ("key", "q")
        step = self.steps.pop(0)
        return step() if callable(step) else step


def _console():
    import io

    output = io.StringIO()
    return Console(file=output, width=100, highlight=False), output


def test_a_drill_speaks_the_chosen_language(speaking):
    """Failing save, locked hint, time up, a pass rated Hard, the log, the list, refusals."""
    import json
    from datetime import UTC, datetime

    from grader.drill.session import drill_command, print_list, run_drill

    lang, worker, home = speaking
    home.mkdir(parents=True)
    record = {"status": "passed", "first_passed_at": "2025-01-01T09:00:00", "digest": "0" * 16}
    (home / "progress.json").write_text(json.dumps({"version": 1, "exercises": {"gelu": record}}))
    exercise = CATALOGUE.get("gelu")
    clock = _Clock()

    def save(text):
        def step():
            path = sorted((home / "drills").glob("*-gelu"))[-1] / exercise.file
            path.write_text(text, encoding="utf-8")
            return ("file", path)

        return step

    solution = (PROJECT_ROOT / "solutions" / exercise.file).read_text(encoding="utf-8")
    steps = [save("import torch\n\ndef gelu(x):\n    return torch.relu(x)\n"), ("key", "h"),
             lambda: (setattr(clock, "now", 330.0), None)[1], save(solution)]  # fmt: skip
    console, output = _console()
    result = run_drill(console, exercise, CATALOGUE, minutes=5, events=_Script(steps, clock),
                       worker=worker, clock=clock, editor=False)  # fmt: skip
    assert result.passed and result.verdicts == ["failed", "passed"], output.getvalue()
    now = datetime.now(UTC)
    print_list(console, CATALOGUE, now)
    assert drill_command(console, CATALOGUE, None) == 0  # nothing due: when the next one is
    assert drill_command(console, CATALOGUE, CATALOGUE.get("attention")) == 1  # not passed
    text = output.getvalue()
    folder = sorted((home / "drills").glob("*-gelu"))[-1]
    notes = (folder / "DRILL.md").read_text(encoding="utf-8")
    log = (home / "drills" / "log.md").read_text(encoding="utf-8")
    _check_language(lang, text, notes, _outside_code(log))
    if lang == "zh":
        for said in ("未通过", "问题：", "训练结束前提示是锁定的", "时间到", "评为「困难」",
                     "没有到期的训练"):  # fmt: skip
            assert said in text, (said, text)
    else:
        for said in ("FAILED", "Hints are locked until the drill ends", "rated Hard",
                     "No drill is due", "has not passed yet"):  # fmt: skip
            assert said in text, (said, text)


def test_a_debug_round_speaks_the_chosen_language(speaking):
    """A round of 2 bugs: the first check, a hint, one bug fixed, a check by Enter, q; the
    debrief on screen and in debrief.md; a file that does not parse; no round for --hint."""
    from grader.debug.bugs import BY_ID, apply_bugs
    from grader.debug.round import (
        DebugRound,
        check_command,
        check_once,
        finish,
        hint_command,
        play_round,
    )

    lang, worker, _home = speaking
    console, output = _console()
    assert hint_command(console) is False and check_command(console, None) is None
    round_ = DebugRound.create(bugs=2, seed=21, minutes=10)
    first = round_.bugs[0]

    def fix():
        text = round_.path.read_text(encoding="utf-8")
        round_.path.write_text(apply_bugs(text, [BY_ID[first]], reverse=True), encoding="utf-8")
        return ("file", round_.path)

    result, reason = play_round(console, round_, worker,
                                _Script([("key", "h"), fix, ("key", "h"), ("key", "")]))
    assert reason == "quit" and not result["passed"], output.getvalue()
    debrief = finish(console, DebugRound.load(round_.folder), result, reason)
    broken = round_.folder / "unparsable.py"
    broken.write_text("def broken(:\n", encoding="utf-8")
    check_once(console, None, broken, worker, time_limit=20)
    text = output.getvalue()
    docstring = round_.path.read_text(encoding="utf-8").split('"""')[1]
    _check_language(lang, text, docstring, _outside_code(debrief.read_text(encoding="utf-8")))
    if lang == "zh":
        for said in ("2 个 bug 还剩 2 个", "2 个 bug 还剩 1 个", "<- 最先出现分歧",
                     "提示：有一个 bug 在", "复盘", "2 个 bug 你修好了 1 个", "无法解析",
                     "还没有调试轮"):  # fmt: skip
            assert said in text, (said, text)
    else:
        for said in ("2 of 2 bugs remain", "1 of 2 bugs remain", "<- first divergence",
                     "Hint: one bug is in", "Debrief", "You fixed 1 of 2 bugs",
                     "does not parse at line 1", "There is no debug round yet"):  # fmt: skip
            assert said in text, (said, text)


def test_why_a_file_is_not_graded_is_a_whole_sentence_in_each_language(tmp_path):
    """The snapshot's reasons (a FIFO, a file too large) are the verdict's message as they
    are: whole sentences naming the file, in the chosen language."""
    from grader.sandbox.snapshot import take_snapshot

    source = tmp_path / "target"
    source.mkdir()
    os.mkfifo(source / "e02_gelu.py")
    with open(source / "e04_attention.py", "wb") as handle:
        handle.truncate(5 * 2**20)  # sparse: 5 MB on paper, above the 4 MB cap
    try:
        for lang in ("zh", "en"):
            i18n._chosen = lang
            problems = take_snapshot(source, tmp_path / lang).problems
            assert set(problems) == {"e02_gelu.py", "e04_attention.py"}, problems
            text = "\n".join(problems.values())
            assert "e02_gelu.py" in problems["e02_gelu.py"], problems
            _check_language(lang, text)
            if lang == "en":
                assert "e04_attention.py is too large to grade (5 MB)" in text, text
    finally:
        i18n._chosen = None


@pytest.mark.parametrize(
    "args",
    [("check", "--nope"), ("list", "--lang", "de"), ("check", "a", "b", "c"), ("hint",),
     ("nosuchcommand",), ("hint", "attention", "--level", "9"),
     ("hint", "attention", "--level", "x")],
)  # fmt: skip
def test_usage_errors_are_chinese(tmp_path, args):
    """typer's vendored click writes its usage errors as English f-strings: each is said again
    through the catalogue (names and values stay as they are)."""
    result = _bertprep("--lang", "zh", *args, home=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "错误：" in result.stderr, result.stderr
    assert_chinese(result.stderr)
    english = _bertprep("--lang", "en", *args, home=tmp_path)
    assert "Error: " in english.stderr and not re.search(r"[\u4e00-\u9fff]", english.stderr)
