"""What check modules use to compare a learner's output with the reference and explain failures.

Every failure is a :class:`CheckFailure` carrying, in the learner's terms, which input was
used, what was expected, what came back, and — when the output matches a known mistake —
that mistake's id. The pytest plugin turns it into a verdict line; no traceback is shown.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from grader.i18n import _
from grader.sandbox.failure import CheckFailure  # raised by checks, read by the plugin

__all__ = ["CheckFailure"]  # re-exported: check modules import it from the kit


def fail(message: str, *, inputs: str | None = None, diagnosis: str | None = None) -> None:
    raise CheckFailure(message, inputs=inputs, diagnosis=diagnosis)


def describe(**dims: Any) -> str:
    """``describe(batch=2, seq=5)`` -> "batch=2, seq=5" (None values are left out)."""
    return ", ".join(f"{k}={v}" for k, v in dims.items() if v is not None)


def describe_mask(mask: Tensor) -> str:
    """A short account of a 0/1 padding mask (batch, seq): which rows have padding."""
    padded = (mask == 0).sum(dim=-1).tolist()
    parts = [_("{n} padded in row {row}").format(n=n, row=row)
             for row, n in enumerate(padded) if n]  # fmt: skip
    full = [row for row, n in enumerate(padded) if n == mask.shape[-1]]
    if full:
        parts.append(_("rows {rows} fully padded").format(rows=full))
    return _("no padding") if not parts else _("; ").join(parts)


def _fmt(values: Tensor | list[float]) -> str:
    values = values.tolist() if isinstance(values, Tensor) else values
    return "[" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values) + "]"


def expect_context_and_probs(
    result: Any, *, query: Tensor, seq_k: int, inputs: str, dtype: torch.dtype | None = None
) -> tuple[Tensor, Tensor]:
    """An attention function's ``(context, probs)``: a pair first, then each tensor's type,
    shape (batch, heads, seq_q, d_head) / (batch, heads, seq_q, seq_k) and, if given, dtype."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        kind = type(result).__name__
        if isinstance(result, tuple | list):
            fail(_("return a pair (context, probs), got {kind} of length {length}").format(
                kind=kind, length=len(result)), inputs=inputs)  # fmt: skip
        fail(_("return a pair (context, probs), got {kind}").format(kind=kind), inputs=inputs)
    b, h, s, d = query.shape
    context, probs = result
    expect_tensor(probs, name="probs", shape=(b, h, s, seq_k), dtype=dtype, inputs=inputs,
                  shape_names="(batch, heads, seq_q, seq_k)")  # fmt: skip
    expect_tensor(context, name="context", shape=(b, h, s, d), dtype=dtype, inputs=inputs,
                  shape_names="(batch, heads, seq_q, d_head)")  # fmt: skip
    return context, probs


def expect_tensor(
    got: Any,
    *,
    name: str,
    shape: tuple[int, ...],
    dtype: torch.dtype | None = None,
    inputs: str | None = None,
    shape_names: str | None = None,
) -> Tensor:
    """Type, then shape, then dtype: the cheapest, clearest failures first."""
    if not isinstance(got, Tensor):
        kind = type(got).__name__
        if got is None:
            message = _("{name} should be a torch.Tensor, got {kind} (did you forget to return "
                        "it?)")  # fmt: skip
        elif isinstance(got, tuple | list):
            message = _("{name} should be a torch.Tensor, got {kind} of length {length} (return a "
                        "single tensor here)")  # fmt: skip
        else:
            message = _("{name} should be a torch.Tensor, got {kind}")
        length = len(got) if isinstance(got, tuple | list) else 0
        fail(message.format(name=name, kind=kind, length=length), inputs=inputs)
    if tuple(got.shape) != tuple(shape):
        named = f" {shape_names}" if shape_names else ""
        raise CheckFailure(
            _("{name} has the wrong shape").format(name=name),
            inputs=inputs,
            expected=_("shape {shape}").format(shape=tuple(shape)) + named,
            got=_("shape {shape}").format(shape=tuple(got.shape)),
            diagnosis=None,
        )
    if dtype is not None and got.dtype != dtype:
        fail(_("{name} should have dtype {dtype}, got {got}").format(
            name=name, dtype=dtype, got=got.dtype), inputs=inputs)  # fmt: skip
    return got


def _is_close(got: Tensor, want: Tensor, atol: float, rtol: float) -> bool:
    if got.shape != want.shape:
        return False
    if got.dtype.is_floating_point or want.dtype.is_floating_point:
        return bool(
            torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol, equal_nan=True)
        )
    return bool(torch.equal(got, want))


def diagnose(
    got: Tensor,
    mistakes: Mapping[str, Callable[[], Tensor]] | None,
    atol: float,
    rtol: float = 0.0,
    want: Tensor | None = None,
    want_tolerance: tuple[float, float] | None = None,
) -> str | None:
    """The first known mistake whose output the learner's output matches, if any. A mistake
    whose output equals ``want`` (the reference's) on this input, within ``want_tolerance``
    (the check's own atol, rtol; default ``atol, rtol``), explains nothing here: it is passed
    over, so an unrelated error is never given its name."""
    same_atol, same_rtol = want_tolerance or (atol, rtol)
    for mistake_id, make_output in (mistakes or {}).items():
        try:
            wrong = make_output()
        except Exception:  # a mistake model that cannot run on this input says nothing
            continue
        if not isinstance(wrong, Tensor) or (
            want is not None and _is_close(want.detach(), wrong.detach(), same_atol, same_rtol)
        ):
            continue
        if _is_close(got.detach(), wrong.detach(), atol, rtol):
            return mistake_id
    return None


GRID_CELLS = (8, 24)  # rows x columns of the error heat-map a failure carries, at most


def default_axes(name: str, dims: int) -> tuple[str, str]:
    """What the last two axes of a checked tensor are, for the heat-map's labels."""
    if "prob" in name.lower() or "attention" in name.lower():
        return ("query", "key")
    return {3: ("seq", "hidden"), 4: ("seq", "d_head")}.get(dims, ("row", "column"))


def error_grid(got: Tensor, want: Tensor, index: tuple[int, ...], *, name: str,
               where: Tensor | None = None, axes: tuple[str, str] | None = None
               ) -> dict | None:  # fmt: skip
    """|got - want| over the last two axes, at the leading index of the worst element, max-
    pooled down to at most ``GRID_CELLS``: where in (seq, hidden) or (query, key) the error
    lives. None for tensors of fewer than two axes."""
    if got.dim() < 2 or got.shape[-2] * got.shape[-1] < 2:
        return None
    lead = index[:-2]
    error = (got - want).abs()[lead]
    if where is not None:
        error = torch.where(where[lead], error, torch.zeros_like(error))
    error = torch.nan_to_num(error, nan=math.inf)  # NaN where the reference is finite: worst
    finite = error[torch.isfinite(error)]
    error = error.clamp(max=2 * float(finite.max()) if finite.numel() and finite.max() > 0
                        else 1.0)  # fmt: skip
    rows, columns = error.shape
    steps = (math.ceil(rows / GRID_CELLS[0]), math.ceil(columns / GRID_CELLS[1]))
    pooled = torch.nn.functional.max_pool2d(error[None, None].float(), steps, steps,
                                            ceil_mode=True)[0, 0]  # fmt: skip
    row_axis, column_axis = axes or default_axes(name, got.dim())
    where_text = f"{name}[{', '.join(map(str, lead))}{', ' if lead else ''}:, :]"
    return {"values": [[round(float(v), 6) for v in row] for row in pooled],
            "title": f"{where_text} {tuple(error.shape)}", "rows": row_axis,
            "columns": column_axis, "steps": list(steps)}  # fmt: skip


def expect_close(
    got: Tensor,
    want: Tensor,
    *,
    name: str,
    inputs: str,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    mistakes: Mapping[str, Callable[[], Tensor]] | None = None,
    where: Tensor | None = None,
    axes: tuple[str, str] | None = None,
) -> None:
    """Values equal to the reference within tolerance; otherwise say where and how far off.

    ``where``: a boolean mask of the positions that count (e.g. real tokens only).
    ``mistakes``: known-mistake id -> a function computing what that mistake outputs on the
    same input; a match becomes the diagnosis.
    ``axes``: names of the last two axes for the error heat-map (default: guessed from the
    name and rank, e.g. ("query", "key") for attention probabilities).
    """
    got = expect_tensor(got, name=name, shape=tuple(want.shape), inputs=inputs)
    got_d = got.detach().double()
    want_d = want.detach().double()
    if where is not None:
        while where.dim() < got_d.dim():
            where = where.unsqueeze(-1)
        where = where.expand_as(got_d)
    nan_where = torch.isnan(got_d) & ~torch.isnan(want_d)
    if where is not None:
        nan_where &= where
    if nan_where.any():
        index = tuple(int(i) for i in nan_where.nonzero()[0])
        raise CheckFailure(
            _("{name} contains NaN (first at index {index}) where the reference is finite")
            .format(name=name, index=index),
            inputs=inputs,
            diagnosis=diagnose(got, mistakes, atol, rtol, want=want),
        )
    error = (got_d - want_d).abs() - rtol * want_d.abs()
    error = torch.nan_to_num(error, nan=0.0, posinf=math.inf)
    if where is not None:
        error = torch.where(where, error, torch.zeros_like(error))
    if bool((error <= atol).all()):
        return
    index = tuple(int(i) for i in (error == error.max()).nonzero()[0])
    worst = float((got_d - want_d).abs()[index])
    lead, last = (index[:-1], index[-1]) if index else ((), 0)  # () for a 0-dim tensor
    start = max(0, last - 1) if got.dim() else 0
    if got.dim():
        window = slice(start, start + 3)
        stop = min(start + 3, got.shape[-1])
        label = f"{name}[{', '.join(map(str, lead))}{', ' if lead else ''}{start}:{stop}]"
        expected, got_values = _fmt(want_d[lead][window]), _fmt(got_d[lead][window])
    else:
        label, expected, got_values = name, f"{want_d.item():.6g}", f"{got_d.item():.6g}"
    raise CheckFailure(
        _("{name} does not match the reference (largest difference {diff:.3g} at index {index}; "
          "tolerance {tol:g})").format(name=name, diff=worst, index=index, tol=atol),
        inputs=inputs,
        expected=f"{label} = {expected}",
        got=got_values,
        diagnosis=diagnose(got, mistakes, atol=max(atol, 1e-4), rtol=max(rtol, 1e-4),
                           want=want, want_tolerance=(atol, rtol)),
        grid=error_grid(got_d, want_d, index, name=name, where=where, axes=axes),
    )


def load_weights(module: torch.nn.Module, state_dict: Mapping[str, Tensor], *, name: str) -> None:
    """``module.load_state_dict(state_dict)``, strict, failing in the learner's terms: which
    parameter names are missing or unexpected, which shapes differ (e.g. the declarations in
    ``__init__`` were changed)."""
    own = module.state_dict()
    missing = [k for k in state_dict if k not in own]
    unexpected = [k for k in own if k not in state_dict]
    wrong = [
        _("{key} {shape} (expected {expected})").format(
            key=k, shape=tuple(own[k].shape), expected=tuple(v.shape))
        for k, v in state_dict.items()
        if k in own and own[k].shape != v.shape
    ]

    def listed(keys: list[str]) -> str:
        if len(keys) > 4:
            return _("{keys} and {more} more").format(keys=", ".join(keys[:4]),
                                                      more=len(keys) - 4)  # fmt: skip
        return ", ".join(keys)

    problems = []
    if missing:
        problems.append(_("missing {keys}").format(keys=listed(missing)))
    if unexpected:
        problems.append(_("unexpected {keys}").format(keys=listed(unexpected)))
    if wrong:
        problems.append(_("wrong shape: {keys}").format(keys=listed(wrong)))
    if problems:
        fail(
            _("{name} does not load the reference weights ({problems}): keep the submodules and "
              "parameters that __init__ declares, with their names and shapes").format(
                name=name, problems=_("; ").join(problems))
        )
    module.load_state_dict(state_dict)


_INIT_FUNCTIONS = ("normal_", "uniform_", "kaiming_uniform_", "kaiming_normal_",
                   "xavier_uniform_", "xavier_normal_", "trunc_normal_")  # fmt: skip


@contextlib.contextmanager
def skip_init():
    """Build a model whose every weight is loaded right after (a strict ``load_weights``):
    its random initialisation, most of the time it takes to build a real-size model, is
    skipped. Until that load the weights hold whatever memory held."""
    saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}
    own = {name: torch.Tensor.__dict__.get(name) for name in ("normal_", "uniform_")}
    try:
        for name in _INIT_FUNCTIONS:
            setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
        for name in own:
            setattr(torch.Tensor, name, lambda self, *args, **kwargs: self)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)
        for name, method in own.items():
            if method is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, method)


class Variants(list):
    """Known-mistake models as (mistake id, make_output) pairs, for ``expect_close(mistakes=...)``
    when one mistake can be written in several ways: each way is a pair with the same id."""

    def items(self) -> list[tuple[str, Callable[[], Tensor]]]:
        return list(self)
