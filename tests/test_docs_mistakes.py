"""Each exercise's docs page lists its classic mistakes, by id, in both languages.

The catalogue (``grader/catalogue.toml``) gives every exercise a ``mistakes`` list; the grader
names those ids in its verdicts, and ``grader/AUTHORING.md`` (step 6) asks the exercise's page to
explain the same ids. So, for ``docs/en/<docs>`` and ``docs/zh/<docs>``:

- every id the exercise lists appears, in inline code (`` `id` ``), in the page's mistakes
  section (``## Pitfalls`` / ``## 常见错误``, up to the next ``##`` heading);
- the page names no catalogue mistake id that the exercise does not list, anywhere outside
  fenced code. A cross-reference to another exercise's mistake is allowed when the same line
  links to a page of an exercise that lists it (``(`mask_after_softmax` in the
  [attention](attention.md) exercise)``).

Only the catalogue's own ids are looked for (whole snake_case words), so ordinary code names on
a page are never mistaken for mistake ids.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from grader.catalogue import PROJECT_ROOT, load_catalogue

DOCS = PROJECT_ROOT / "docs"
LANGUAGES = ("en", "zh")
SECTION_TITLES = {"en": "Pitfalls", "zh": "常见错误"}
ID_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")  # what every mistake id looks like
WORD = re.compile(r"[A-Za-z0-9_]+")
FENCE = re.compile(r"^(`{3,}|~{3,})")
LINK_TARGET = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")

CATALOGUE = load_catalogue()
ALL_IDS = frozenset(CATALOGUE.mistakes)
# a page (its name, e.g. "attention.md") -> the mistake ids of the exercise it documents
LISTED_BY_PAGE = {PurePosixPath(e.docs).name: frozenset(e.mistakes) for e in CATALOGUE.exercises}


def prose_lines(markdown: str) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line outside fenced code blocks."""
    found, fence = [], None
    for number, line in enumerate(markdown.splitlines(), 1):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        opening = FENCE.match(stripped)
        if opening:
            fence = opening.group(1)
            continue
        found.append((number, line))
    return found


def mistakes_section(markdown: str, language: str) -> str | None:
    """The text of the ``## Pitfalls`` / ``## 常见错误`` section, or None when there is none."""
    title = SECTION_TITLES[language]
    inside, lines = False, None
    for _, line in prose_lines(markdown):
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == title
            if inside:
                lines = []
            continue
        if inside:
            lines.append(line)
    return None if lines is None else "\n".join(lines)


def missing_ids(markdown: str, language: str, listed: frozenset[str]) -> list[str]:
    """Listed ids that the mistakes section does not show in inline code."""
    section = mistakes_section(markdown, language)
    if section is None:
        return [f"no '## {SECTION_TITLES[language]}' section"]
    shown = set(re.findall(r"`([^`\s]+)`", section))
    return sorted(m for m in listed if m not in shown)


def foreign_ids(
    markdown: str,
    listed: frozenset[str],
    all_ids: frozenset[str] = ALL_IDS,
    listed_by_page: dict[str, frozenset[str]] = LISTED_BY_PAGE,
) -> list[str]:
    """Catalogue mistake ids on the page that the exercise does not list (and that are not a
    linked cross-reference to the exercise that does), as 'line N: id'."""
    found = []
    for number, line in prose_lines(markdown):
        for word in sorted(set(WORD.findall(line)) & (all_ids - listed)):
            linked = {PurePosixPath(target).name for target in LINK_TARGET.findall(line)}
            if any(word in listed_by_page.get(page, ()) for page in linked):
                continue
            found.append(f"line {number}: {word}")
    return found


# ------------------------------------------------------------------------- the checker itself

SYNTHETIC_IDS = frozenset({"toy_scale_missing", "toy_mask_ignored", "other_sign_flipped"})
SYNTHETIC_LISTED = frozenset({"toy_scale_missing", "toy_mask_ignored"})
SYNTHETIC_PAGES = {"toy.md": SYNTHETIC_LISTED, "other.md": frozenset({"other_sign_flipped"})}

SYNTHETIC_GOOD = """\
# Toy

Unlike `other_sign_flipped` in the [other](other.md) exercise, nothing here flips a sign.

```python
other_sign_flipped = True  # code is not prose
```

## Pitfalls

| mistake id | what goes wrong | fix |
|---|---|---|
| `toy_scale_missing` | no scale | scale |
| `toy_mask_ignored` | no mask | mask |

## Sources
"""

SYNTHETIC_BAD = """\
# Toy

The grader may say other_sign_flipped here, with no link to the exercise that owns it.

## Pitfalls

| mistake id | what goes wrong | fix |
|---|---|---|
| `toy_scale_missing_entirely` | no scale | scale |

The mask (toy_mask_ignored) is only mentioned in passing, not as a code id.

## Sources

`toy_mask_ignored` after the section does not count either.
"""


def test_a_page_with_every_id_and_a_linked_cross_reference_passes():
    assert missing_ids(SYNTHETIC_GOOD, "en", SYNTHETIC_LISTED) == []
    assert foreign_ids(SYNTHETIC_GOOD, SYNTHETIC_LISTED, SYNTHETIC_IDS, SYNTHETIC_PAGES) == []


def test_missing_and_foreign_ids_are_found():
    # a longer id that starts with a listed one is not that id; prose without backticks and
    # a mention after the section do not count
    assert missing_ids(SYNTHETIC_BAD, "en", SYNTHETIC_LISTED) == [
        "toy_mask_ignored",
        "toy_scale_missing",
    ]
    assert foreign_ids(SYNTHETIC_BAD, SYNTHETIC_LISTED, SYNTHETIC_IDS, SYNTHETIC_PAGES) == [
        "line 3: other_sign_flipped"
    ]


def test_a_page_without_a_mistakes_section_is_reported():
    page = "# 玩具\n\n## 思路\n\n`toy_scale_missing`\n"
    assert missing_ids(page, "zh", SYNTHETIC_LISTED) == ["no '## 常见错误' section"]


def test_a_cross_reference_must_link_to_the_exercise_that_lists_it():
    line = "Compare `other_sign_flipped` in the [toy](toy.md) exercise.\n"
    found = foreign_ids(line, frozenset(), SYNTHETIC_IDS, SYNTHETIC_PAGES)
    assert found == ["line 1: other_sign_flipped"]


def test_every_catalogue_id_looks_like_an_id():
    """The page scan looks for whole snake_case words: every id must be one."""
    odd = sorted(m for m in ALL_IDS if not ID_PATTERN.fullmatch(m))
    assert not odd, f"mistake ids that are not snake_case with an underscore: {odd}"


# ------------------------------------------------------------------------- the pages

CASES = [(e, lang) for e in CATALOGUE.exercises for lang in LANGUAGES]


def _page(exercise, language) -> Path:
    return DOCS / language / exercise.docs


@pytest.mark.parametrize("exercise, language", CASES, ids=lambda v: getattr(v, "id", v))
def test_the_page_lists_the_exercise_mistakes(exercise, language):
    page = _page(exercise, language)
    missing = missing_ids(page.read_text(encoding="utf-8"), language, frozenset(exercise.mistakes))
    assert not missing, (
        f"{page.relative_to(PROJECT_ROOT)}: mistakes of {exercise.id!r} (grader/catalogue.toml) "
        f"missing from its '## {SECTION_TITLES[language]}' section (as `id`): {missing}"
    )


@pytest.mark.parametrize("exercise, language", CASES, ids=lambda v: getattr(v, "id", v))
def test_the_page_names_no_other_mistake(exercise, language):
    page = _page(exercise, language)
    found = foreign_ids(page.read_text(encoding="utf-8"), frozenset(exercise.mistakes))
    assert not found, (
        f"{page.relative_to(PROJECT_ROOT)}: mistake ids that {exercise.id!r} does not list in "
        "grader/catalogue.toml (a cross-reference must link the exercise that lists it on the "
        "same line):\n" + "\n".join(found)
    )
