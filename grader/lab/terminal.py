"""What the labs show in the terminal: progress bars fed by the runs' events, the epoch lines,
and heat-maps of attention drawn with rich (tokens on both axes)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from grader.i18n import _

# A light-to-dark blue ramp of the 256-colour palette, and shades that still read without
# colour (a pipe, a log): each cell is two characters of the shade in the ramp's colour.
RAMP = (253, 195, 153, 117, 111, 75, 69, 33, 27, 21, 19, 17)
SHADES = " ░░▒▒▒▓▓▓███"
MAX_MAP_TOKENS = 40


class RunProgress:
    """One bar per run ("reference", "yours"), fed with the runs' events as they come."""

    def __init__(self, console: Console, labels: dict[str, str], baseline: str | None = None):
        self.console = console
        self.labels = labels
        self.baseline = baseline
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
            console=console, transient=False,
        )  # fmt: skip
        self.tasks = {who: self.progress.add_task(label, total=None, note="")
                      for who, label in labels.items()}  # fmt: skip
        self.epochs: dict[str, int] = {}

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def feed(self, who: str, event: dict) -> None:
        task = self.tasks[who]
        kind = event.get("event")
        if kind == "begin":
            self.progress.update(task, total=event.get("total"))
        elif kind == "step":
            loss = event.get("loss", float("nan"))
            self.progress.update(task, completed=event.get("step"),
                                 note=_("loss {loss:.4f}").format(loss=loss))  # fmt: skip
        elif kind == "epoch":
            line = _("Epoch {n}, {run}: test accuracy {acc:.1%}").format(
                n=event.get("epoch"), run=self.labels[who], acc=event.get("accuracy", 0.0))
            if self.baseline:
                line += f" ({self.baseline})"
            self.progress.console.print(escape(line))


def _cell(value: float) -> Text:
    level = min(len(RAMP) - 1, max(0, int(value * len(RAMP))))
    return Text(SHADES[level] * 2, style=f"color({RAMP[level]})")


def _label(token: str, width: int) -> str:
    return token if len(token) <= width else token[: width - 1] + "…"


def heatmap(rows: list[str], columns: list[str], values: list[list[float]], *,
            title: str = "", scale: float | None = None) -> Group:  # fmt: skip
    """A grid of shaded cells, darker for larger values, with a legend of the columns below
    (their labels do not fit above two-character cells, so columns are numbered)."""
    top = scale if scale is not None else max((max(r) for r in values if r), default=1.0) or 1.0
    table = Table(show_header=True, box=None, padding=(0, 0), pad_edge=False, show_edge=False)
    table.add_column("", justify="right", no_wrap=True)
    for index in range(len(columns)):  # tens above units: column 12 reads 1 over 2
        tens = str(index // 10 % 10) if index >= 10 else " "
        table.add_column(f" {tens}\n {index % 10}", no_wrap=True, min_width=2, max_width=2)
    for label, row in zip(rows, values, strict=True):
        table.add_row(Text(f"{_label(label, 14)} │"), *(_cell(v / top) for v in row))
    legend = Text("  ".join(f"{i}:{_label(c, 12)}" for i, c in enumerate(columns)), style="dim")
    return Group(Text(title, style="bold"), table, legend) if title else Group(table, legend)


def attention_heatmap(tokens: list[str], probs: list[list[float]], title: str) -> Group:
    """Attention weights of one head: queries down, keys across, 0 (light) to 1 (dark)."""
    return heatmap(tokens, tokens, probs, title=title, scale=1.0)
