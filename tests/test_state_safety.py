"""Nothing a learner made is ever lost (issue 9, part A; the state items of part C).

The state file under concurrent writers, damaged and hand-edited state, a state folder that
cannot be written: driven through the real ``bertprep`` command in a scratch copy of the
project where the current CLI tests do, and through two real processes for the lost update.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.progress import Progress, keep_damaged_copy, parse_progress

COPIED = ("exercises", "solutions", "grader", "reference", "tests/mutants", "pyproject.toml")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with its own git history, so reset/watch can't touch ours."""
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "stubs"], check=True)
    return root


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


def environment(project: Path, home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project), "BERTPREP_HOME": str(home),
            "COLUMNS": "200", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip


def bertprep(project: Path, *args: str, home: Path, stdin: str | None = None, timeout=300,
             file_size_limit: int | None = None):  # fmt: skip
    def limit_file_size() -> None:  # a full disk, as the learner's shell would set it
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, hard))

    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        cwd=project,
        env=environment(project, home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_file_size if file_size_limit is not None else None,
    )


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def progress_of(home: Path) -> dict:
    return json.loads((home / "progress.json").read_text(encoding="utf-8"))["exercises"]


# A1: read-modify-write under a lock, merging per exercise.

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from grader.progress import Progress

    path, role, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if role == "watch":  # loads once and keeps saving its (stale) copy, as watch does
        progress = Progress.load(path)
        for _ in range(rounds):
            progress.record_verdict("attention", "failed", "aaaa")
            assert progress.save()
    else:  # a fresh command each time, as `bertprep check` / `hint` are
        for number in range(rounds):
            progress = Progress.load(path)
            progress.record_verdict("gelu", "passed", "bbbb")
            progress.see_hint("gelu", 1 + number % 3)
            assert progress.save()
    """
)


def test_two_processes_saving_at_once_lose_no_update(tmp_path):
    path = tmp_path / "progress.json"
    rounds = 40
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), role, str(rounds)], env=env)
        for role in ("watch", "check")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    records = progress_of(tmp_path)
    assert records["attention"]["checks_run"] == rounds
    assert records["gelu"]["checks_run"] == rounds
    assert records["gelu"]["hint_level"] == 3 and "first_passed_at" in records["gelu"]


def test_a_stale_copy_updates_the_fresh_record_instead_of_replacing_it(tmp_path):
    path = tmp_path / "progress.json"
    stale = Progress.load(path)  # watch, started before anything else happened
    other = Progress.load(path)
    other.record_verdict("gelu", "passed", "1111")
    other.see_hint("attention", 2)
    assert other.save()
    stale.record_verdict("attention", "failed", "2222")
    stale.entry("attention")["note"] = "direct edits are merged field by field"
    assert stale.save()
    records = Progress.load(path).exercises
    assert records["gelu"]["status"] == "passed"
    assert records["attention"]["hint_level"] == 2  # kept: the stale copy never saw it
    assert records["attention"]["status"] == "failed"
    assert records["attention"]["note"].startswith("direct edits")
    assert stale.exercises == records  # and the saver now holds the merged state


# A3: every damaged copy kept, whatever parses salvaged, and said on stderr.


def test_two_corruptions_keep_both_damaged_copies_and_salvage_the_records(project, home):
    home.mkdir(parents=True)
    good = {"status": "passed", "first_passed_at": "2026-01-01T00:00:00", "digest": None}
    first = ('{"version": 1, "exercises": {\n"gelu": ' + json.dumps(good)
             + ',\n"attention": {"status": "fai\n')  # fmt: skip
    (home / "progress.json").write_text(first, encoding="utf-8")
    result = bertprep(project, "list", "--json", home=home)
    assert result.returncode == 0
    no_traceback(result)
    assert (home / "progress.json.corrupt").read_text(encoding="utf-8") == first
    assert "progress.json was damaged" in result.stderr
    assert str(home / "progress.json.corrupt") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert progress_of(home) == {"gelu": good}  # salvaged and repaired on disk
    second = b"\x00\xff not json at all"
    (home / "progress.json").write_bytes(second)
    result = bertprep(project, "list", "--json", home=home)
    assert result.returncode == 0 and str(home / "progress.json.corrupt-2") in result.stderr
    assert (home / "progress.json.corrupt").read_text(encoding="utf-8") == first
    assert (home / "progress.json.corrupt-2").read_bytes() == second
    assert progress_of(home) == {}


def test_salvage_reads_what_is_sound_field_by_field():
    raw = b'{"exercises": {"a": {"status": "passed", "checks_run": -1}, "b": 3, "c": {}}}'
    records, problems = parse_progress(raw)
    assert records == {"a": {"status": "passed"}, "c": {}}
    assert any("a.checks_run" in p for p in problems) and any("of b" in p for p in problems)
    assert parse_progress(b'{"version": 1, "exercises": {}}') == ({}, [])


def test_the_same_damage_is_kept_once(tmp_path):
    path = tmp_path / "progress.json"
    assert keep_damaged_copy(path, b"x") == keep_damaged_copy(path, b"x")
    assert keep_damaged_copy(path, b"y").name == "progress.json.corrupt-2"


def test_hand_edited_wrong_types_are_dropped_with_a_warning(project, home):
    home.mkdir(parents=True)
    edited = {"exercises": {"attention": {"hint_level": "two", "status": "failed"}}}
    (home / "progress.json").write_text(json.dumps(edited), encoding="utf-8")
    result = bertprep(project, "hint", "attention", home=home)
    assert result.returncode == 0 and "attention hint 1/3" in result.stdout
    no_traceback(result)
    assert 'attention.hint_level = "two" is not a hint level' in result.stderr
    assert json.loads((home / "progress.json.corrupt").read_text()) == edited
    assert progress_of(home)["attention"] == {"hint_level": 1, "status": "failed"}


# C: a state folder that cannot be written, a full disk.


@pytest.fixture
def blocked_home(tmp_path) -> Path:
    """A regular file where the state folder should be (file modes do not stop root)."""
    path = tmp_path / "state"
    path.write_text("not a folder\n")
    return path


def test_check_with_an_unusable_state_folder_prints_the_verdict_then_one_line(
    project, blocked_home
):
    exercise = project / "exercises" / "e02_gelu.py"
    original = exercise.read_bytes()
    try:
        shutil.copy(project / "solutions" / "e02_gelu.py", exercise)
        result = bertprep(project, "check", "gelu", home=blocked_home)
    finally:
        exercise.write_bytes(original)
    no_traceback(result)
    assert result.returncode == 0 and "gelu  PASSED" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not save your progress" in lines[0]
    assert str(blocked_home) in lines[0]


def test_hint_on_a_full_disk_shows_the_hint_then_one_line(project, home):
    home.mkdir(parents=True)
    result = bertprep(project, "hint", "gelu", home=home, file_size_limit=16)
    no_traceback(result)
    assert result.returncode == 0 and "gelu hint 1/3" in result.stdout
    assert "could not save your progress" in result.stderr and "File too large" in result.stderr
    assert not (home / "progress.json").exists()  # nothing half-written either
    assert not [p for p in home.iterdir() if p.name.startswith(".progress.json.")]


def test_check_on_a_full_disk_prints_the_verdict_then_one_line(project, home):
    home.mkdir(parents=True)
    result = bertprep(project, "check", "gelu", home=home, file_size_limit=16)
    no_traceback(result)
    # The grader cannot even write its private copy of the files: a verdict that says so,
    # then one line about the state it could not save.
    assert "gelu  ERROR" in result.stdout and "is the disk full?" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("bertprep: could not save")


def test_reset_with_an_unusable_state_folder_leaves_the_code_alone(project, blocked_home):
    exercise = project / "exercises" / "e02_gelu.py"
    original = exercise.read_bytes()
    try:
        exercise.write_text("def gelu(x):\n    return x  # mine\n")
        result = bertprep(project, "reset", "gelu", home=blocked_home)
        assert exercise.read_text() == "def gelu(x):\n    return x  # mine\n"
    finally:
        exercise.write_bytes(original)
    no_traceback(result)
    assert result.returncode == 1 and "could not back up exercises/e02_gelu.py" in result.stderr
    assert "left as it is" in result.stderr


# The review deck (review.json) and the interview: the same rules.

FIXTURES = Path(__file__).parent / "fixtures" / "questions"
BANK = ["--bank", str(FIXTURES)]


def test_review_json_with_an_infinite_card_id_is_repaired_not_a_crash(project, home):
    first = bertprep(project, "review", *BANK, "--limit", "2", home=home, stdin="\n3\n\n3\n")
    assert first.returncode == 0, first.stderr
    path = home / "review.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    infinite, broken = sorted(state["cards"])
    state["cards"][infinite]["card"]["card_id"] = float("inf")  # written as Infinity
    state["cards"][broken]["card"]["stability"] = "high"
    path.write_text(json.dumps(state), encoding="utf-8")
    assert "Infinity" in path.read_text(encoding="utf-8")
    result = bertprep(project, "review", *BANK, home=home, stdin="q\n")
    no_traceback(result)
    assert result.returncode == 0
    assert f"review.json was damaged: recovered 1 cards; could not read: {broken}" in result.stdout
    repaired = json.loads(path.read_text(encoding="utf-8"))["cards"]
    assert set(repaired) == {infinite} and type(repaired[infinite]["card"]["card_id"]) is int
    assert "Infinity" in (home / "review.json.corrupt").read_text(encoding="utf-8")


def test_review_with_an_unusable_state_folder_says_so_once(project, blocked_home):
    result = bertprep(project, "review", *BANK, "--limit", "2", home=blocked_home,
                      stdin="\n3\n\n3\n")  # fmt: skip
    no_traceback(result)
    assert result.returncode == 0 and "Reviewed 2." in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not save your review cards" in lines[0]


def test_interview_with_an_unusable_state_folder_still_debriefs(project, blocked_home):
    script = "My answer.\n\nall\nA follow-up answer.\n\ny\n\n2\nMore.\n\nn\n"
    result = bertprep(project, "interview", *BANK, "--topics", "mlm", "--seed", "7",
                      home=blocked_home, stdin=script)  # fmt: skip
    no_traceback(result)
    assert "Debrief" in result.stdout and "Transcript saved to" not in result.stdout
    assert "could not save your review cards" in result.stderr
    assert "could not save the transcript" in result.stderr


# A2, A4: reset never loses the learner's bytes, keeps the mode, writes through a symlink.

RESET_TWICE = textwrap.dedent(
    """
    import grader.workspace as workspace
    from grader.catalogue import load_catalogue

    workspace.time.strftime = lambda *args: "20260101-120000"  # both resets in one second
    exercise = load_catalogue().get("gelu")
    path = workspace.exercise_path(exercise)
    path.write_text("def gelu(x):\\n    return x  # my code\\n")
    print(workspace.reset_exercise(exercise))
    print(workspace.reset_exercise(exercise))
    """
)


def test_two_resets_in_one_second_keep_both_backups(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    try:
        done = subprocess.run([sys.executable, "-c", RESET_TWICE], cwd=project, text=True,
                              env=environment(project, home), capture_output=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        first, second = map(Path, done.stdout.split())
        assert first != second and first.parent == second.parent == home / "backups"
        assert first.read_text() == "def gelu(x):\n    return x  # my code\n"
        assert second.read_bytes() == stub
        # And through the CLI, back to back.
        exercise.write_text("def gelu(x):\n    return 2 * x  # more code\n")
        assert bertprep(project, "reset", "gelu", home=home).returncode == 0
        assert bertprep(project, "reset", "gelu", home=home).returncode == 0
        kept = [p.read_bytes() for p in (home / "backups").glob("e02_gelu-*.py")]
        assert len(kept) == 4 and b"more code" in b"".join(kept)
        assert exercise.read_bytes() == stub
    finally:
        exercise.write_bytes(stub)


def test_reset_keeps_the_mode_and_any_encoding_as_bytes(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    gbk = '# -*- coding: gbk -*-\n"""我的 GELU"""\n\ndef gelu(x):\n    return x\n'.encode("gbk")
    try:
        exercise.write_bytes(gbk)
        exercise.chmod(0o640)
        overview = bertprep(project, home=home)
        listed = bertprep(project, "list", "--json", home=home)
        result = bertprep(project, "reset", "gelu", home=home)
        for done in (overview, listed, result):
            no_traceback(done)
            assert done.returncode == 0
        assert next(r for r in json.loads(listed.stdout) if r["id"] == "gelu")["status"] == (
            "in_progress"
        )
        (backup,) = (home / "backups").glob("e02_gelu-*.py")
        assert backup.read_bytes() == gbk
        assert exercise.read_bytes() == stub
        assert exercise.stat().st_mode & 0o7777 == 0o640
    finally:
        exercise.write_bytes(stub)
        exercise.chmod(0o644)


def test_reset_writes_through_a_symlink(project, home, tmp_path):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    mine = tmp_path / "elsewhere" / "my_gelu.py"
    mine.parent.mkdir()
    mine.write_text("def gelu(x):\n    return x  # kept elsewhere\n")
    try:
        exercise.unlink()
        exercise.symlink_to(mine)
        result = bertprep(project, "reset", "gelu", home=home)
        assert result.returncode == 0, result.stderr
        assert exercise.is_symlink() and exercise.resolve() == mine.resolve()
        assert mine.read_bytes() == stub
        (backup,) = (home / "backups").glob("e02_gelu-*.py")
        assert "kept elsewhere" in backup.read_text()
    finally:
        exercise.unlink()
        exercise.write_bytes(stub)


# C: status detection is bounded and safe; it decodes like Python.


def status_of(project: Path, home: Path, exercise_id: str) -> str:
    result = bertprep(project, "list", "--json", home=home, timeout=120)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    return next(r for r in json.loads(result.stdout) if r["id"] == exercise_id)["status"]


def test_a_bom_or_a_coding_line_is_read_as_python_reads_it(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    try:
        exercise.write_bytes(b"\xef\xbb\xbf" + stub)
        assert status_of(project, home, "gelu") == "not_started"
        exercise.write_bytes(b"\xef\xbb\xbfdef gelu(x):\n    return x\n")
        assert status_of(project, home, "gelu") == "in_progress"
        exercise.write_bytes(b"# coding: gbk\ndef gelu(x):\n    return x  # \xc4\xe3\n")
        assert status_of(project, home, "gelu") == "in_progress"
        exercise.write_bytes(b'def gelu(x):\n    return "\xc4\xe3"  # GBK, no coding line\n')
        assert status_of(project, home, "gelu") == "syntax_error"  # as importing it would say
    finally:
        exercise.write_bytes(stub)


def test_a_fifo_is_refused_never_waited_on(project, home, tmp_path):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    try:
        exercise.unlink()
        exercise.symlink_to(fifo)
        assert status_of(project, home, "gelu") == "not_a_file"
        checked = bertprep(project, "check", "gelu", home=home, timeout=120)
        no_traceback(checked)
        assert checked.returncode == 1 and "gelu  ERROR" in checked.stdout
        assert "not a regular file" in checked.stdout
        reset = bertprep(project, "reset", "gelu", home=home, timeout=120)
        assert reset.returncode == 1 and "FIFO" in reset.stderr and exercise.is_symlink()
    finally:
        exercise.unlink()
        exercise.write_bytes(stub)


def test_a_huge_file_is_not_inspected(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_bytes()
    try:
        exercise.write_bytes(b"x = 1\n" * 500_000)  # 3 MB: the cap is 1 MB
        assert status_of(project, home, "gelu") == "too_large"
        assert "too large to inspect; run check" in bertprep(project, home=home).stdout
    finally:
        exercise.write_bytes(stub)


# A1 and C in watch: a stale copy never erases another command's pass; a deleted file is shown.


def start_watch(project: Path, home: Path, exercise_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "watch", exercise_id],
        cwd=project, env=environment(project, home), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def type_into(process: subprocess.Popen, text: str) -> None:
    process.stdin.write(text)
    process.stdin.flush()


@pytest.mark.timeout(300)
def test_watch_keeps_a_pass_recorded_meanwhile_and_shows_a_deleted_file(project, home):
    gelu, layer_norm = (project / "exercises" / n for n in ("e02_gelu.py", "e01_layer_norm.py"))
    gelu_stub, layer_norm_stub = gelu.read_bytes(), layer_norm.read_bytes()
    process = start_watch(project, home, "gelu")
    try:
        lines = iter(process.stdout.readline, "")
        assert any("gelu  NOT STARTED" in line for line in lines)
        shutil.copy(project / "solutions" / "e01_layer_norm.py", layer_norm)
        checked = bertprep(project, "check", "layer_norm", home=home)  # another terminal
        assert checked.returncode == 0 and "PASSED" in checked.stdout
        type_into(process, "\n")  # watch grades again and saves
        assert any("gelu  NOT STARTED" in line for line in lines)
        gelu.unlink()
        assert any("exercises/e02_gelu.py is gone" in line for line in lines)
        gelu.write_bytes(gelu_stub)
        assert any("gelu  NOT STARTED" in line for line in lines)
        type_into(process, "q\n")
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        gelu.write_bytes(gelu_stub)
        layer_norm.write_bytes(layer_norm_stub)
    records = progress_of(home)
    assert records["layer_norm"]["status"] == "passed"
    assert records["gelu"]["status"] == "not_started" and records["gelu"]["checks_run"] >= 2


@pytest.mark.timeout(300)
def test_watch_with_an_unusable_state_folder_shows_verdict_then_one_line(project, blocked_home):
    process = start_watch(project, blocked_home, "gelu")
    try:
        lines = iter(process.stdout.readline, "")
        assert any("gelu  NOT STARTED" in line for line in lines)
        rest = next(line for line in lines if line.strip() and "next:" not in line
                    and "edit exercises/" not in line)  # fmt: skip
        assert rest.startswith("bertprep: could not save your progress"), rest
        type_into(process, "q\n")
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
