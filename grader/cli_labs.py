"""The ``lab`` and ``show`` commands: training runs and pictures built from the learner's pieces.

They live beside ``cli.py`` (same layer: parse options, call one function, set the exit code);
``cli.py`` registers them with ``register_labs``. The feature code is ``grader/lab/``,
imported inside the commands so that ``bertprep --help`` stays fast. (No ``from __future__
import annotations``: typer reads the annotations, and the language option's type is only
known inside ``register_labs``.)
"""

from enum import Enum

import typer
from rich.console import Console

from grader.i18n import _

Use = Enum("Use", {k: k for k in ("passed", "started", "reference")}, type=str)
USE_HELP = _("whose pieces: passed (yours that pass, else the reference's), started (every "
             "piece you have started, passing or not, to see what a bug does to a run) or "
             "reference")  # fmt: skip
TARGET_HELP = _("exercises | solutions | a folder laid out like exercises/")


def register_labs(app: typer.Typer, console: Console, lang_option, language_type,
                  resolve_folder) -> None:  # fmt: skip
    """Add ``bertprep lab finetune|pretrain`` and ``bertprep show attention`` to ``app``."""
    lab = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                      help=_("Training runs built from your own pieces, checked step by step "
                             "against the reference's run; each writes a figure and a report "
                             "to .bertprep/labs/."))  # fmt: skip
    show = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                       help=_("Pictures of what your code computes on the real weights."))
    app.add_typer(lab, name="lab")
    app.add_typer(show, name="show")

    @lab.callback()
    def lab_group(lang: language_type | None = lang_option) -> None:
        pass

    @show.callback()
    def show_group(lang: language_type | None = lang_option) -> None:
        pass

    @lab.command(help=_("Fine-tune all-MiniLM-L6-v2 on the shipped review set with your "
                        "bert_model, sequence-classification head and optimizer pieces; compare "
                        "with a frozen encoder + logistic regression and with the reference's "
                        "run under the same seed."))  # fmt: skip
    def finetune(
        quick: bool = typer.Option(False, "--quick", help=_("a few steps on a few examples")),
        target: str = typer.Option("exercises", help=TARGET_HELP),
        use: Use = typer.Option("passed", help=USE_HELP),
        seed: int = typer.Option(14, help=_("the seed of both runs")),
        lang: language_type | None = lang_option,
    ) -> None:
        from grader.lab.labs import finetune_lab

        folder = resolve_folder(target)
        raise typer.Exit(finetune_lab(console, folder, quick=quick, use=use.value, seed=seed))

    @lab.command(help=_("Pre-train a tiny BERT from scratch (masked LM) on the shipped corpus "
                        "with your masking rule and MLM head; fill-mask predictions on held-out "
                        "sentences before and after."))  # fmt: skip
    def pretrain(
        quick: bool = typer.Option(False, "--quick", help=_("a few steps on a few sentences")),
        target: str = typer.Option("exercises", help=TARGET_HELP),
        use: Use = typer.Option("passed", help=USE_HELP),
        seed: int = typer.Option(14, help=_("the seed of both runs")),
        lang: language_type | None = lang_option,
    ) -> None:
        from grader.lab.labs import pretrain_lab

        folder = resolve_folder(target)
        raise typer.Exit(pretrain_lab(console, folder, quick=quick, use=use.value, seed=seed))

    @show.command(help=_("The attention of all-MiniLM-L6-v2 on a text, computed with your "
                         "attention and multi-head code: a heat-map here and a PNG in "
                         ".bertprep/labs/."))  # fmt: skip
    def attention(
        text: str = typer.Argument(..., help=_("the text to look at")),
        layer: int = typer.Option(0, min=0, max=5, help=_("layer 0-5")),
        head: int = typer.Option(0, min=0, max=11, help=_("head 0-11")),
        target: str = typer.Option("exercises", help=TARGET_HELP),
        use: Use = typer.Option("passed", help=USE_HELP),
        lang: language_type | None = lang_option,
    ) -> None:
        from grader.lab.show import show_attention

        folder = resolve_folder(target)
        raise typer.Exit(show_attention(console, text, folder, layer=layer, head=head,
                                        use=use.value))  # fmt: skip
