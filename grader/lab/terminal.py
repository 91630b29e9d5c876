"""What the labs show in the terminal: progress bars fed by the runs' events, the epoch lines,
and heat-maps of attention drawn with rich (tokens on both axes)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader.feedback import heatmap
from grader.i18n import _


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


def attention_heatmap(tokens: list[str], probs: list[list[float]], title: str) -> Group:
    """Attention weights of one head: queries down, keys across, 0 (light) to 1 (dark)."""
    return heatmap(tokens, tokens, probs, title=title, scale=1.0)
