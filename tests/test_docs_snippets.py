"""Every code snippet the docs show runs, offline, and prints exactly what the docs say it prints.

The docs include Python from ``docs/snippets/*.py`` (pymdownx.snippets, ``--8<-- "name.py"`` or
``--8<-- "name.py:section"``). Each file is a script that asserts the claims the prose makes
about it (a parameter count, a loss that goes down, an error that is raised), so a claim that
rots fails here. Every file is run once, in its own Python process with no hub access
(``HF_HUB_OFFLINE=1``), two at a time to keep the suite short on a 2-core machine; a file
that needs longer than ``SNIPPET_TIMEOUT_S`` fails.

Printed outputs must not drift either. Where a page shows a snippet and then, before the next
heading or code block, a ``text`` block (the "Output" the reader is promised), that block must
equal what the run printed: the whole file's output for ``--8<-- "name.py"``, and for
``--8<-- "name.py:section"`` only what the statements between the section's ``[start:...]`` and
``[end:...]`` markers printed (each write to stdout is attributed to the top-level statement
of the snippet that was running). Both languages are checked, and every snippet seeds its random
number generators, so the comparison is exact.

A cheap test checks that every ``--8<--`` include in the Markdown names a snippet file and
section that exist (``mkdocs build --strict`` checks that too, but needs the docs extras).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS_DIR = ROOT / "docs" / "snippets"
SNIPPETS = sorted(SNIPPETS_DIR.glob("*.py"))
SNIPPET_TIMEOUT_S = 240  # per file, generous for a busy machine; most take a few seconds
WORKERS = max(1, min(2, os.cpu_count() or 1))

# Runs one snippet as __main__ and records every write to stdout together with the line of the
# snippet's top-level statement that was running (None when no snippet frame is on the stack).
# The writes still reach the real stdout, so a failing run shows what it printed.
RUNNER = r"""
import json, runpy, sys
path, record = sys.argv[1], sys.argv[2]
chunks = []

class Tap:
    def __init__(self, real):
        self.real = real
    def write(self, text):
        frame, line = sys._getframe(1), None
        while frame is not None:
            if frame.f_code.co_filename == path and frame.f_code.co_name == "<module>":
                line = frame.f_lineno
                break
            frame = frame.f_back
        chunks.append((line, text))
        return self.real.write(text)
    def flush(self):
        self.real.flush()
    def __getattr__(self, name):
        return getattr(self.real, name)

real = sys.stdout
sys.stdout = Tap(real)
sys.argv = [path]
try:
    runpy.run_path(path, run_name="__main__")
finally:
    sys.stdout = real
    with open(record, "w", encoding="utf-8") as out:
        json.dump(chunks, out)
"""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        # WORKERS processes share the cores: give each its share of threads.
        OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // WORKERS)),
        PYTHONHASHSEED="0",
    )
    return env


@dataclass
class Run:
    result: subprocess.CompletedProcess | None  # None: timed out
    seconds: float
    chunks: list[tuple[int | None, str]]  # (top-level line of the snippet, text written)

    def printed(self, lines: tuple[int, int] | None = None) -> str:
        """What the run printed: all of it, or only while lines[0] < line < lines[1] ran."""
        if lines is None:
            return "".join(text for _, text in self.chunks)
        low, high = lines
        return "".join(text for line, text in self.chunks if line is not None and low < line < high)


def _run(path: Path) -> Run:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "stdout.json"
        try:
            result = subprocess.run(
                [sys.executable, "-c", RUNNER, str(path.resolve()), str(record)],
                cwd=ROOT,
                env=_environment(),
                capture_output=True,
                text=True,
                timeout=SNIPPET_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            result = None
        chunks = json.loads(record.read_text(encoding="utf-8")) if record.exists() else []
    return Run(result, time.monotonic() - start, [tuple(chunk) for chunk in chunks])


# `--8<-- "file.py"` or `--8<-- "file.py:section"` on a line of its own (block or inline form).
INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+\.py)(?::(?P<section>[a-z][-_0-9a-z]*))?"\s*$')
FENCE = re.compile(r"^\s*(```+|~~~+)\s*(?P<info>[^\s`]*)")


def _pages() -> list[Path]:
    return sorted((ROOT / "docs").glob("*/**/*.md"))


def _includes() -> list[tuple[Path, int, str, str | None]]:
    found = []
    for page in _pages():
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            match = INCLUDE.match(line)
            if match:
                found.append((page, number, match["path"], match["section"]))
    return found


def _section_lines(path: Path, section: str) -> tuple[int, int] | None:
    """Line numbers of the [start:section] and [end:section] markers in a snippet file."""
    start = end = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if re.search(rf"--8<--\s*\[\s*start\s*:\s*{re.escape(section)}\s*\]", line):
            start = number
        elif re.search(rf"--8<--\s*\[\s*end\s*:\s*{re.escape(section)}\s*\]", line):
            end = number
    return (start, end) if start is not None and end is not None else None


@dataclass(frozen=True)
class OutputBlock:
    """A ``text`` block that shows what an included snippet (or one of its sections) prints."""

    page: Path
    line: int  # of the block's opening fence
    snippet: Path
    section: str | None
    text: str

    @property
    def id(self) -> str:
        where = f"{self.page.relative_to(ROOT / 'docs')}:{self.line}"
        return f"{where}[{self.snippet.name}{':' + self.section if self.section else ''}]"


def _output_blocks() -> list[OutputBlock]:
    """Each include whose code block is followed, before any heading or other code block, by a
    ``text`` block: that block is the snippet's promised output."""
    blocks = []
    for page in _pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            match = INCLUDE.match(line)
            if not match:
                continue
            snippet = SNIPPETS_DIR / match["path"]
            # the end of the code block holding the include
            i = number + 1
            while i < len(lines) and not FENCE.match(lines[i]):
                i += 1
            i += 1
            while i < len(lines):
                fence = FENCE.match(lines[i])
                if lines[i].lstrip().startswith("#") or INCLUDE.match(lines[i]):
                    break
                if fence:
                    if fence["info"] == "text":
                        j = i + 1
                        while j < len(lines) and not FENCE.match(lines[j]):
                            j += 1
                        blocks.append(
                            OutputBlock(
                                page, i + 1, snippet, match["section"], "\n".join(lines[i + 1 : j])
                            )
                        )
                    break
                i += 1
    return blocks


OUTPUT_BLOCKS = _output_blocks()


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.fixture(scope="module")
def snippet_runs(request: pytest.FixtureRequest):
    """Start every selected snippet at once on a small pool; each test waits for its own."""
    selected: set[Path] = set()
    for item in request.session.items:
        if Path(item.path) != Path(__file__) or not hasattr(item, "callspec"):
            continue
        if getattr(item, "originalname", None) == "test_snippet_runs":
            selected.add(item.callspec.params["snippet"])
        elif getattr(item, "originalname", None) == "test_printed_output_matches_docs":
            selected.add(item.callspec.params["block"].snippet)
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures: dict[Path, Future] = {path: pool.submit(_run, path) for path in sorted(selected)}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[p.name for p in SNIPPETS])
def test_snippet_runs(snippet: Path, snippet_runs) -> None:
    run = snippet_runs[snippet].result()
    name = snippet.relative_to(ROOT)
    assert run.result is not None, f"{name} did not finish within {SNIPPET_TIMEOUT_S} s"
    output = (run.result.stdout + run.result.stderr)[-4000:]
    assert run.result.returncode == 0, (
        f"{name} exited with {run.result.returncode} after {run.seconds:.1f} s:\n{output}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("block", OUTPUT_BLOCKS, ids=[b.id for b in OUTPUT_BLOCKS])
def test_printed_output_matches_docs(block: OutputBlock, snippet_runs) -> None:
    """The Output block under a snippet is what the snippet really prints, line for line."""
    run = snippet_runs[block.snippet].result()
    name = block.snippet.relative_to(ROOT)
    assert run.result is not None and run.result.returncode == 0, (
        f"{name} did not run to the end (see test_snippet_runs)"
    )
    lines = None if block.section is None else _section_lines(block.snippet, block.section)
    assert block.section is None or lines, f"{name} has no section {block.section}"
    printed, shown = _normalise(run.printed(lines)), _normalise(block.text)
    diff = "\n".join(
        difflib.unified_diff(
            shown, printed, "shown in the docs", "printed by the snippet", lineterm=""
        )
    )
    assert printed == shown, (
        f"{block.page.relative_to(ROOT)}:{block.line} shows an output that {name}"
        f"{':' + block.section if block.section else ''} does not print (regenerate the block "
        f"from a real run):\n{diff}"
    )


def test_there_are_snippets() -> None:
    assert SNIPPETS, f"no snippets found in {SNIPPETS_DIR}"


def test_output_blocks_are_found_in_both_languages() -> None:
    """The block finder works: both languages show outputs, for the same snippets."""
    by_language: dict[str, set[tuple[str, str | None]]] = {}
    for block in OUTPUT_BLOCKS:
        language = block.page.relative_to(ROOT / "docs").parts[0]
        by_language.setdefault(language, set()).add((block.snippet.name, block.section))
    assert by_language.get("en"), "no Output blocks found under docs/en"
    assert by_language.get("en") == by_language.get("zh"), (
        "the English and Chinese pages show outputs for different snippets: "
        f"{sorted(by_language.get('en', set()) ^ by_language.get('zh', set()))}"
    )


SEED = re.compile(r"\b(torch\.manual_seed|random\.seed|np\.random\.seed|torch\.Generator)\(")
USES_RANDOMNESS = re.compile(r"^\s*(import torch|from torch|import random|import numpy)", re.M)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[p.name for p in SNIPPETS])
def test_every_snippet_is_seeded(snippet: Path) -> None:
    """A snippet that can draw random numbers seeds them, so a reader re-running it sees the
    docs' numbers (an unseeded head once printed a different loss on every run)."""
    text = snippet.read_text(encoding="utf-8")
    if USES_RANDOMNESS.search(text):
        assert SEED.search(text), f"{snippet.relative_to(ROOT)} never seeds torch / random"


def test_every_snippet_include_resolves() -> None:
    """Same lookup as mkdocs.yml's pymdownx.snippets: base paths docs/snippets, then the root."""
    problems = []
    for page, number, path, section in _includes():
        where = f"{page.relative_to(ROOT)}:{number}"
        candidates = [SNIPPETS_DIR / path, ROOT / path]
        target = next((c for c in candidates if c.is_file()), None)
        if target is None:
            problems.append(f"{where}: no file {path} under docs/snippets/ or the repository")
            continue
        if section is not None:
            text = target.read_text(encoding="utf-8")
            for kind in ("start", "end"):
                if not re.search(rf"--8<--\s*\[\s*{kind}\s*:\s*{re.escape(section)}\s*\]", text):
                    problems.append(f"{where}: {path} has no [{kind}:{section}] marker")
    assert not problems, "\n".join(problems)
