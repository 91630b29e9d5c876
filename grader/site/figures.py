"""The docs' figures, drawn from the reference at build time (``build_site`` calls
``write_figures`` before mkdocs runs) into ``docs/<lang>/figures/`` (gitignored).

Why built and not committed: a PNG's bytes depend on the matplotlib and FreeType versions
that drew it, so a committed copy could not be tested for currency across machines; drawn from
the reference on every build they cannot go stale, and git holds no binaries that change
with every matplotlib release. Every figure is seeded and offline (the bundled
all-MiniLM-L6-v2, the reference's code); a stamp of this file, the reference and the library
versions lets a build skip drawing when nothing changed. Captions and alt text live in the
pages (docs/en and docs/zh), so each language words them itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from grader.catalogue import PROJECT_ROOT
from grader.lab.plots import new_figure, save
from grader.site.assets import DOCS_DIR, LANGUAGES

SENTENCE = "The cat sat on the mat because it was tired."
STAMP = ".stamp.json"


def figures_dir(language: str) -> Path:
    return DOCS_DIR / language / "figures"


def attention_heads(path: Path) -> None:
    """Four heads of all-MiniLM-L6-v2 on one sentence, each the head that best shows one
    habit: attending to the previous token, to the next one, to [CLS], to itself."""
    from grader.lab.attention import attention_maps

    maps = [attention_maps({"text": SENTENCE, "layer": layer}, {}) for layer in range(6)]
    tokens = maps[0]["tokens"]
    probs = torch.tensor([m["probs"] for m in maps])  # (layer, head, query, key)
    n = len(tokens)
    habits = {
        "previous token": torch.diagonal(probs, offset=-1, dim1=-2, dim2=-1).mean(-1),
        "next token": torch.diagonal(probs, offset=1, dim1=-2, dim2=-1).mean(-1),
        "[CLS]": probs[..., 0].mean(-1),
        "itself": torch.diagonal(probs, dim1=-2, dim2=-1).mean(-1),
    }
    figure = new_figure(11, 10)
    for ax, (habit, score) in zip(figure.subplots(2, 2).flat, habits.items(), strict=True):
        layer, head = divmod(int(score.argmax()), score.shape[1])
        ax.imshow(probs[layer, head].numpy(), cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(n), tokens, rotation=90, fontsize=8)
        ax.set_yticks(range(n), tokens, fontsize=8)
        ax.set_title(f"layer {layer}, head {head}: attends to {habit}", fontsize=10)
    save(figure, path)


def softmax_saturation(path: Path) -> None:
    """How peaked softmax(q·k) gets as d_head grows, with and without the 1/sqrt(d) scale."""
    generator = torch.Generator().manual_seed(14)
    dims = [2**k for k in range(1, 11)]
    curves: dict[str, list[list[float]]] = {"unscaled": [[], []], "scaled": [[], []]}
    for d in dims:
        q = torch.randn(2000, 1, d, generator=generator)
        k = torch.randn(2000, 32, d, generator=generator)
        scores = (q * k).sum(-1)  # (samples, keys): unit-variance q and k
        for name, s in (("unscaled", scores), ("scaled", scores / math.sqrt(d))):
            p = s.softmax(-1)
            jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
            curves[name][0].append(float(p.max(-1).values.mean()))
            curves[name][1].append(float(jacobian.flatten(1).norm(dim=1).mean()))
    figure = new_figure(11, 3.8)
    top, grad = figure.subplots(1, 2)
    for name, style in (("unscaled", "o-"), ("scaled", "s--")):
        label = "softmax(q·k)" if name == "unscaled" else "softmax(q·k / √d_head)"
        top.plot(dims, curves[name][0], style, label=label)
        grad.plot(dims, curves[name][1], style, label=label)
    top.set(title="largest attention weight (32 keys, mean of 2000 draws)", xscale="log",
            xlabel="d_head", ylim=(0, 1.02))  # fmt: skip
    grad.set(title="size of softmax's Jacobian (how much gradient gets through)",
             xscale="log", xlabel="d_head")  # fmt: skip
    for ax in (top, grad):
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.grid(alpha=0.3)
        ax.legend()
    save(figure, path)


def position_similarity(path: Path) -> None:
    """Cosine similarity between MiniLM's learned position embeddings 0-127."""
    from reference import read_safetensors
    from reference.weights import minilm_dir

    tensors = read_safetensors(minilm_dir() / "model.safetensors")
    weight = next(v for k, v in tensors.items() if k.endswith("position_embeddings.weight"))
    unit = torch.nn.functional.normalize(weight[:128].float(), dim=1)
    figure = new_figure(6.2, 5.2)
    ax = figure.subplots()
    image = ax.imshow((unit @ unit.T).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set(title="all-MiniLM-L6-v2: cosine similarity of position embeddings",
           xlabel="position", ylabel="position")  # fmt: skip
    figure.colorbar(image, ax=ax, shrink=0.85)
    save(figure, path)


def masking_draws(path: Path) -> None:
    """What the 15% / 80-10-10 rule does over many sequences (the reference's mask_tokens)."""
    from reference import mask_tokens

    generator = torch.Generator().manual_seed(14)
    ids = torch.randint(1000, 30000, (4000, 128), generator=generator)
    special = torch.zeros_like(ids)
    special[:, 0] = special[:, -1] = 1  # [CLS] ... [SEP]
    ids[:, 0], ids[:, -1] = 101, 102
    inputs, labels = mask_tokens(ids, special, mask_token_id=103, vocab_size=30522,
                                 generator=generator)  # fmt: skip
    selected = labels != -100
    shares = [float(selected.sum() / (special == 0).sum()),
              float((selected & (inputs == 103)).sum() / selected.sum()),
              float((selected & (inputs != 103) & (inputs != ids)).sum() / selected.sum()),
              float((selected & (inputs == ids)).sum() / selected.sum())]  # fmt: skip
    figure = new_figure(11, 3.8)
    bars, counts = figure.subplots(1, 2)
    names = ["selected\n(of 126 tokens)", "[MASK]\n(of selected)", "random\n(of selected)",
             "unchanged\n(of selected)"]  # fmt: skip
    bars.bar(range(4), [0.15, 0.8, 0.1, 0.1], 0.4, color="#7f7f7f", label="the rule")
    bars.bar([i + 0.4 for i in range(4)], shares, 0.4, color="#1f77b4",
             label="measured, 4000 sequences")  # fmt: skip
    bars.set_xticks([i + 0.2 for i in range(4)], names)
    bars.set(title="the 15% selection and the 80/10/10 split", ylim=(0, 1))
    per_sequence = selected.sum(1)
    counts.hist(per_sequence.tolist(), bins=range(0, 41), color="#1f77b4",
                label="per-token draws (transformers)")  # fmt: skip
    counts.axvline(19, color="#d62728", linestyle="--",
                   label="fixed count (Google: round(126 x 0.15))")  # fmt: skip
    counts.set(title="selected tokens per 128-token sequence", xlabel="tokens selected",
               ylabel="sequences")  # fmt: skip
    for ax in (bars, counts):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(figure, path)


def learning_rate(path: Path) -> None:
    """Warmup then linear decay: BERT's pre-training schedule and a fine-tuning one."""
    from reference.optim import linear_warmup_decay_factor

    figure = new_figure(11, 3.6)
    runs = (("BERT pre-training: 1M steps, peak 1e-4", 1_000_000, 10_000, 1e-4),
            ("fine-tuning: 3,000 steps, peak 2e-5", 3000, 300, 2e-5))
    for ax, (title, total, warmup, peak) in zip(figure.subplots(1, 2), runs, strict=True):
        steps = list(range(0, total + 1, max(1, total // 2000)))
        ax.plot(steps, [peak * linear_warmup_decay_factor(s, warmup, total) for s in steps])
        ax.axvline(warmup, color="#7f7f7f", linestyle=":", label=f"end of warmup ({warmup:,})")
        ax.set(title=title, xlabel="step", ylabel="learning rate")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(figure, path)


PAIRS = ("A man is playing a guitar.", "Someone is strumming a guitar on stage.",
         "The stock market fell sharply today.", "Shares dropped at the close of trading.",
         "A dog runs across the park.", "A puppy is chasing a ball on the grass.",
         "How do I bake bread at home?", "What is a simple recipe for homemade bread?")  # fmt: skip


def sentence_similarity(path: Path) -> None:
    """Cosine similarities of eight sentences (four pairs of paraphrases): [CLS] vectors
    against mean-pooled ones, on all-MiniLM-L6-v2."""
    from grader.lab.datasets import minilm_tokenizer
    from reference import BertModel, load_pretrained
    from reference.sentence import mean_pooling

    model = load_pretrained(BertModel)
    batch = minilm_tokenizer()(list(PAIRS), padding=True)
    ids, mask = torch.tensor(batch["input_ids"]), torch.tensor(batch["attention_mask"])
    with torch.inference_mode():
        hidden = model(ids, mask).last_hidden_state
    figure = new_figure(11, 4.6)
    for ax, (title, vectors) in zip(figure.subplots(1, 2), (
            ("[CLS] vector", hidden[:, 0]), ("mean of the token vectors", mean_pooling(
                hidden, mask))), strict=True):  # fmt: skip
        unit = torch.nn.functional.normalize(vectors, dim=1)
        similarity = unit @ unit.T
        image = ax.imshow(similarity.numpy(), cmap="viridis", vmin=0, vmax=1)
        for i in range(len(PAIRS)):
            for j in range(len(PAIRS)):
                ax.text(j, i, f"{float(similarity[i, j]):.2f}", ha="center", va="center",
                        fontsize=7, color="white" if similarity[i, j] < 0.6 else "black")
        ax.set_xticks(range(len(PAIRS)), [f"s{i + 1}" for i in range(len(PAIRS))])
        ax.set_yticks(range(len(PAIRS)), [f"s{i + 1}: {s[:28]}" for i, s in enumerate(PAIRS)],
                      fontsize=7)  # fmt: skip
        ax.set_title(f"cosine similarity, {title}", fontsize=10)
    figure.colorbar(image, ax=figure.axes, shrink=0.8)
    save(figure, path)


FIGURES: dict[str, Callable[[Path], None]] = {
    "attention-heads.png": attention_heads,
    "softmax-saturation.png": softmax_saturation,
    "position-similarity.png": position_similarity,
    "masking-draws.png": masking_draws,
    "learning-rate.png": learning_rate,
    "sentence-similarity.png": sentence_similarity,
}


def stamp() -> dict:
    import matplotlib

    sources = [Path(__file__), *sorted((PROJECT_ROOT / "reference").glob("*.py")),
               *sorted((PROJECT_ROOT / "grader" / "lab").glob("*.py"))]  # fmt: skip
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    return {"sources": digest, "matplotlib": matplotlib.__version__,
            "torch": torch.__version__, "figures": sorted(FIGURES)}  # fmt: skip


def current(folder: Path, expected: dict) -> bool:
    try:
        recorded = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == expected and all((folder / name).is_file() for name in FIGURES)


def write_figures(force: bool = False, quiet: bool = False) -> list[Path]:
    """Draw every figure into docs/en/figures/ and copy them to the other languages; skip
    the drawing when the stamp says nothing changed. Returns the figures' paths."""
    expected = stamp()
    first, *others = (figures_dir(language) for language in LANGUAGES)
    if force or not current(first, expected):
        first.mkdir(parents=True, exist_ok=True)
        previous = torch.get_num_threads()
        torch.set_num_threads(1)  # a second thread only waits when the other core is busy
        try:
            for name, draw in FIGURES.items():
                draw(first / name)
        finally:
            torch.set_num_threads(previous)
        (first / STAMP).write_text(json.dumps(expected), encoding="utf-8")
        if not quiet:
            print(f"docs: drew {len(FIGURES)} figures into {first}")
    paths = [first / name for name in FIGURES]
    for folder in others:
        if not current(folder, expected):
            folder.mkdir(parents=True, exist_ok=True)
            for path in [*paths, first / STAMP]:
                shutil.copyfile(path, folder / path.name)
    return paths
