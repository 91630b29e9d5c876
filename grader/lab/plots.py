"""The labs' figures, drawn with matplotlib's object API on the Agg canvas (no display, no
global pyplot state) and saved without a software-version stamp, so that the same numbers
give the same picture."""

from __future__ import annotations

from pathlib import Path

PNG_METADATA = {"Software": None}
REFERENCE, YOURS, BASELINE = "#1f77b4", "#d62728", "#7f7f7f"


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata=PNG_METADATA)
    return path


def smooth(values: list[float], width: int) -> list[float]:
    """A trailing moving average (the first points average what there is)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def _steps(run: dict, key: str) -> tuple[list[int], list[float]]:
    return [s["step"] for s in run["steps"]], [s[key] for s in run["steps"]]


def finetune_figure(reference: dict, mine: dict | None, baseline: dict, path: Path,
                    departure_step: int | None = None) -> Path:  # fmt: skip
    figure = new_figure(12, 3.6)
    loss_ax, lr_ax, acc_ax = figure.subplots(1, 3)
    runs = [("reference", reference, REFERENCE)] + ([("yours", mine, YOURS)] if mine else [])
    for label, run, colour in runs:
        x, y = _steps(run, "loss")
        loss_ax.plot(x, y, color=colour, alpha=0.25, linewidth=0.8)
        loss_ax.plot(x, smooth(y, 8), color=colour, label=label, linewidth=1.6,
                     linestyle="--" if label == "yours" else "-")  # fmt: skip
        lr_ax.plot(*_steps(run, "lr"), color=colour, label=label,
                   linestyle="--" if label == "yours" else "-")  # fmt: skip
        epochs = [e["epoch"] for e in run["epochs"]]
        acc_ax.plot(epochs, [100 * e["accuracy"] for e in run["epochs"]], marker="o",
                    color=colour, label=f"fine-tuned ({label})")  # fmt: skip
    if departure_step is not None:
        for ax in (loss_ax, lr_ax):
            ax.axvline(departure_step, color=YOURS, linewidth=0.8, linestyle=":")
    acc_ax.axhline(100 * baseline["mean"], color=BASELINE, linestyle="--",
                   label="frozen + logistic regression (mean-pooled)")  # fmt: skip
    acc_ax.axhline(100 * baseline["cls"], color=BASELINE, linestyle=":",
                   label="frozen + logistic regression ([CLS])")  # fmt: skip
    loss_ax.set(title="training loss (smoothed over 8 steps)", xlabel="step", ylabel="loss")
    lr_ax.set(title="learning rate", xlabel="step", ylabel="lr")
    acc_ax.set(title="test accuracy", xlabel="epoch", ylabel="%", ylim=(40, 101))
    acc_ax.set_xticks([e["epoch"] for e in reference["epochs"]])
    for ax in (loss_ax, lr_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(figure, path)


def pretrain_figure(reference: dict | None, mine: dict | None, path: Path) -> Path:
    figure = new_figure(12, 3.6)
    loss_ax, lr_ax, mask_ax = figure.subplots(1, 3)
    runs = [(label, run, colour) for label, run, colour in
            (("reference", reference, REFERENCE), ("yours", mine, YOURS)) if run]  # fmt: skip
    for label, run, colour in runs:
        x, y = _steps(run, "loss")
        loss_ax.plot(x, y, color=colour, alpha=0.2, linewidth=0.6)
        loss_ax.plot(x, smooth(y, 50), color=colour, label=label, linewidth=1.6)
        lr_ax.plot(*_steps(run, "lr"), color=colour, label=label)
    loss_ax.set(title="MLM loss (smoothed over 50 steps)", xlabel="step", ylabel="loss")
    lr_ax.set(title="learning rate", xlabel="step", ylabel="lr")
    names = ["selected", "mask", "random", "unchanged"]
    expected = [0.15, 0.8, 0.1, 0.1]
    width = 0.8 / (len(runs) + 1)
    mask_ax.bar([i - width for i in range(4)], expected, width, color=BASELINE,
                label="the rule (15%, then 80/10/10)")  # fmt: skip
    for n, (label, run, colour) in enumerate(runs):
        shares = run["masking"]
        mask_ax.bar([i + n * width for i in range(4)], [shares[k] for k in names], width,
                    color=colour, label=label)  # fmt: skip
    mask_ax.set_xticks(range(4), ["selected\n(of tokens)", "[MASK]\n(of selected)",
                                  "random\n(of selected)", "unchanged\n(of selected)"],
                       fontsize=7)  # fmt: skip
    mask_ax.set(title="what the masking rule did", ylim=(0, 1))
    for ax in (loss_ax, lr_ax, mask_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(figure, path)


def attention_figure(tokens: list[str], probs: list[list[float]], title: str, path: Path) -> Path:
    size = min(10.0, 2.5 + 0.32 * len(tokens))
    figure = new_figure(size, size * 0.9)
    ax = figure.subplots()
    image = ax.imshow(probs, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set(xlabel="key (attended to)", ylabel="query (attending)", title=title)
    figure.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    return save(figure, path)
