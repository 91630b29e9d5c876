"""The catalogue's parts and its Chinese sub-tables: parsed, validated, shown."""

from __future__ import annotations

from grader.catalogue import PARTS, catalogue_problems, load_catalogue, parse_catalogue


def entry(**overrides) -> dict:
    values = dict(id="x", title="t", file="e01_layer_norm.py", summary="s", blog=["beyond"],
                  docs="exercises/gelu.md", mistakes=["m"], hints=["a", "b", "c"])  # fmt: skip
    return {**values, **overrides}


def test_part_defaults_to_one_and_zh_to_empty():
    catalogue = parse_catalogue(
        {"exercise": [entry()], "mistakes": {"m": {"summary": "s", "fix": "f"}}}
    )
    exercise = catalogue.get("x")
    assert exercise.part == 1 and exercise.zh == {}
    assert catalogue.mistakes["m"].zh == {}


def test_zh_sub_tables_are_parsed_and_checked():
    zh = {"title": "标题", "summary": "摘要", "hints": ["一", "二", "三"]}
    data = {
        "exercise": [
            entry(part=2, zh=zh),
            entry(id="y", file="e02_gelu.py", zh={"title": "只有标题"}),
        ],
        "mistakes": {
            "m": {"summary": "s", "fix": "f", "zh": {"summary": "错", "fix": "改"}},
            "n": {"summary": "s", "fix": "f", "zh": {"summary": "错", "typo": "改"}},
        },
    }
    catalogue = parse_catalogue(data)
    assert catalogue.get("x").zh["hints"] == ("一", "二", "三")
    assert catalogue.mistakes["m"].zh == {"summary": "错", "fix": "改"}
    problems = "\n".join(catalogue_problems(catalogue))
    assert "exercise y: zh lacks summary" in problems
    assert "exercise y: zh lacks hints" in problems
    assert (
        "mistake n: zh lacks fix" in problems and "mistake n: zh has unknown key typo" in problems
    )
    assert "exercise x: zh" not in problems and "mistake m:" not in problems
    # part 2 (x, file e01) before part 1 (y, file e02) in learning order
    assert "later part come before an earlier part" in problems


def test_unknown_part_and_prerequisite_from_a_later_part():
    data = {
        "exercise": [entry(part=3), entry(id="y", file="e02_gelu.py", prerequisites=["x"])],
        "mistakes": {"m": {"summary": "s", "fix": "f"}},
    }
    problems = "\n".join(catalogue_problems(parse_catalogue(data)))
    assert "exercise x: part 3 is not one of" in problems
    assert "exercise y: prerequisite x is in a later part" in problems


def test_the_real_catalogue_has_its_parts_in_order():
    catalogue = load_catalogue()
    parts = catalogue.parts()
    assert [part for part, _ in parts] == sorted(PARTS)[: len(parts)]
    assert [e.id for _, group in parts for e in group] == catalogue.ids()
    for exercise in catalogue.exercises:
        if exercise.part == 2:  # Part II names its Part I prerequisites and speaks Chinese
            assert exercise.prerequisites, exercise.id
            assert exercise.zh, exercise.id
            assert all(catalogue.mistakes[m].zh for m in exercise.mistakes), exercise.id
