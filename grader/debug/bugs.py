"""The debug round's bug pool, and the broken file made from the clean template.

Each bug is a set of named code fragments swapped inside its *units* (the functions or
methods of ``clean_bert.py`` it lives in): the clean fragment must occur exactly once in its
unit, so every replacement is explicit and every combination of bugs with distinct units is
valid Python (tests/test_debug.py applies each bug alone, and random combinations, and
proves each one changes the model's output on the real weights).

Bug ids are the catalogue's mistake ids where one matches (``grader/catalogue.toml``), so the
debrief and the exercises speak of the same mistake. Left out on purpose: LayerNorm's eps
outside the square root. With BERT's eps of 1e-12 it changes nothing a test can see, so a
reviewer could only find it by reading.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.i18n import N_, _, ngettext

TEMPLATE = Path(__file__).with_name("clean_bert.py")
DEFAULT_BUGS = 4
MAX_BUGS = 10

# The docstring of the file handed out: a first line, then HEADER (translated when written).
HEADER = N_("""A colleague wrote this BertModel: embeddings, a stack of encoder layers, the
pooler. It loads the real all-MiniLM-L6-v2 weights with load_state_dict and runs without an
error, but its outputs are not BERT's. Find the bugs and fix them here, in place. Save to
have the file graded, or run `bertprep debug --check`: it compares every module's output
with the reference BERT on real tokens and says where the two first part ways.

Keep the class and module names, the parameters, and the signatures of the functions and
methods: the grader builds BertModel(config), loads the weights and calls
model(input_ids, attention_mask, token_type_ids). Mask convention: attention_mask is 1 for
tokens, 0 for padding.""")


@dataclass(frozen=True)
class Bug:
    id: str  # the catalogue's mistake id where one matches
    title: str  # what is wrong, as a reviewer would say it (English; translated where shown)
    units: tuple[str, ...]  # "gelu", "BertSelfAttention.attention_scores"
    edits: tuple[tuple[str, str, str], ...]  # (unit, clean fragment, buggy fragment)
    first_divergence: str  # the module whose output is the first to differ, with this bug alone
    docs: str  # the page under docs/en/ that explains it
    fix: str  # what the clean code does instead (English; translated where shown)


def _bug(id, title, edits, first, docs, fix) -> Bug:
    units = tuple(dict.fromkeys(unit for unit, _, _ in edits))
    return Bug(id, title, units, tuple(edits), first, docs, fix)


SA = "BertSelfAttention"
LAYER0 = "encoder.layer.0"

BUGS: tuple[Bug, ...] = (
    _bug("mask_inverted",
         N_("the additive mask is inverted: real tokens are blocked, padding is attended to"),
         [("additive_attention_mask", "return (1.0 - keep) * torch.finfo(dtype).min",
           "return keep * torch.finfo(dtype).min")],
         f"{LAYER0}.attention.self", "exercises/padding_mask.md",
         N_("add 0 where the mask is 1 and the most negative number where it is 0: "
            "(1 - mask) * finfo(dtype).min")),
    _bug("unscaled_scores", N_("the attention scores are not divided by sqrt(head_size)"),
         [(f"{SA}.attention_scores", "key.transpose(-2, -1) / math.sqrt(self.head_size)",
           "key.transpose(-2, -1)")],
         f"{LAYER0}.attention.self", "exercises/attention.md",
         N_("scores = Q K^T / sqrt(head_size), before the softmax")),
    _bug("softmax_over_queries", N_("the softmax runs over the queries (dim=-2), not the keys"),
         [(f"{SA}.attention_probs", "F.softmax(scores, dim=-1)", "F.softmax(scores, dim=-2)")],
         f"{LAYER0}.attention.self", "exercises/attention.md",
         N_("softmax over the last axis, so each query's weights over the keys sum to 1")),
    _bug("mask_ignored", N_("the padding mask is never applied: real tokens attend to [PAD]"),
         [(f"{SA}.attention_probs",
           "if mask is not None:\n            scores = scores + mask\n        return",
           "return")],
         f"{LAYER0}.attention.self", "exercises/attention.md",
         N_("add the additive mask to the scores before the softmax")),
    _bug("mha_split_without_transpose",
         N_("the heads are split with a bare view, without the "
            "transpose, so positions are mixed into heads"),
         [(f"{SA}.split_heads",
           "x.view(batch, seq, self.num_heads, self.head_size).transpose(1, 2)",
           "x.view(batch, self.num_heads, seq, self.head_size)")],
         f"{LAYER0}.attention.self", "exercises/multi_head.md",
         N_("view as (batch, seq, heads, head_size), then transpose(1, 2)")),
    _bug("mha_merge_without_transpose",
         N_("the heads are merged with a bare reshape, without transposing back first"),
         [(f"{SA}.merge_heads", "x.transpose(1, 2).reshape(", "x.reshape(")],
         f"{LAYER0}.attention.self", "exercises/multi_head.md",
         N_("transpose(1, 2) back to (batch, seq, heads, head_size), then reshape")),
    _bug("mha_query_key_swapped",
         N_("queries and keys are swapped, so the score matrix is transposed"),
         [(f"{SA}.forward", "self.attention_scores(query, key)",
           "self.attention_scores(key, query)")],
         f"{LAYER0}.attention.self", "exercises/multi_head.md",
         N_("scores compare each query (rows) with every key (columns): "
            "attention_scores(query, key)")),
    _bug("projection_weight_not_transposed",
         N_("the attention's output projection multiplies by "
            "the weight as stored, (out, in), instead of its transpose"),
         [("BertSelfOutput.forward", "self.dense(hidden_states)",
           "hidden_states @ self.dense.weight + self.dense.bias")],
         f"{LAYER0}.attention.output", "exercises/encoder_layer.md",
         N_("nn.Linear computes x W^T + b: call self.dense(x), or use self.dense.weight.T")),
    _bug("layer_residual_after_norm",
         N_("the attention sub-layer adds the residual after the "
            "LayerNorm, so its output is never normalised"),
         [("BertSelfOutput.forward",
           "self.LayerNorm(input_tensor + self.dropout(self.dense(hidden_states)))",
           "input_tensor + self.LayerNorm(self.dropout(self.dense(hidden_states)))")],
         f"{LAYER0}.attention.output", "exercises/encoder_layer.md",
         N_("post-LN: LayerNorm(x + dropout(dense(attention(x))))")),
    _bug("layer_pre_ln",
         N_("the feed-forward sub-layer is pre-LN, h + FFN(LayerNorm(h)); BERT is post-LN"),
         [("BertLayer.forward", "self.intermediate(attention_output)",
           "self.intermediate(self.output.LayerNorm(attention_output))"),
          ("BertOutput.forward",
           "return self.LayerNorm(input_tensor + self.dropout(self.dense(hidden_states)))",
           "return input_tensor + self.dropout(self.dense(hidden_states))")],
         f"{LAYER0}.intermediate", "exercises/encoder_layer.md",
         N_("normalise the residual sum: LayerNorm(h + dropout(dense(gelu(dense(h)))))")),
    _bug("layer_ffn_residual_from_input",
         N_("the feed-forward's residual adds the layer's input, "
            "not the attention sub-layer's output"),
         [("BertLayer.forward", "self.output(intermediate_output, attention_output)",
           "self.output(intermediate_output, hidden_states)")],
         f"{LAYER0}.output", "exercises/encoder_layer.md",
         N_("the feed-forward's residual is its own input, the attention output")),
    _bug("dropout_in_eval",
         N_("F.dropout is called without training=self.training, so dropout stays on in eval mode"),
         [("BertOutput.forward", "self.dropout(self.dense(hidden_states))",
           "F.dropout(self.dense(hidden_states), p=self.dropout.p)")],
         f"{LAYER0}.output", "concepts/encoder-layer.md",
         N_("use the nn.Dropout module (it follows model.eval()), or pass training=self.training")),
    _bug("layernorm_bessel_variance",
         N_("LayerNorm's variance divides by N - 1 (torch.var's default), not N"),
         [("LayerNorm.forward", "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
           "var = x.var(dim=-1, keepdim=True)")],
         "embeddings", "exercises/layer_norm.md",
         N_("the biased variance: ((x - mean) ** 2).mean(-1), or var(unbiased=False)")),
    _bug("layernorm_wrong_axis",
         N_("LayerNorm takes its statistics over the sequence (dim=1), not "
            "over each token's hidden vector"),
         [("LayerNorm.forward", "mean = x.mean(dim=-1, keepdim=True)\n"
           "        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
           "mean = x.mean(dim=1, keepdim=True)\n"
           "        var = ((x - mean) ** 2).mean(dim=1, keepdim=True)")],
         "embeddings", "exercises/layer_norm.md",
         N_("mean and variance over the last axis (dim=-1), one pair per token")),
    _bug("gelu_tanh_approximation",
         N_("GELU is the tanh approximation; the checkpoint was trained with the exact erf form"),
         [("gelu", "torch.erf(x / math.sqrt(2.0))",
           "torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))")],
         f"{LAYER0}.intermediate", "exercises/gelu.md",
         "0.5 * x * (1 + erf(x / sqrt(2)))"),
    _bug("layer_relu_not_gelu", N_("the feed-forward uses ReLU where BERT uses GELU"),
         [("BertIntermediate.forward", "gelu(self.dense(hidden_states))",
           "F.relu(self.dense(hidden_states))")],
         f"{LAYER0}.intermediate", "exercises/encoder_layer.md",
         "gelu(self.dense(hidden_states))"),
    _bug("emb_positions_start_at_one",
         N_("position ids start at 1, so every token gets the next position's embedding"),
         [("BertEmbeddings.forward", "torch.arange(input_ids.size(1), device",
           "torch.arange(1, input_ids.size(1) + 1, device")],
         "embeddings", "exercises/embeddings.md",
         N_("BERT's positions are 0, 1, ..., seq - 1 (RoBERTa's offset is a different model)")),
    _bug("model_token_types_ignored",
         N_("token_type_ids are overwritten with zeros, so every token is treated as segment A"),
         [("BertModel.forward", "if token_type_ids is None:\n"
           "            token_type_ids = torch.zeros_like(input_ids)",
           "token_type_ids = torch.zeros_like(input_ids)")],
         "embeddings", "exercises/bert_model.md",
         N_("default to zeros only when no token_type_ids are given")),
    _bug("model_pooler_fed_embeddings",
         N_("the pooler reads the embeddings, not the last layer's output"),
         [("BertModel.forward", "self.pooler(sequence_output)", "self.pooler(hidden_states)")],
         "pooler", "exercises/bert_model.md",
         N_("pool the encoder's output: self.pooler(sequence_output)")),
    _bug("model_one_layer_reused",
         N_("the first layer runs num_hidden_layers times; the other layers never run"),
         [("BertEncoder.forward",
           "for layer in self.layer:\n            hidden_states = layer(hidden_states, mask)",
           "for _ in self.layer:\n            hidden_states = self.layer[0](hidden_states, mask)")],
         "encoder.layer.1.attention.self", "exercises/bert_model.md",
         N_("run each layer once, in order: for layer in self.layer")),
    _bug("pooler_missing_tanh", N_("the pooler has no tanh"),
         [("BertPooler.forward", "torch.tanh(self.dense(hidden_states[:, 0]))",
           "self.dense(hidden_states[:, 0])")],
         "pooler", "exercises/pooler.md",
         "tanh(dense(h_[CLS]))"),
)  # fmt: skip
BY_ID = {bug.id: bug for bug in BUGS}


@cache
def clean_source() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def unit_spans(source: str) -> dict[str, tuple[int, int]]:
    """{"gelu": (first line, last line), "BertSelfAttention.forward": ..., ...}, 1-based."""
    spans = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            spans[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            spans[node.name] = (node.lineno, node.end_lineno)
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    spans[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno)
    return spans


def _replace_in_unit(source: str, unit: str, old: str, new: str) -> str:
    spans = unit_spans(source)
    if unit not in spans:
        raise ValueError(f"the template has no {unit}")
    first, last = spans[unit]
    lines = source.splitlines(keepends=True)
    before, body, after = lines[: first - 1], "".join(lines[first - 1 : last]), lines[last:]
    if body.count(old) != 1:
        raise ValueError(f"{old!r} occurs {body.count(old)} times in {unit}, not once")
    return "".join(before) + body.replace(old, new) + "".join(after)


def apply_bugs(source: str, bugs: list[Bug], *, reverse: bool = False) -> str:
    """``source`` with each bug's fragments swapped in (or, ``reverse``, swapped back out)."""
    for bug in bugs:
        for unit, clean, broken in bug.edits:
            if not clean or not broken:
                raise ValueError(f"{bug.id}: a fragment is empty, so it cannot be swapped back")
            old, new = (broken, clean) if reverse else (clean, broken)
            source = _replace_in_unit(source, unit, old, new)
    compile(source, "broken_bert.py", "exec")
    return source


def conflict(a: Bug, b: Bug) -> bool:
    return bool(set(a.units) & set(b.units))


def choose_bugs(count: int, seed: int) -> list[Bug]:
    """``count`` bugs with distinct units, the same for the same seed, in file order."""
    if not 1 <= count <= MAX_BUGS:
        raise ValueError(f"a round has between 1 and {MAX_BUGS} bugs, not {count}")
    order = list(BUGS)
    random.Random(seed).shuffle(order)
    chosen: list[Bug] = []
    for bug in order:
        if len(chosen) < count and not any(conflict(bug, other) for other in chosen):
            chosen.append(bug)
    return sorted(chosen, key=lambda bug: unit_line(bug, clean_source()))


def unit_line(bug: Bug, source: str) -> int:
    """Where the bug's first unit starts in ``source`` (1-based), 0 if it is gone."""
    return unit_spans(source).get(bug.units[0], (0, 0))[0]


def broken_source(bugs: list[Bug], seed: int) -> str:
    """The round's file: the template with ``bugs`` in it and a header for the learner."""
    source = apply_bugs(clean_source(), bugs)
    tree = ast.parse(source)
    docstring = tree.body[0]
    lines = source.splitlines(keepends=True)
    first = ngettext("A BERT encoder with bugs in it: bertprep's debug round {seed}, {count} bug "
                     "to find.",
                     "A BERT encoder with bugs in it: bertprep's debug round {seed}, {count} bugs "
                     "to find.", len(bugs)).format(seed=seed, count=len(bugs))  # fmt: skip
    header = f'"""{first}\n\n{_(HEADER)}\n"""'
    return header + "\n" + "".join(lines[docstring.end_lineno :])
