"""Every English quotation in the Chinese docs comes with a Chinese gloss.

The Chinese pages cite their sources verbatim: a sentence of the paper, a comment or docstring of
Google's or Hugging Face's code, an error message. A Chinese learner should not have to translate
them. So each English quotation on a ``docs/zh`` page has a short Chinese gloss next to it, in one
of two forms:

- **after** the quotation, introduced by a gloss word (大意 / 即 / 意思是 / 意为 / 也就是 / 译文),
  in the same paragraph (a citation such as ``（论文 §4.1）`` may sit in between) or at the start
  of the next one::

      > "We only introduce a start vector ..."
      >（大意：……）

      “prevent collapsing zero when training”，即防止训练时塌缩为零

- **before** it: the Chinese rendering is quoted first and the original follows in parentheses::

      目的是“学习位置嵌入”（论文附录 A.2：“to learn the positional embeddings”）

An English quotation is a run of at least ``MIN_WORDS`` English words in quotation marks (“…” or
"…") with no Chinese in it, or a blockquote line that is mostly English. Code (fenced blocks,
``Output`` blocks, inline code) and maths are not prose and are never counted; titles of papers
and sections (Title Case, "Attention Is All You Need") are names, not quotations.

``interview-questions.md`` is generated from the question bank (``grader/interview/questions``);
its Chinese text is written, and glossed, there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS_ZH = ROOT / "docs" / "zh"
GENERATED = {DOCS_ZH / "interview-questions.md"}
PAGES = [page for page in sorted(DOCS_ZH.rglob("*.md")) if page not in GENERATED]

MIN_WORDS = 6  # "more than a few words"
WINDOW = 80  # characters after a quotation (or before it, for the Chinese-first form)

HAN = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
FENCE = re.compile(r"^(`{3,}|~{3,})")
# Not prose: inline code, maths, link targets, bare URLs, HTML tags and comments.
CODE = "\u25aa"  # what a piece of code or maths becomes (neither a letter nor Chinese)
NOT_PROSE = [
    (re.compile(r"(`+)(?:(?!\1).)+\1"), CODE),
    (re.compile(r"\$\$.+?\$\$|\$[^$\s](?:[^$]*[^$\s])?\$"), CODE),
    (re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]"), CODE),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<https?://[^>]*>"), CODE),
    (re.compile(r"<!--.*?-->|</?[a-zA-Z][^>]*>"), ""),
]
QUOTED = re.compile(r"“([^“”]+)”|\"([^\"]+)\"")
NEW_UNIT = re.compile(r"^(#{1,6}\s|[-*+]\s|\d+[.)]\s|\||!!!|\?\?\?)")  # heading, list item,
# table row, admonition (its title is a unit of its own: a quoted title is not a gloss)
GLOSS_WORDS = r"(?:大意|即|意思是|意为|也就是说?|译文|译为)"
# A gloss word opens a clause or a parenthesis and is followed, soon, by Chinese.
GLOSS_AFTER = re.compile(
    r"(?:^|[（(，,；;：:。\s])\s*" + GLOSS_WORDS + r"\s*[：:]?[^（）()\n]{0,24}?[\u4e00-\u9fff]"
)


@dataclass
class Unit:
    """One paragraph, list item, table row or heading of prose, code and maths blanked."""

    line: int  # 1-based line of its first line
    text: str
    quote: bool  # inside a blockquote
    lines: list[tuple[int, int, int]]  # (line number, start, end) of each line in text


@dataclass
class Quotation:
    path: str
    line: int
    start: int
    end: int
    text: str


def prose(line: str) -> str:
    for pattern, replacement in NOT_PROSE:
        line = pattern.sub(replacement, line)
    return line


def units(markdown: str) -> list[Unit]:
    """The prose of a page, in order; fenced blocks (code, Output, diagrams) are left out."""
    found: list[Unit] = []
    current: Unit | None = None
    fence: str | None = None

    def close() -> None:
        nonlocal current
        if current is not None and current.text.strip():
            found.append(current)
        current = None

    for number, raw in enumerate(markdown.splitlines(), 1):
        stripped = raw.strip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        opening = FENCE.match(stripped)
        if opening:
            close()
            fence = opening.group(1)
            continue
        quote = stripped.startswith(">")
        body = re.sub(r"^(>\s?)+", "", stripped) if quote else stripped
        if not body or NEW_UNIT.match(body) or (current is not None and current.quote != quote):
            close()
        if not body:
            continue
        if current is None:
            current = Unit(number, "", quote, [])
        text = prose(body)
        separator = " " if current.text else ""
        start = len(current.text) + len(separator)
        current.text += separator + text
        current.lines.append((number, start, len(current.text)))
    close()
    return found


def is_english(text: str) -> bool:
    """At least MIN_WORDS English words, no Chinese, and not a Title Case name."""
    if HAN.search(text):
        return False
    words = WORD.findall(text)
    if len(words) < MIN_WORDS:
        return False
    significant = [w for w in words if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in significant)
    return not (significant and capitalised >= 0.75 * len(significant))


def mostly_english(text: str) -> bool:
    return len(WORD.findall(text)) >= MIN_WORDS and len(HAN.findall(text)) < len(WORD.findall(text))


def quotations(path: Path, markdown: str) -> list[tuple[Quotation, Unit, Unit | None]]:
    """English quotations with the unit they are in and the unit after it."""
    all_units = units(markdown)
    found = []
    for index, unit in enumerate(all_units):
        following = all_units[index + 1] if index + 1 < len(all_units) else None
        spans: list[tuple[int, int]] = []
        for match in QUOTED.finditer(unit.text):
            inner = match.group(1) if match.group(1) is not None else match.group(2)
            if is_english(inner):
                spans.append((match.start(), match.end()))
        if unit.quote:  # a blockquote: runs of mostly-English lines are quotations too
            run: list[tuple[int, int, int]] = []
            for entry in [*unit.lines, None]:
                if entry is not None and mostly_english(unit.text[entry[1]:entry[2]]):
                    run.append(entry)
                    continue
                if run:
                    spans.append((run[0][1], run[-1][2]))
                run = []
        for start, end in sorted(set(spans)):
            line = max(n for n, s, _ in unit.lines if s <= start)
            quotation = Quotation(
                str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name,
                line, start, end, unit.text[start:end],
            )
            found.append((quotation, unit, following))
    return found


def glossed(quotation: Quotation, unit: Unit, following: Unit | None) -> bool:
    after = unit.text[quotation.end:]
    if following is not None:
        after += "\n" + following.text
    window = after[:WINDOW]
    stop = window.find("。", 1)  # the gloss belongs to this sentence
    if stop != -1:
        window = window[: stop + 1]
    if GLOSS_AFTER.search(window):
        return True
    # The Chinese-first form: “中文”（出处：“original”）
    before = unit.text[: quotation.start]
    for match in reversed(list(QUOTED.finditer(before))):
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        if len(HAN.findall(inner)) < 2:
            continue
        between = before[match.end():]
        opened = between.count("（") + between.count("(")
        closed = between.count("）") + between.count(")")
        # the original opens a parenthesis right after the Chinese, and is still inside it
        return bool(re.match(r"\s*[（(]", between)) and len(between) <= WINDOW and opened > closed
    return False


def unglossed(path: Path, markdown: str) -> list[str]:
    return [
        f"{q.path}:{q.line}: {q.text[:90]!r}"
        for q, unit, following in quotations(path, markdown)
        if not glossed(q, unit, following)
    ]


# ------------------------------------------------------------------------- the scanner itself


SYNTHETIC_BAD = """\
# 页面

论文写道：“we use the representation of the first sub-token as the input”（§5.3）。然后即可继续。

> "The first token of every sequence is always a special classification token."

> We only introduce a start vector and an end vector during fine-tuning.
> The probability of word i being the start is a softmax.

注释写道 "Since the position embedding table is a learned variable, we create it"。

??? question "前馈层为什么这么宽？"
    论文沿用了它（“we set the feed-forward/filter size to be 4H”，§3 脚注）。
"""

SYNTHETIC_GOOD = """\
# 页面

论文写道：“we use the representation of the first sub-token as the input”（§5.3，即用第一个子词的表示作为输入）。

> "The first token of every sequence is always a special classification token."
>（大意：每个序列的第一个 token 总是一个特殊的分类 token。）

> We only introduce a start vector and an end vector during fine-tuning.
> The probability of word i being the start is a softmax.

（大意：微调时只引入起点向量和终点向量；词 i 是起点的概率由 softmax 给出。）

目的是“学习位置嵌入”（论文附录 A.2：“to learn the positional embeddings of the table”）。

报错 “Expected tensor for argument #1 'indices' to have one of the following types”，意思是 id 必须是整数。

```python
# This is a code comment with more than six English words in it
x = "a string literal with more than six English words"
```

```text
Output: this printed line has more than six English words
```

行内代码 `"a quoted string in inline code with many words"` 与公式 $\\text{a b c d e f g}$ 不算。
Vaswani et al. 2017, "Attention Is All You Need"：论文标题不是引文。

    ```text
    an indented output block inside an admonition, many words
    ```
"""


def test_the_scanner_finds_unglossed_quotations(tmp_path):
    page = tmp_path / "bad.md"
    found = unglossed(page, SYNTHETIC_BAD)
    assert len(found) == 5, found
    assert [int(f.split(":")[1]) for f in found] == [3, 5, 7, 10, 13], found


def test_the_scanner_accepts_glosses_and_skips_code(tmp_path):
    page = tmp_path / "good.md"
    assert len(quotations(page, SYNTHETIC_GOOD)) == 5  # code, maths and the title are skipped
    assert unglossed(page, SYNTHETIC_GOOD) == []


def test_a_citation_is_not_a_gloss(tmp_path):
    page = tmp_path / "cite.md"
    text = "见 “we set the feed-forward filter size to be four times H”（Devlin et al. §3 脚注）。"
    assert len(unglossed(page, text)) == 1


# ------------------------------------------------------------------------- the pages


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS_ZH)))
def test_every_english_quotation_has_a_chinese_gloss(page):
    found = unglossed(page, page.read_text(encoding="utf-8"))
    assert not found, (
        "English quotation without a Chinese gloss (add one right after it, e.g. "
        "“...”（大意：……）, or quote the Chinese first: “中文”（出处：“...”））:\n"
        + "\n".join(found)
    )
