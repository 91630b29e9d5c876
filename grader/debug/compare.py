"""Grading a debug-round file on the real weights: whether it is BERT, where it first parts
ways with BERT, and which of the seeded bugs are still in it.

Runs inside the sandbox child (``check_debug.py``), where the learner's code may loop, crash
or not parse; the project's tests also call it in-process. Three models are loaded with the
real all-MiniLM-L6-v2 weights:

- the learner's ``BertModel`` from their file;
- ``reference.BertModel``, what it is compared with: the tests prove it equal to transformers'
  ``BertModel`` on these inputs, and the tests of reference/ prove it on many more;
- the clean template (``clean_bert.py``), for counting the bugs: for each seeded bug, the
  learner's version of the functions the bug lives in is put into the clean model in place of
  the clean ones. If the output changes, that bug (or something as wrong in the same place) is
  still there. So a bug counts as fixed by what the code does, however it is written.

Inputs: real tokens (three sentence pairs, two segments each, right-padded to the longest).
Hidden states are compared at real tokens only: padded positions feed nothing downstream.
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import torch
from torch import Tensor, nn

from grader.debug.bugs import BY_ID, TEMPLATE, clean_source
from grader.i18n import _
from reference import BertConfig, BertTokenizer, minilm_dir
from reference import modeling as reference_modeling

TOLERANCE = 1e-4
PAIRS = (
    ("The cat sat on the warm mat.", "It fell asleep in the afternoon sun."),
    ("Where is the nearest train station?", "Two blocks north, next to the old bank."),
    ("Hello there!", "Hi."),
)
COARSE = re.compile(r"embeddings|encoder\.layer\.\d+\.(attention\.self|attention\.output"
                    r"|intermediate|output)|pooler")  # fmt: skip
NOT_LOADED = ("embeddings.position_ids", "embeddings.token_type_ids")  # buffers, not weights


class LearnerError(Exception):
    """The learner's file could not be graded: it does not parse, import, build or run."""

    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage
        self.message = message


@cache
def fixed_inputs() -> dict[str, Tensor]:
    tokenizer = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
    encoded = tokenizer([a for a, _ in PAIRS], [b for _, b in PAIRS], padding=True)
    return {key: torch.tensor(value) for key, value in encoded.items()}


@cache
def config() -> BertConfig:
    return BertConfig.from_json_file(minilm_dir() / "config.json")


def checkpoint() -> dict[str, Tensor]:
    """The real weights, under HF's BertModel keys."""
    path = minilm_dir() / "model.safetensors"
    try:
        from safetensors.torch import load_file

        state = load_file(str(path))
    except ImportError:  # the stdlib reader is slower but always there
        from reference.weights import read_safetensors

        state = read_safetensors(path)
    return {k: v for k, v in state.items() if k not in NOT_LOADED}


@contextlib.contextmanager
def no_init() -> Iterator[None]:
    """Skip weight initialisation while building: the checkpoint overwrites every weight."""
    names = ("kaiming_uniform_", "uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
             "xavier_normal_", "kaiming_normal_", "zeros_", "ones_", "constant_")  # fmt: skip
    saved = {name: getattr(nn.init, name) for name in names}
    for name in names:
        setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(nn.init, name, function)


def where_in(path: Path, tb: types.TracebackType | None) -> str:
    """" (broken_bert.py:42)" for the innermost frame in the learner's file, else "" (code
    and a number: the same in every language)."""
    found = ""
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename) == path:
            found = f" ({path.name}:{frame.lineno})"
    return found


def load_learner(path: Path, name: str = "broken_bert") -> types.ModuleType:
    """Run the learner's file as a module (no bytecode written next to it)."""
    try:
        source = path.read_bytes()
    except OSError as err:
        raise LearnerError("import", _("{path} cannot be read: {error}.").format(
            path=path, error=err.strerror or err)) from None  # fmt: skip
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as err:
        line = getattr(err, "lineno", None)
        message = (_("{file} does not parse at line {line}: {error}") if line
                   else _("{file} does not parse: {error}"))  # fmt: skip
        raise LearnerError("import", message.format(
            file=path.name, line=line, error=getattr(err, "msg", str(err)))) from None
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and the like look their module up
    try:
        exec(code, module.__dict__)
    except Exception as err:
        raise LearnerError("import", _("{file} could not be run as a module: {error}{where}")
                           .format(file=path.name, error=f"{type(err).__name__}: {err}",
                                   where=where_in(path, err.__traceback__))) from None
    finally:
        sys.modules.pop(name, None)
    return module


def load_clean() -> types.ModuleType:
    module = types.ModuleType("bertprep_clean_bert")
    module.__file__ = str(TEMPLATE)
    exec(compile(clean_source(), str(TEMPLATE), "exec"), module.__dict__)
    return module


def build(model_cls: Callable, state: dict[str, Tensor]) -> nn.Module:
    with no_init():
        model = model_cls(config())
    model.load_state_dict(state)
    return model.eval()


def learner_model(module: types.ModuleType, path: Path, state: dict[str, Tensor]) -> nn.Module:
    model_cls = getattr(module, "BertModel", None)
    if not isinstance(model_cls, type):
        raise LearnerError("build", _("{file} has no class BertModel any more.").format(
            file=path.name))
    try:
        with no_init():
            model = model_cls(config())
    except Exception as err:
        raise LearnerError("build", _("BertModel(config) raised {error}{where}").format(
            error=f"{type(err).__name__}: {err}",
            where=where_in(path, err.__traceback__))) from None  # fmt: skip
    own = model.state_dict() if isinstance(model, nn.Module) else {}
    missing = [k for k in state if k not in own]
    unexpected = [k for k in own if k not in state]
    wrong = [f"{k} {tuple(own[k].shape)}" for k in state
             if k in own and own[k].shape != state[k].shape]  # fmt: skip
    problems = []
    for (few, many), keys in (
        ((_("missing: {keys}"), _("missing: {keys} and {more} more")), missing),
        ((_("unexpected: {keys}"), _("unexpected: {keys} and {more} more")), unexpected),
        ((_("wrong shape: {keys}"), _("wrong shape: {keys} and {more} more")), wrong),
    ):
        if keys:
            label = many if len(keys) > 3 else few
            problems.append(label.format(keys=", ".join(keys[:3]), more=len(keys) - 3))
    if problems:
        raise LearnerError("build", _("the real weights do not load into your BertModel "
                                      "({problems}): keep the modules and parameters with Hugging "
                                      "Face's names and shapes.").format(
                                          problems="; ".join(problems)))  # fmt: skip
    model.load_state_dict(state)
    return model.eval()


def record(model: nn.Module, inputs: dict[str, Tensor]) -> tuple[tuple, dict[str, Tensor], list]:
    """(last_hidden_state, pooler_output), the first output of every module by name, and the
    names in the order the modules ran."""
    activations: dict[str, Tensor] = {}
    order: list[str] = []
    handles = []

    def hook(name: str):
        def keep(module, args, output):
            first = output[0] if isinstance(output, tuple | list) and output else output
            if name not in activations and isinstance(first, Tensor):
                activations[name] = first.detach().clone()
                order.append(name)

        return keep

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            output = model(inputs["input_ids"], attention_mask=inputs["attention_mask"],
                           token_type_ids=inputs["token_type_ids"])  # fmt: skip
    finally:
        for handle in handles:
            handle.remove()
    return _outputs(output), activations, order


def _outputs(output: object) -> tuple:
    if hasattr(output, "last_hidden_state"):
        return output.last_hidden_state, getattr(output, "pooler_output", None)
    if isinstance(output, tuple | list) and len(output) >= 2:
        return output[0], output[1]
    raise TypeError(_("BertModel.forward returned {type}; it should return "
                      "(last_hidden_state, pooler_output)").format(type=type(output).__name__))


def max_diff(got: object, want: Tensor, keep: Tensor) -> float | None:
    """The largest absolute difference (real tokens only where the tensor is per token);
    None when the shapes differ; inf for NaN."""
    if not isinstance(got, Tensor) or got.shape != want.shape:
        return None
    diff = (got.detach().double() - want.double()).abs()
    diff = torch.nan_to_num(diff, nan=float("inf"))
    if diff.dim() >= 2 and tuple(diff.shape[:2]) == tuple(keep.shape):
        diff = diff[keep]
    return float(diff.max()) if diff.numel() else 0.0


def module_rows(reference: tuple, learner: tuple, keep: Tensor) -> list[dict]:
    """One row per coarse module, in the order the reference runs them; the first row that
    differs carries which of its parts differ first (``inside``)."""
    _, ref_acts, ref_order = reference
    _, got_acts, _ = learner
    rows: list[dict] = []
    for name in ref_order:
        if not COARSE.fullmatch(name):
            continue
        if name not in got_acts:
            rows.append(dict(name=name, status="missing", diff=None))
        else:
            diff = max_diff(got_acts[name], ref_acts[name], keep)
            status = "shape" if diff is None else "ok" if diff <= TOLERANCE else "diff"
            row = dict(name=name, status=status, diff=diff)
            if status == "shape":
                row["got"], row["want"] = list(got_acts[name].shape), list(ref_acts[name].shape)
            rows.append(row)
        if rows[-1]["status"] != "ok" and not any(r.get("first") for r in rows):
            rows[-1]["first"] = True
            parts = [n for n in ref_order if n.startswith(name + ".")]
            ran = [n for n in parts if n in got_acts]
            diffs = {n: max_diff(got_acts[n], ref_acts[n], keep) for n in ran}
            agree = [n for n in ran if diffs[n] is not None and diffs[n] <= TOLERANCE]
            rows[-1]["agree"] = agree
            rows[-1]["inside"] = next((n for n in ran if n not in agree), None)
    return rows


def output_diffs(reference: tuple, learner: tuple, keep: Tensor) -> dict[str, float | None]:
    (ref_last, ref_pooled), (last, pooled) = reference[0], learner[0]
    return {"last_hidden_state": max_diff(last, ref_last, keep),
            "pooler_output": max_diff(pooled, ref_pooled, keep)}  # fmt: skip


def _rebind(function: types.FunctionType, namespace: dict) -> types.FunctionType:
    new = types.FunctionType(function.__code__, namespace, function.__name__,
                             function.__defaults__, function.__closure__)  # fmt: skip
    new.__kwdefaults__ = function.__kwdefaults__
    return new


@contextlib.contextmanager
def transplanted(units: tuple[str, ...], learner: types.ModuleType, clean: types.ModuleType):
    """The clean module with the learner's versions of ``units`` in place of its own. Their
    global names resolve to the clean module's (so one bug is probed at a time), then to the
    learner's (helpers they added). Raises LookupError when a unit is gone."""
    namespace = dict(vars(learner))
    namespace.update((k, v) for k, v in vars(clean).items() if not k.startswith("__"))
    restore = []
    try:
        for unit in units:
            owner_name, _dot, name = unit.rpartition(".")
            owner = getattr(clean, owner_name) if owner_name else clean
            theirs = getattr(learner, owner_name, None) if owner_name else learner
            found = vars(theirs).get(name) if theirs is not None else None
            if not isinstance(found, types.FunctionType):
                raise LookupError(_("{unit} is not in your file any more").format(unit=unit))
            restore.append((owner, name, vars(owner)[name]))
            setattr(owner, name, _rebind(found, namespace))
            if owner_name:  # helper methods the learner added to that class come along
                for extra, value in vars(theirs).items():
                    if isinstance(value, types.FunctionType) and extra not in vars(owner):
                        restore.append((owner, extra, None))
                        setattr(owner, extra, _rebind(value, namespace))
        yield
    finally:
        for owner, name, value in reversed(restore):
            if value is None:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


def probe_bugs(bug_ids: list[str], learner: types.ModuleType, clean: types.ModuleType,
               clean_model: nn.Module, inputs: dict[str, Tensor]) -> dict[str, dict]:  # fmt: skip
    """{bug id: {"status": "fixed" | "remaining" | "unknown", "why": ...}}."""
    keep = inputs["attention_mask"].bool()
    baseline = record(clean_model, inputs)
    found = {}
    for bug_id in bug_ids:
        bug = BY_ID[bug_id]
        try:
            with transplanted(bug.units, learner, clean):
                probe = record(clean_model, inputs)
        except Exception as err:
            found[bug_id] = dict(status="unknown", why=f"{type(err).__name__}: {err}")
            continue
        diffs = [max_diff(a, b, keep) for a, b in zip(probe[0], baseline[0], strict=True)]
        diffs += [max_diff(probe[1][n], baseline[1][n], keep)
                  for n in baseline[1] if COARSE.fullmatch(n) and n in probe[1]]  # fmt: skip
        worst = max((float("inf") if d is None else d) for d in diffs)
        found[bug_id] = dict(status="remaining" if worst > TOLERANCE else "fixed", diff=worst)
    return found


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Small tensors: one thread is several times faster than two on a busy machine (the
    sandbox child runs on one anyway)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def grade_file(path: Path, bug_ids: list[str], state: dict[str, Tensor] | None = None,
               stage: Callable[[str], None] = lambda name: None) -> dict:  # fmt: skip
    """Everything the learner is told about ``path``, as plain JSON-able data."""
    with one_thread():
        return _grade(Path(path), bug_ids, state, stage)


def _grade(path: Path, bug_ids: list[str], state: dict[str, Tensor] | None,
           stage: Callable[[str], None]) -> dict:  # fmt: skip
    state = state if state is not None else checkpoint()
    inputs = fixed_inputs()
    keep = inputs["attention_mask"].bool()
    result: dict = dict(file=str(path), bugs_seeded=list(bug_ids), tolerance=TOLERANCE)
    stage("import")
    try:
        learner = load_learner(path)
    except LearnerError as err:
        return {**result, "error": dict(stage=err.stage, message=err.message)}
    stage("reference")
    reference = record(build(reference_modeling.BertModel, state), inputs)
    clean = load_clean()
    clean_model = build(clean.BertModel, state)
    stage("model")
    try:
        got = record(learner_model(learner, path, state), inputs)
    except LearnerError as err:
        result["error"] = dict(stage=err.stage, message=err.message)
    except Exception as err:
        result["error"] = dict(stage="forward", message=_("your BertModel raised {error}{where}")
                               .format(error=f"{type(err).__name__}: {err}",
                                       where=where_in(path, err.__traceback__)))  # fmt: skip
    else:
        result["modules"] = module_rows(reference, got, keep)
        result["outputs"] = output_diffs(reference, got, keep)
    stage("bugs")
    result["bugs"] = probe_bugs(bug_ids, learner, clean, clean_model, inputs)
    passed = "modules" in result and all(r["status"] == "ok" for r in result["modules"]) and all(
        d is not None and d <= TOLERANCE for d in result["outputs"].values()
    )
    if passed:  # BERT's outputs everywhere: whatever the probes say, nothing is left to fix
        for entry in result["bugs"].values():
            entry["status"] = "fixed"
    result["passed"] = passed
    return result
