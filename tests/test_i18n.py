"""The Chinese interface: choosing the language, the gettext catalogues, wrapping Chinese."""

from __future__ import annotations

import ast
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


# ------------------------------------------------------------------------- the name _

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own_nodes(scope: ast.AST):
    """The nodes of one scope (a module or a function), without the bodies of the functions,
    lambdas and classes defined in it (their own scopes). Comprehensions count as part of the
    function they are written in: a comprehension that rebinds ``_`` breaks any ``_()`` call
    inside it, and is as easy to avoid."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_SCOPES, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _binds_underscore(node: ast.AST) -> bool:
    """Whether ``node`` binds the name ``_`` in the scope it belongs to: an assignment or
    augmented assignment, a for / with-as / comprehension target (plain or unpacked), a walrus,
    except-as, an import as ``_``, a parameter, or a nested def or class named ``_``."""
    if isinstance(node, ast.Name):
        return node.id == "_" and isinstance(node.ctx, ast.Store)
    if isinstance(node, ast.arg):
        return node.arg == "_"
    if isinstance(node, ast.ExceptHandler):
        return node.name == "_"
    if isinstance(node, ast.alias):
        return (node.asname or node.name) == "_"
    if isinstance(node, (*_SCOPES[:2], ast.ClassDef)):
        return node.name == "_"
    return False


def _calls_underscore(nodes) -> list[int]:
    return sorted(n.lineno for n in nodes if isinstance(n, ast.Call)
                  and isinstance(n.func, ast.Name) and n.func.id == "_")  # fmt: skip


def _translator_binding(scope: ast.AST, node: ast.AST, first_call: int) -> bool:
    """``_ = translator(lang)`` as a statement of the function's own body, before any ``_()``
    call: the documented way for a mode that speaks a chosen language (grader.i18n.translator;
    interview/texts.py, interview/review.py). It makes ``_`` that language's gettext, so it
    does not break the calls after it."""
    for statement in getattr(scope, "body", []):
        if (isinstance(statement, ast.Assign) and statement.targets[0] is node
                and len(statement.targets) == 1 and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Name)
                and statement.value.func.id.endswith("translator")
                and statement.lineno < first_call):  # fmt: skip
            return True
    return False


def underscore_problems(source: str, filename: str = "<snippet>") -> list[str]:
    """Functions that call ``_()`` while ``_`` is a local name of theirs (or of a function
    around them) bound to something else: the call raises UnboundLocalError before the binding
    and calls whatever was bound after it, so a message path crashes exactly when it should
    speak. At module level, ``_`` may only come from an import or a ``def _``."""
    tree = ast.parse(source, filename)
    problems: list[str] = []

    def visit(scope: ast.AST, enclosing: list[tuple[ast.AST, list[ast.AST]]]) -> None:
        nodes = list(_own_nodes(scope))
        calls = _calls_underscore(nodes)
        bindings = [n for n in nodes if _binds_underscore(n)]
        if isinstance(scope, ast.Module):
            bindings = [n for n in bindings if not isinstance(n, ast.alias | ast.FunctionDef)]
        name = getattr(scope, "name", "<module>" if isinstance(scope, ast.Module) else "lambda")
        if calls:
            if bindings:
                bad = [n for n in bindings if not _translator_binding(scope, n, calls[0])]
                problems.extend(f"{filename}:{n.lineno}: {name} calls _() (line {calls[0]}) "
                                f"and binds _ here" for n in bad)  # fmt: skip
            else:  # a closure: the nearest function around it that binds _ decides
                for outer, outer_bindings in reversed(enclosing):
                    if outer_bindings:
                        bad = [n for n in outer_bindings
                               if not _translator_binding(outer, n, calls[0])]  # fmt: skip
                        problems.extend(f"{filename}:{n.lineno}: {name} (line {calls[0]}) "
                                        f"calls _(), which {outer.name} binds here"
                                        for n in bad)  # fmt: skip
                        break
        inner = [*enclosing, (scope, bindings)] if isinstance(scope, _SCOPES) else enclosing
        visit_inside(nodes, inner)

    def visit_inside(nodes, enclosing) -> None:
        for node in nodes:
            if isinstance(node, _SCOPES):
                visit(node, enclosing)
            elif isinstance(node, ast.ClassDef):  # a class body encloses no method's names
                visit_inside(list(_own_nodes(node)), enclosing)

    visit(tree, [])
    module_nodes = list(_own_nodes(tree))
    if _calls_underscore(ast.walk(tree)):
        problems.extend(
            f"{filename}:{n.lineno}: the module binds _ at its top level, so every _() in it "
            "calls that" for n in module_nodes
            if _binds_underscore(n) and not isinstance(n, ast.alias | ast.FunctionDef)
        )
    return sorted(set(problems))


BAD_SNIPPETS = {
    "assignment": "def f():\n    print(_('x'))\n    _ = 1\n",
    "for target": "def f(items):\n    for _ in items:\n        pass\n    return _('x')\n",
    "unpacking": "def f(pair):\n    a, _ = pair\n    return _('x')\n",
    "starred unpacking": "def f(row):\n    a, *_ = row\n    return _('x')\n",
    "with-as": "def f(path):\n    with open(path) as _:\n        pass\n    return _('x')\n",
    "comprehension": "def f(items):\n    return [_('x') for _ in items]\n",
    "comprehension beside": "def f(n):\n    zeros = [0 for _ in range(n)]\n    return _('x')\n",
    "walrus": "def f(g):\n    if (_ := g()):\n        return _('x')\n",
    "except-as": "def f():\n    try:\n        pass\n    except OSError as _:\n        pass\n"
                 "    return _('x')\n",
    "parameter": "def f(_):\n    return _('x')\n",
    "import as": "def f():\n    import os as _\n    return _('x')\n",
    "closure": "def f(items):\n    for _ in items:\n        pass\n    def g():\n"
               "        return _('x')\n    return g\n",
    "method": "class C:\n    def m(self, pair):\n        a, _ = pair\n        return _('x')\n",
    "module level": "from grader.i18n import _\nfor _ in range(3):\n    pass\n"
                    "def f():\n    return _('x')\n",
    "translator after the call": "def f(lang):\n    x = _('x')\n    _ = translator(lang)\n"
                                 "    return x\n",
}  # fmt: skip
GOOD_SNIPPETS = {
    "calls only": "from grader.i18n import _\ndef f():\n    return _('x')\n",
    "binds only": "def f(pair):\n    a, _ = pair\n    return a\n",
    "a translator first": "def f(lang):\n    _ = translator(lang)\n    return _('x')\n",
    "a closure over a translator": "def f(lang):\n    _ = translator(lang)\n"
                                   "    return lambda: _('x')\n",
    "the binding in a function of its own": "def f():\n    def g(p):\n        a, _ = p\n"
                                            "        return a\n    return _('x')\n",
    "i18n's own definition": "def _(message):\n    return message\ndef f():\n    return _('x')\n",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD_SNIPPETS))
def test_binding_underscore_where_it_is_called_is_found(kind):
    assert underscore_problems(BAD_SNIPPETS[kind]), kind


@pytest.mark.parametrize("kind", sorted(GOOD_SNIPPETS))
def test_the_underscore_rule_spares_what_cannot_crash(kind):
    assert not underscore_problems(GOOD_SNIPPETS[kind]), kind


def test_what_the_rule_prevents_is_a_crash():
    """The first snippet, run: the message path raises instead of speaking."""
    namespace = {"_": lambda message: message}
    exec(compile(BAD_SNIPPETS["assignment"], "<snippet>", "exec"), namespace)
    with pytest.raises(UnboundLocalError):
        namespace["f"]()


def test_no_function_under_grader_binds_the_name_it_translates_with():
    found = []
    for path in sorted((PROJECT_ROOT / "grader").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        found += underscore_problems(source, str(path.relative_to(PROJECT_ROOT)))
    assert not found, "rename these throwaway _ (e.g. _unused):\n" + "\n".join(found)


def literal_messages_inside_f_strings(source: str) -> list[int]:
    """Lines where ``_("...")`` (or N_/ngettext) with a literal sits inside an f-string:
    Babel's extractor reads an f-string as one token and never sees the message."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in ("_", "N_", "ngettext")
                        and any(isinstance(a, ast.Constant) for a in call.args)):  # fmt: skip
                    lines.append(call.lineno)
    return lines


def test_no_message_hides_inside_an_f_string():
    assert literal_messages_inside_f_strings('x = f"[dim]{_(\'hidden\')}[/]"\n') == [1]
    assert literal_messages_inside_f_strings('x = f"[dim]{_(text)}[/]"\n') == []
    found = [f"{path.relative_to(PROJECT_ROOT)}:{line}"
             for path in sorted((PROJECT_ROOT / "grader").rglob("*.py"))
             for line in literal_messages_inside_f_strings(path.read_text(encoding="utf-8"))]
    assert not found, "messages Babel cannot extract (move them out of the f-string): " + \
        ", ".join(found)
