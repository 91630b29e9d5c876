"""The first thing a new clone shows: the reference BERT and transformers agree on real weights."""

from __future__ import annotations

import os
import time

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.i18n import _

SENTENCES = [
    "BERT reads a sentence in both directions at once.",
    "The 80/10/10 rule keeps the model honest about unmasked tokens.",
    "北京是中国的首都。",
    "Naïve café owners don't pre-train transformers!",
]
TOLERANCE = 1e-4


def run_demo(console: Console | None = None) -> bool:
    """Print a small table comparing reference/ with transformers; True when all agree."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    import reference
    from reference.sentence import sentence_embeddings
    from reference.tokenizer import BertTokenizer

    console = console or Console()
    model_dir = reference.minilm_dir()
    where = _("real weights: all-MiniLM-L6-v2 from {path}").format(path=model_dir)
    console.print("[bold]bertprep[/] · " + escape(where))

    started = time.perf_counter()
    ours = reference.load_pretrained(reference.BertModel)
    ours_tok = BertTokenizer.from_vocab_file(model_dir / "vocab.txt")
    theirs = transformers.BertModel.from_pretrained(str(model_dir)).eval()
    theirs_tok = transformers.BertTokenizer.from_pretrained(str(model_dir))
    loaded = time.perf_counter() - started

    ours_batch = ours_tok(SENTENCES, padding=True)
    theirs_batch = theirs_tok(SENTENCES, padding=True, return_tensors="pt")
    ids_equal = ours_batch["input_ids"] == theirs_batch["input_ids"].tolist()
    inputs = {k: torch.tensor(v) for k, v in ours_batch.items()}
    with torch.inference_mode():
        got = ours(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
        want = theirs(**theirs_batch)
        ours_vec = sentence_embeddings(ours, **inputs)
    real = inputs["attention_mask"].bool()
    hidden = (got.last_hidden_state - want.last_hidden_state)[real].abs().max().item()
    pooled = (got.pooler_output - want.pooler_output).abs().max().item()
    mask = real.unsqueeze(-1).float()
    want_mean = (want.last_hidden_state * mask).sum(1) / mask.sum(1)
    want_vec = torch.nn.functional.normalize(want_mean, dim=1)
    sentence = (ours_vec - want_vec).abs().max().item()

    table = Table(title=_("reference/ vs transformers on all-MiniLM-L6-v2"), title_justify="left")
    table.add_column(_("check"))
    table.add_column(_("max |difference|"), justify="right")
    table.add_column(_("verdict"))
    rows = [
        (_("WordPiece token ids (4 sentences)"),
         _("identical") if ids_equal else _("differ"), ids_equal),
        (_("last_hidden_state, real tokens"), f"{hidden:.2e}", hidden < TOLERANCE),
        (_("pooler_output ([CLS] -> dense -> tanh)"), f"{pooled:.2e}", pooled < TOLERANCE),
        (_("sentence embedding (mean pool + L2)"), f"{sentence:.2e}", sentence < TOLERANCE),
    ]
    for name, value, ok in rows:
        verdict = _("equal") if ok else _("DIFFERENT")
        table.add_row(name, value, f"[green]{verdict}[/]" if ok else f"[red]{verdict}[/]")
    console.print(table)
    sims = ours_vec @ ours_vec.T
    console.print(_("cosine(sentence 1, sentence 2) = {a:.3f} · cosine(sentence 1, sentence 3) = "
                    "{b:.3f} · loaded in {seconds:.1f}s").format(
        a=sims[0, 1], b=sims[0, 2], seconds=loaded))  # fmt: skip
    console.print(_("The exercises are graded against this reference: run `bertprep` to start."))
    return all(row[2] for row in rows)
