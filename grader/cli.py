"""The ``bertprep`` command."""

from __future__ import annotations

import os

import typer
from rich.console import Console

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="Practice BERT for interviews, graded against a reference proven equal to transformers.",
)
console = Console()


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        demo()


@app.command()
def demo() -> None:
    """Show the reference BERT agreeing with transformers on the real MiniLM weights."""
    from grader.demo import run_demo

    if not run_demo(console):
        raise typer.Exit(1)


@app.command()
def bench(
    repeats: int = typer.Option(30, help="timed rounds per contender"),
    batch: int = typer.Option(8),
    seq: int = typer.Option(128),
) -> None:
    """Forward-pass time of the reference vs transformers, interleaved in one run (a ratio)."""
    from grader.bench import forward_ratio

    result = forward_ratio(batch=batch, seq=seq, repeats=repeats)
    console.print(
        f"BertModel forward, all-MiniLM-L6-v2, batch {result['batch']} x {result['seq']}, "
        f"fp32, inference mode, {result['threads']} threads, median of {result['repeats']}:\n"
        f"  reference    {result['reference_ms']:8.2f} ms\n"
        f"  transformers {result['transformers_ms']:8.2f} ms (sdpa)\n"
        f"  ratio reference / transformers = [bold]{result['ratio']:.3f}[/] (target <= 1.00)"
    )


def main() -> None:
    app()
