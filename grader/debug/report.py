"""What the learner reads in a debug round: each check's report, the hint, the debrief.

A check report lists the modules in the order BERT runs them, up to the first one whose output
differs from the reference (with which of its parts already differ), then the two outputs and
how many of the seeded bugs remain. The debrief names every bug, where it was, whether it was
fixed, the docs page that explains it, and two follow-up questions from the bank.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.debug.bugs import BY_ID, Bug, unit_line, unit_spans
from grader.i18n import N_, _, language, ngettext

SHOWN_OK = 3  # ok modules shown before the first divergence; the rest are counted
# The hint for a unit that is no module of its own: whole sentences, (with the line, without).
HINTS_ELSEWHERE = {
    "additive_attention_mask": (
        N_("Hint: one bug is in {unit} (line {line}), which builds the mask that "
           "BertModel.forward hands every layer."),
        N_("Hint: one bug is in {unit}, which builds the mask that BertModel.forward hands "
           "every layer."),
    ),
    "LayerNorm": (
        N_("Hint: one bug is in {unit} (line {line}), which runs as every LayerNorm of the "
           "model (embeddings.LayerNorm, encoder.layer.N.*.LayerNorm)."),
        N_("Hint: one bug is in {unit}, which runs as every LayerNorm of the model "
           "(embeddings.LayerNorm, encoder.layer.N.*.LayerNorm)."),
    ),
    "BertModel": (
        N_("Hint: one bug is in {unit} (line {line}), which is BertModel.forward itself."),
        N_("Hint: one bug is in {unit}, which is BertModel.forward itself."),
    ),
}
# Where each other unit of the template runs, in the module tree's names.
RUNS_AS = {
    "gelu": "encoder.layer.N.intermediate",
    "BertEmbeddings": "embeddings",
    "BertSelfAttention": "encoder.layer.N.attention.self",
    "BertSelfOutput": "encoder.layer.N.attention.output",
    "BertAttention": "encoder.layer.N.attention",
    "BertIntermediate": "encoder.layer.N.intermediate",
    "BertOutput": "encoder.layer.N.output",
    "BertLayer": "encoder.layer.N",
    "BertEncoder": "encoder",
    "BertPooler": "pooler",
}


def remaining(result: dict) -> int | None:
    """How many seeded bugs are left (unknown ones count), None when nothing was probed."""
    bugs = result.get("bugs")
    if bugs is None:
        return None
    return sum(entry["status"] != "fixed" for entry in bugs.values())


def _diff(value: float | None) -> str:
    return _("shape differs") if value is None else f"{value:.2g}"


# One line per module: (the line, the line of the first divergence), whole sentences.
ROWS = {
    "ok": (N_("{module} ok ({diff:.2g})"), N_("{module} ok ({diff:.2g})")),
    "missing": (N_("{module}: never ran in your model"),
                N_("{module}: never ran in your model [bold]<- first divergence[/]")),
    "shape": (N_("{module}: output shape {got}, BERT's is {want}"),
              N_("{module}: output shape {got}, BERT's is {want} [bold]<- first divergence[/]")),
    "diff": (N_("[red]{module}: max diff {diff:.2g}[/]"),
             N_("[red]{module}: max diff {diff:.2g}[/] [bold]<- first divergence[/]")),
}  # fmt: skip


def _row(row: dict) -> str:
    plain, first = ROWS[row["status"]]
    message = _(first) if row.get("first") else _(plain)
    return "  " + message.format(module=escape(row["name"]), diff=row.get("diff") or 0.0,
                                 got=tuple(row.get("got", ())), want=tuple(row.get("want", ())))


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
            console.print("  " + ngettext(
                "[dim]... {n} more module ok (largest diff {worst:.2g}) ...[/]",
                "[dim]... {n} more modules ok (largest diff {worst:.2g}) ...[/]",
                len(hidden)).format(n=len(hidden), worst=worst))  # fmt: skip
            continue
        console.print(_row(row))
        if row.get("first"):
            if row.get("agree"):
                console.print("    " + _("these parts of it agree: {parts}").format(
                    parts=escape(", ".join(row["agree"]))))  # fmt: skip
            if row.get("inside"):
                console.print("    " + _("the first part that differs: {part}").format(
                    part=escape(row["inside"])))  # fmt: skip
    outputs = result.get("outputs")
    if outputs:
        tolerance = result.get("tolerance", 1e-4)
        console.print("  " + _(
            "last_hidden_state max diff {last}, pooler_output max diff {pooled} (tolerance "
            "{tolerance:g}, real tokens; compared with the reference BertModel, which the tests "
            "prove equal to transformers')").format(
                last=_diff(outputs["last_hidden_state"]), pooled=_diff(outputs["pooler_output"]),
                tolerance=tolerance))  # fmt: skip
    left, total = remaining(result), len(result.get("bugs_seeded", []))
    if result.get("passed"):
        console.print(_("[green]Your BertModel is BERT again: every module matches the "
                        "reference on the real weights.[/]"))  # fmt: skip
    if left is not None and total:
        unknown = sum(e["status"] == "unknown" for e in result["bugs"].values())
        if unknown:
            message = ngettext("[bold]{left} of {total} bug remains ({unknown} of them could not "
                               "be tested in place).[/]",
                               "[bold]{left} of {total} bugs remain ({unknown} of them could not "
                               "be tested in place).[/]", total)  # fmt: skip
        else:
            message = ngettext("[bold]{left} of {total} bug remains.[/]",
                               "[bold]{left} of {total} bugs remain.[/]", total)
        console.print(message.format(left=left, total=total, unknown=unknown))


def hint_text(bug: Bug, source: str | None) -> str:
    """Where one remaining bug is: its function or method, the line, the module it runs in."""
    unit = bug.units[0]
    line = unit_spans(source).get(unit, (0, 0))[0] if source else 0
    owner = unit.split(".")[0]
    with_line, without = HINTS_ELSEWHERE.get(owner) or (
        N_("Hint: one bug is in {unit} (line {line}), which runs as {module}."),
        N_("Hint: one bug is in {unit}, which runs as {module}."),
    )
    return _(with_line if line else without).format(unit=unit, line=line,
                                                     module=RUNS_AS.get(owner, unit))


def docs_page(page: str) -> str:
    """The page under docs/ in the current language (English when it has no translation)."""
    lang = language()
    return f"docs/{lang}/{page}" if (PROJECT_ROOT / "docs" / lang / page).is_file() else (
        f"docs/en/{page}")


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
            docs=docs_page(bug.docs), fix=bug.fix,
            catalogue=mistake.sentence() if mistake else None,
        ))  # fmt: skip
    return rows


# How a round ended: (the debrief's heading, the Markdown debrief's line), whole sentences.
ENDINGS = {
    "done": (N_("[bold]Debrief[/] — every bug is fixed"),
             N_("- started {started}, ended {ended}: every bug is fixed")),
    "time": (N_("[bold]Debrief[/] — the time is up"),
             N_("- started {started}, ended {ended}: the time was up")),
    "quit": (N_("[bold]Debrief[/] — you stopped the round"),
             N_("- started {started}, ended {ended}: you stopped the round")),
}  # fmt: skip


def _question_text(question):
    """A bank question in the current language (English where it has no translation)."""
    texts = getattr(question, "texts", {})
    return question.text(language() if language() in texts else "en")


def print_debrief(console: Console, rows: list[dict], reason: str, questions: list) -> None:
    heading = _(ENDINGS[reason][0]) if reason in ENDINGS else _(
        "[bold]Debrief[/] — {reason}").format(reason=escape(reason))  # fmt: skip
    console.rule(heading)
    fixed = sum(row["fixed"] for row in rows)
    console.print(ngettext("You fixed {fixed} of {total} bug.",
                           "You fixed {fixed} of {total} bugs.", len(rows)).format(
        fixed=fixed, total=len(rows)))  # fmt: skip
    for number, row in enumerate(rows, start=1):
        title, fix = row["title"], row["fix"]  # the bug's English: message ids
        title, fix = _(title), _(fix)
        line = (_("{number}. [green]fixed[/] [bold]{id}[/]: {title}") if row["fixed"]
                else _("{number}. [red]not fixed[/] [bold]{id}[/]: {title}"))  # fmt: skip
        console.print(line.format(number=number, id=escape(row["id"]), title=escape(title)))
        console.print("   " + _("where: {where} (line {line} of the file as it was handed to "
                                "you)").format(where=escape(row["where"]), line=row["line"]))
        console.print("   " + _("fix: {fix}").format(fix=escape(fix)))
        console.print("   " + _("read: {page}").format(page=escape(row["docs"])))
    if questions:
        console.print(_("[bold]Two questions an interviewer asks next:[/]"))
        for question in questions:
            console.print(f"  - {escape(_question_text(question).question)} "
                          f"[dim]({question.id})[/]")  # fmt: skip


def debrief_markdown(round_info: dict, rows: list[dict], reason: str, questions: list,
                     final_code: str) -> str:  # fmt: skip
    started, ended = round_info["created_at"], round_info.get("ended_at")
    ending = (_(ENDINGS[reason][1]) if reason in ENDINGS
              else _("- started {started}, ended {ended} ({reason})"))  # fmt: skip
    lines = [
        ngettext("# Debug round {seed}: {fixed} of {total} bug fixed",
                 "# Debug round {seed}: {fixed} of {total} bugs fixed", len(rows)).format(
            seed=round_info["seed"], fixed=sum(r["fixed"] for r in rows), total=len(rows)),
        "",
        ending.format(started=started, ended=ended, reason=reason),
        _("- hints taken: {hints}; checks run: {checks}").format(
            hints=len(round_info.get("hints", [])), checks=len(round_info.get("checks", []))),
        "",
        _("| # | bug | where | fixed | read |"),
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for number, row in enumerate(rows, start=1):
        where = _("{where} (line {line})").format(where=row["where"], line=row["line"])
        title = row["title"]
        title = _(title)
        fixed = _("yes") if row["fixed"] else _("no")
        lines.append(f"| {number} | `{row['id']}`: {title} | {where} | {fixed} | {row['docs']} |")
    for question in questions:
        text = _question_text(question)
        lines += ["", _("## Follow-up: {id}").format(id=question.id), "", text.question, "",
                  text.answer]  # fmt: skip
    lines += ["", _("## Your file at the end"), "", "```python", final_code.rstrip(), "```", ""]
    return "\n".join(lines)
