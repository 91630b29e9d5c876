"""The Chinese interface: choosing the language, the gettext catalogues, wrapping Chinese."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import grader.i18n as i18n
from grader.catalogue import PROJECT_ROOT


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, as in POSIX
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"BERTPREP_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"BERTPREP_LANG": "zh", "LC_ALL": "C"}, "zh"),
        ({"BERTPREP_LANG": "fr", "LANG": "zh_CN.UTF-8"}, "zh"),  # unknown: ignored
    ],
)
def test_language_from_the_environment(environ, expected):
    assert i18n.language_from_environment(environ) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--lang", "zh"], "zh"),
        (["--lang=en", "list"], "en"),
        (["check"], None),
        (["check", "--", "--lang", "zh"], None),
    ],
)
def test_lang_on_the_command_line(argv, expected):
    assert i18n.language_from_argv(argv) == expected


def test_every_command_takes_lang():
    import typer.main

    from grader.cli import app

    group = typer.main.get_command(app)
    options = {name: {o for p in command.params for o in getattr(p, "opts", [])}
               for name, command in group.commands.items()}  # fmt: skip
    assert options, "no commands found"
    missing = sorted(name for name, opts in options.items() if "--lang" not in opts)
    assert not missing, f"these commands have no --lang option: {missing}"


def _bertprep(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("BERTPREP_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}  # fmt: skip
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env=environ, timeout=120)  # fmt: skip


def test_help_follows_the_language():
    chinese = _bertprep("--help", LANG="zh_CN.UTF-8")
    english = _bertprep("--help", "--lang", "en", LANG="zh_CN.UTF-8")
    assert chinese.returncode == english.returncode == 0, chinese.stderr + english.stderr
    assert "BERT" in chinese.stdout
    assert chinese.stdout != english.stdout
    assert "Practice BERT for interviews" in english.stdout
    assert "Practice BERT for interviews" not in chinese.stdout


def test_the_catalogues_match_the_code():
    """Every message the code can show has a Chinese translation, nothing is fuzzy or stale,
    placeholders survive translation, and the committed .mo is the compiled .po."""
    pytest.importorskip("babel", reason="Babel is a dev dependency (pip install -e .[dev])")
    from grader.dev.translations import problems

    found = problems()
    assert not found, f"{len(found)} catalogue problems (python -m grader.dev.translations " \
        "update / compile):\n" + "\n".join(found[:40])


# ------------------------------------------------------------------------- wrapping

def _lines(text: str, width: int) -> list[str]:
    i18n.install_cjk_wrapping()
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(text)
    return console.export_text().rstrip("\n").split("\n")


def test_chinese_fills_the_line():
    text = ("诊断：分数没有按 1/sqrt(d_head) 缩放——在 softmax 之前把 Q K^T 除以 "
            "sqrt(d_head)（Vaswani 等 2017，第 3.2.1 节）。然后再检查一遍掩码的方向。")
    lines = _lines(text, 30)
    from rich.cells import cell_len

    assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
    for line, following in itertools.pairwise(lines):
        first_word = next(i18n._cjk_words(following.lstrip()))[2].rstrip()
        assert cell_len(line.rstrip()) <= 30
        # greedy filling: the next line's first word would not have fitted on this one
        assert cell_len(line.rstrip()) + 1 + cell_len(first_word) > 30, (line, following)


def test_punctuation_never_starts_a_line():
    text = "，".join(["注意力分数"] * 12) + "。"
    for width in range(8, 40):
        for line in _lines(text, width)[1:]:
            assert not line.startswith(("，", "。", "）")), (width, line)


@given(st.lists(st.text(alphabet="abcdefgh ", min_size=1, max_size=12), min_size=1,
                max_size=30), st.integers(min_value=5, max_value=60))  # fmt: skip
def test_text_without_chinese_wraps_exactly_as_before(words, width):
    text = " ".join(words)
    original = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\s*\S+\s*", text)]
    assert list(i18n._cjk_words(text)) == original
