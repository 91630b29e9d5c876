"""What the learner reads in a debug round: each check's report, the hint, the debrief.

A check report lists the modules in the order BERT runs them, up to the first one whose output
differs from the reference (with which of its parts already differ), then the two outputs and
how many of the seeded bugs remain. The debrief names every bug, where it was, whether it was
fixed, the docs page that explains it, and two follow-up questions from the bank.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from grader.catalogue import load_catalogue
from grader.debug.bugs import BY_ID, Bug, unit_line, unit_spans

SHOWN_OK = 3  # ok modules shown before the first divergence; the rest are counted
# Where each unit of the template runs, in the module tree's names.
RUNS_AS = {
    "gelu": "encoder.layer.N.intermediate",
    "additive_attention_mask": "the mask BertModel.forward hands every layer",
    "LayerNorm": "every LayerNorm (embeddings.LayerNorm, encoder.layer.N.*.LayerNorm)",
    "BertEmbeddings": "embeddings",
    "BertSelfAttention": "encoder.layer.N.attention.self",
    "BertSelfOutput": "encoder.layer.N.attention.output",
    "BertAttention": "encoder.layer.N.attention",
    "BertIntermediate": "encoder.layer.N.intermediate",
    "BertOutput": "encoder.layer.N.output",
    "BertLayer": "encoder.layer.N",
    "BertEncoder": "encoder",
    "BertPooler": "pooler",
    "BertModel": "BertModel.forward itself",
}


def remaining(result: dict) -> int | None:
    """How many seeded bugs are left (unknown ones count), None when nothing was probed."""
    bugs = result.get("bugs")
    if bugs is None:
        return None
    return sum(entry["status"] != "fixed" for entry in bugs.values())


def _diff(value: float | None) -> str:
    return "shape differs" if value is None else f"{value:.2g}"


def _row(row: dict) -> str:
    name = escape(row["name"])
    if row["status"] == "ok":
        return f"  {name} ok ({_diff(row['diff'])})"
    if row["status"] == "missing":
        text = f"  {name}: never ran in your model"
    elif row["status"] == "shape":
        text = f"  {name}: output shape {tuple(row['got'])}, BERT's is {tuple(row['want'])}"
    else:
        text = f"  [red]{name}: max diff {_diff(row['diff'])}[/]"
    return text + " [bold]<- first divergence[/]" if row.get("first") else text


def render_check(console: Console, result: dict) -> None:
    """One check's report (``compare.grade_file``'s dict, or an error from the sandbox)."""
    error = result.get("error")
    if error:
        console.print(f"[red]{escape(error['message'])}[/]")
    rows = result.get("modules", [])
    first = next((i for i, row in enumerate(rows) if row.get("first")), len(rows))
    shown = rows[: first + 1]
    if first > SHOWN_OK + 1:
        hidden = rows[SHOWN_OK : first - 1]
        worst = max((r["diff"] or 0.0) for r in hidden)
        shown = [*rows[:SHOWN_OK], None, *rows[first - 1 : first + 1]]
    for row in shown:
        if row is None:
            console.print(f"  [dim]... {len(hidden)} more modules ok (largest diff "
                          f"{worst:.2g}) ...[/]")  # fmt: skip
            continue
        console.print(_row(row))
        if row.get("first"):
            if row.get("agree"):
                console.print(f"    these parts of it agree: {escape(', '.join(row['agree']))}")
            if row.get("inside"):
                console.print(f"    the first part that differs: {escape(row['inside'])}")
    outputs = result.get("outputs")
    if outputs:
        tolerance = result.get("tolerance", 1e-4)
        console.print(f"  last_hidden_state max diff {_diff(outputs['last_hidden_state'])}, "
                      f"pooler_output max diff {_diff(outputs['pooler_output'])} (tolerance "
                      f"{tolerance:g}, real tokens; compared with the reference BertModel, "
                      "which the tests prove equal to transformers')")  # fmt: skip
    left, total = remaining(result), len(result.get("bugs_seeded", []))
    if result.get("passed"):
        console.print("[green]Your BertModel is BERT again: every module matches the reference "
                      "on the real weights.[/]")  # fmt: skip
    if left is not None and total:
        unknown = sum(e["status"] == "unknown" for e in result["bugs"].values())
        note = f" ({unknown} of them could not be tested in place)" if unknown else ""
        console.print(f"[bold]{left} of {total} bugs remain{note}.[/]")


def hint_text(bug: Bug, source: str | None) -> str:
    """Where one remaining bug is: its function or method, the line, the module it runs in."""
    unit = bug.units[0]
    line = unit_spans(source).get(unit, (0, 0))[0] if source else 0
    where = f" (line {line})" if line else ""
    return (f"Hint: one bug is in {unit}{where}, which runs as "
            f"{RUNS_AS.get(unit.split('.')[0], unit)}.")  # fmt: skip


def bug_rows(bug_ids: list[str], result: dict, original: str) -> list[dict]:
    """The debrief's facts per seeded bug."""
    catalogue = load_catalogue()
    status = result.get("bugs") or {}
    rows = []
    for bug_id in bug_ids:
        bug = BY_ID[bug_id]
        mistake = catalogue.mistakes.get(bug_id)
        rows.append(dict(
            id=bug_id, title=bug.title, where=", ".join(bug.units),
            line=unit_line(bug, original), fixed=status.get(bug_id, {}).get("status") == "fixed",
            docs=f"docs/en/{bug.docs}", fix=bug.fix,
            catalogue=mistake.sentence() if mistake else None,
        ))  # fmt: skip
    return rows


def print_debrief(console: Console, rows: list[dict], reason: str, questions: list) -> None:
    ending = {"done": "every bug is fixed", "time": "the time is up",
              "quit": "you stopped the round"}.get(reason, reason)  # fmt: skip
    console.rule(f"[bold]Debrief[/] — {ending}")
    fixed = sum(row["fixed"] for row in rows)
    console.print(f"You fixed {fixed} of {len(rows)} bugs.")
    for number, row in enumerate(rows, start=1):
        mark = "[green]fixed[/]" if row["fixed"] else "[red]not fixed[/]"
        console.print(f"{number}. {mark} [bold]{escape(row['id'])}[/]: {escape(row['title'])}")
        console.print(f"   where: {escape(row['where'])} (line {row['line']} of the file as "
                      "it was handed to you)")  # fmt: skip
        console.print(f"   fix: {escape(row['fix'])}")
        console.print(f"   read: {escape(row['docs'])}")
    if questions:
        console.print("[bold]Two questions an interviewer asks next:[/]")
        for question in questions:
            console.print(f"  - {escape(question.text('en').question)} [dim]({question.id})[/]")


def debrief_markdown(round_info: dict, rows: list[dict], reason: str, questions: list,
                     final_code: str) -> str:  # fmt: skip
    lines = [
        f"# Debug round {round_info['seed']}: {sum(r['fixed'] for r in rows)} of {len(rows)} "
        "bugs fixed",
        "",
        f"- started {round_info['created_at']}, ended ({reason}) {round_info.get('ended_at')}",
        f"- hints taken: {len(round_info.get('hints', []))}; checks run: "
        f"{len(round_info.get('checks', []))}",
        "",
        "| # | bug | where | fixed | read |",
        "|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, start=1):
        lines.append(f"| {number} | `{row['id']}`: {row['title']} | {row['where']} (line "
                     f"{row['line']}) | {'yes' if row['fixed'] else 'no'} | {row['docs']} |")
    for question in questions:
        text = question.text("en")
        lines += ["", f"## Follow-up: {question.id}", "", text.question, "", text.answer]
    lines += ["", "## Your file at the end", "", "```python", final_code.rstrip(), "```", ""]
    return "\n".join(lines)
