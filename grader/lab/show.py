"""The body of ``bertprep show attention``: one head's attention map on the real weights,
computed with the learner's attention code (in the sandbox) or the reference's, shown as a
heat-map in the terminal and saved as a PNG, and compared with the reference's."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console
from rich.markup import escape

from grader.i18n import _
from grader.lab import plots, report
from grader.lab.attention import MAX_TOKENS, attention_maps
from grader.lab.datasets import minilm_tokenizer
from grader.lab.isolated import QUICK_CPU_LIMIT_S, IsolatedJob
from grader.lab.labs import pick_pieces, torch_threads
from grader.lab.pieces import as_data, mine
from grader.lab.terminal import attention_heatmap

TOLERANCE = 1e-4


def show_attention(console: Console, text: str, folder: Path, *, layer: int = 0, head: int = 0,
                   use: str = "passed", root: Path | None = None) -> int:  # fmt: skip
    if not text.strip():
        console.print(escape(_("Give a text to look at, e.g. bertprep show attention \"The cat "
                               "sat on the mat.\"")))  # fmt: skip
        return 2
    pieces = pick_pieces(console, "attention", folder, use)
    settings = {"text": text, "layer": layer}
    with torch_threads(1):
        reference = attention_maps(settings, {})
    shown, error, whose = reference, None, _("the reference's code")
    if mine(pieces):
        with IsolatedJob("attention", settings, as_data(pieces), folder,
                         cpu_limit=QUICK_CPU_LIMIT_S) as job:  # fmt: skip
            job.start()
            result, error = job.finish()
        if result is not None:
            shown, whose = result, _("your code")
    tokens = shown["tokens"]
    probs = shown["probs"][head]
    if len(minilm_tokenizer().tokenize(text)) + 2 > MAX_TOKENS:
        console.print(escape(_("The text is longer than {n} tokens; the map shows its first "
                               "{n}.").format(n=MAX_TOKENS)))  # fmt: skip
    title = _("layer {layer}, head {head}, computed with {whose}").format(
        layer=layer, head=head, whose=whose)  # fmt: skip
    console.print(attention_heatmap(tokens, probs, title))
    console.print(escape(_("Rows are queries (the token attending), columns keys (the token "
                           "attended to); darker is more weight, each row sums to 1.")))
    folder_out = report.lab_folder("attention", root)
    path = plots.attention_figure(tokens, probs, title, folder_out / "attention.png")
    status = 0
    if error:
        console.print(escape(_("Your code could not compute the map, so this is the reference's: "
                               "{error}").format(error=error)))  # fmt: skip
        status = 1
    elif shown is not reference:
        difference = float((torch.tensor(shown["probs"]) - torch.tensor(reference["probs"]))
                           .abs().max())  # fmt: skip
        if difference > TOLERANCE:
            console.print(escape(_("Your attention differs from the reference's by up to "
                                   "{diff:.3g} at this layer (the reference's map is "
                                   "attention-reference.png).").format(diff=difference)))
            plots.attention_figure(tokens, reference["probs"][head],
                                   _("layer {layer}, head {head}, the reference's").format(
                                       layer=layer, head=head),
                                   folder_out / "attention-reference.png")  # fmt: skip
            status = 1
        else:
            console.print(escape(_("Your attention equals the reference's at this layer (all "
                                   "{heads} heads, within {tol:g}).").format(
                heads=len(reference["probs"]), tol=TOLERANCE)))  # fmt: skip
    console.print(escape(_("Figure: {path}").format(path=path)))
    return status
