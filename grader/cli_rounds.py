"""The ``drill`` and ``debug`` commands, and the drill hooks of other commands.

They live beside ``cli.py`` (same layer: parse options, call one function, set the exit code)
so that the app module stays short; ``cli.py`` registers them with ``register_rounds``.
Feature modules are imported inside the commands, so ``bertprep --help`` stays fast.
(No ``from __future__ import annotations`` here: typer reads the commands' annotations, and
the language option's type is only known inside ``register_rounds``.)
"""

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from grader.i18n import N_, _

CodingRound = Enum("CodingRound", {k: k for k in ("exercise", "drill", "debug")}, type=str)
# Translated where it is used (this module is imported before the language is chosen).
CODING_ROUND_HELP = N_("what the coding round is: a plain exercise, a drill of a passed "
                       "exercise, or a debug round (a whole BertModel with seeded bugs)")


def drills_due(catalogue, progress) -> int:
    """For the overview: how many drills are due now."""
    from grader.drill.schedule import due_count

    return due_count(catalogue, progress)


def refuse_while_drilling(exercise) -> None:
    """Hints and solutions stay locked while a drill of the exercise runs."""
    from grader.drill.workspace import running_drill

    running = running_drill(exercise.id)
    if running is not None:
        message = _("A drill of {id} is running ({folder}): its hints and solution stay locked "
                    "until the drill ends.").format(id=exercise.id,
                                                    folder=running.get("folder"))  # fmt: skip
        Console(stderr=True, highlight=False).print(f"[red]{escape(message)}[/]")
        raise typer.Exit(1)


def register_rounds(app: typer.Typer, console: Console, lang_option, language_type,
                    resolve_id) -> None:  # fmt: skip
    """Add ``bertprep drill`` and ``bertprep debug`` to ``app``."""

    @app.command(help=_("Spaced repetition over code: write a passed exercise again from its "
                        "blank stub, against the clock, graded on every save; how it went "
                        "schedules the next drill (FSRS). Hints and solutions are locked while "
                        "it runs."))  # fmt: skip
    def drill(
        exercise_id: str | None = typer.Argument(
            None, help=_("a passed exercise to drill now (default: the most overdue drill)")
        ),
        list_due: bool = typer.Option(False, "--list",
                                      help=_("show every drill and when it is due")),
        minutes: float | None = typer.Option(
            None, min=1, help=_("the countdown (default: from the exercise's size)")
        ),
        editor: bool = typer.Option(True, "--editor/--no-editor",
                                    help=_("open $EDITOR on the file")),
        lang: language_type | None = lang_option,
    ) -> None:
        from grader.catalogue import load_catalogue
        from grader.drill.session import drill_command

        catalogue = load_catalogue()
        exercise = resolve_id(catalogue, exercise_id) if exercise_id else None
        raise typer.Exit(drill_command(console, catalogue, exercise, list_only=list_due,
                                       minutes=minutes, editor=editor))  # fmt: skip

    @app.command(help=_("The debug round: a whole BertModel with seeded bugs, checked on the "
                        "real weights on every save (where it first differs from BERT, how many "
                        "bugs are left), then a debrief. --check [PATH] checks once; --hint "
                        "points at one remaining bug of the latest round."))  # fmt: skip
    def debug(
        path: Path | None = typer.Argument(
            None, help=_("with --check: the file to check (default: the latest round's)")
        ),
        bugs: int = typer.Option(4, min=1, max=10, help=_("how many bugs to seed")),
        seed: int | None = typer.Option(None, help=_("the same seed gives the same bugs")),
        minutes: float | None = typer.Option(
            None, min=1, help=_("the round's time (default: 5 per bug, at least 10)")
        ),
        check: bool = typer.Option(False, "--check", help=_("check a file once and exit")),
        hint: bool = typer.Option(False, "--hint", help=_("a hint for the latest round")),
        editor: bool = typer.Option(True, "--editor/--no-editor",
                                    help=_("open $EDITOR on the file")),
        lang: language_type | None = lang_option,
    ) -> None:
        from grader.debug.round import check_command, hint_command, run_debug

        if check:
            passed = check_command(console, path)
            raise typer.Exit(2 if passed is None else 0 if passed else 1)
        if hint:
            raise typer.Exit(0 if hint_command(console) else 1)
        raise typer.Exit(0 if run_debug(console, bugs=bugs, seed=seed, minutes=minutes,
                                        editor=editor) else 1)  # fmt: skip
