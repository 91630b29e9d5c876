"""One Chinese name per concept: docs/glossary.toml, and no Chinese text uses a variant it avoids.

The Chinese texts are the docs (docs/zh/**/*.md, outside code blocks and inline code, and outside
the blog's own words quoted in blog-corrections.md), the catalogue's ``[exercise.zh]`` /
``[mistakes.<id>.zh]`` tables, the question bank's ``[question.zh]`` tables and the msgstr lines
of the gettext catalogue.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.catalogue import CATALOGUE_PATH, PROJECT_ROOT

GLOSSARY_PATH = PROJECT_ROOT / "docs" / "glossary.toml"
DOCS_ZH = PROJECT_ROOT / "docs" / "zh"
QUESTIONS_DIR = PROJECT_ROOT / "grader" / "interview" / "questions"
PO_PATH = PROJECT_ROOT / "grader" / "locale" / "zh" / "LC_MESSAGES" / "bertprep.po"
# Pages that quote the blog verbatim in blockquotes: its words are evidence, not our text.
QUOTES_BLOG = {DOCS_ZH / "blog-corrections.md"}
HAN = re.compile(r"[\u4e00-\u9fff]")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w-]*)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+\1")

Line = tuple[Path, int, str]  # file, 1-based line number, the Chinese text on it


def _terms() -> list[dict]:
    with GLOSSARY_PATH.open("rb") as handle:
        return tomllib.load(handle)["term"]


TERMS = _terms()


# ------------------------------------------------------------------------- the Chinese texts


def markdown_lines(path: Path) -> Iterator[Line]:
    """Prose lines of a Chinese page: fenced code is skipped (mermaid diagrams are read, their
    labels are prose), inline code is blanked, and quoted blog text is skipped."""
    fence = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            opening = FENCE.match(stripped)
            if opening:
                fence = (opening.group(1), opening.group(2) == "mermaid")
                continue
        else:
            marker, is_diagram = fence
            if stripped.startswith(marker) and not stripped.strip(marker[0]):
                fence = None
            elif is_diagram:
                yield path, number, line
            continue
        if path in QUOTES_BLOG and stripped.startswith(">"):
            continue
        yield path, number, INLINE_CODE.sub("", line)


def toml_zh_lines(path: Path) -> Iterator[Line]:
    """The lines inside the ``[... .zh]`` tables of a TOML file (multi-line strings followed)."""
    in_zh = in_string = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not in_string and line.startswith("["):
            in_zh = line.strip().endswith(".zh]")
            continue
        if in_zh:
            yield path, number, line
        if line.count('"""') % 2:
            in_string = not in_string


def po_msgstr_lines(path: Path) -> Iterator[Line]:
    """msgstr lines of a .po file, continuation lines included."""
    in_msgstr = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("msgstr"):
            in_msgstr = True
        elif not (in_msgstr and line.startswith('"')):
            in_msgstr = False
            continue
        yield path, number, line


def chinese_lines() -> Iterator[Line]:
    for page in sorted(DOCS_ZH.rglob("*.md")):
        yield from markdown_lines(page)
    yield from toml_zh_lines(CATALOGUE_PATH)
    for bank in sorted(QUESTIONS_DIR.glob("*.toml")):
        yield from toml_zh_lines(bank)
    if PO_PATH.is_file():
        yield from po_msgstr_lines(PO_PATH)


# ------------------------------------------------------------------------- the glossary itself


def test_glossary_is_well_formed():
    assert len(TERMS) >= 40, f"only {len(TERMS)} terms in {GLOSSARY_PATH.name}"
    problems = []
    for term in TERMS:
        where = f"term {term.get('en')!r}"
        for key in ("en", "zh"):
            if not isinstance(term.get(key), str) or not term[key].strip():
                problems.append(f"{where}: needs a non-empty {key}")
        if not isinstance(term.get("avoid", []), list):
            problems.append(f"{where}: avoid must be a list")
        unknown = set(term) - {"en", "zh", "avoid", "note"}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("en", "zh"):
        values = [term[key] for term in TERMS]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            problems.append(f"{key} used by two terms: {duplicates}")
    variants = [v for term in TERMS for v in term.get("avoid", [])]
    duplicates = sorted({v for v in variants if variants.count(v) > 1})
    if duplicates:
        problems.append(f"variants listed twice: {duplicates}")
    # A preferred name must never trip the check itself.
    for term in TERMS:
        for variant in term.get("avoid", []):
            clashes = [t["zh"] for t in TERMS if variant in t["zh"]]
            if clashes:
                problems.append(f"variant {variant!r} of {term['en']!r} is inside {clashes}")
    assert not problems, "\n".join(problems)


def test_preferred_names_are_what_the_docs_use():
    """Every Chinese name (with Chinese in it) is used in docs/zh: the glossary follows the docs."""
    text = "\n".join(line for _, _, line in chinese_lines())
    unused = [t["zh"] for t in TERMS if HAN.search(t["zh"]) and t["zh"] not in text]
    assert not unused, f"glossary names no Chinese text uses: {unused}"


# ------------------------------------------------------------------------- the scanners


def test_the_toml_scanner_sees_every_chinese_string():
    """Each line of each zh string (catalogue and bank, read by tomllib) lies in a scanned line."""
    files = [CATALOGUE_PATH, *sorted(QUESTIONS_DIR.glob("*.toml"))]
    missing = []
    for path in files:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        tables = [e.get("zh", {}) for e in data.get("exercise", [])]
        tables += [m.get("zh", {}) for m in data.get("mistakes", {}).values()]
        tables += [q.get("zh", {}) for q in data.get("question", [])]
        scanned_han = "".join(HAN.findall("".join(line for _, _, line in toml_zh_lines(path))))
        for table in tables:
            for value in table.values():
                for string in value if isinstance(value, list) else [value]:
                    for piece in str(string).splitlines():
                        # the scanner reads raw TOML: compare the Chinese characters only
                        han = "".join(HAN.findall(piece))
                        if han and han not in scanned_han:
                            missing.append(f"{path.name}: {piece[:60]}")
    assert not missing, "zh text outside the scanned lines:\n" + "\n".join(missing[:20])


def test_the_markdown_scanner_skips_code_and_blog_quotes(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "正文 段嵌入\n"
        "```python\n# 代码 片段嵌入\n```\n"
        "行内 `片段嵌入` 代码\n"
        '```mermaid\nA["图 段嵌入"]\n```\n'
        "    ```text\n    输出 片段嵌入\n    ```\n",
        encoding="utf-8",
    )
    texts = [text for _, _, text in markdown_lines(page)]
    assert any("正文" in t for t in texts) and any("图" in t for t in texts)
    assert not any("片段嵌入" in t for t in texts), texts


# ------------------------------------------------------------------------- the check


@pytest.mark.parametrize("term", [t for t in TERMS if t.get("avoid")], ids=lambda t: t["en"])
def test_no_chinese_text_uses_an_avoided_variant(term):
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {variant!r} -> {term['zh']!r}"
        for path, number, text in chinese_lines()
        for variant in term["avoid"]
        if variant in text
    ]
    assert not found, (
        f"{term['en']!r} is {term['zh']!r} in Chinese (docs/glossary.toml); found:\n"
        + "\n".join(found)
    )
