"""Whose piece each lab uses: the learner's once it passes, the reference's otherwise.

The bertprep process decides (``choose_pieces``: the exercise's status, as the overview shows
it); the sandbox child loads the learner's chosen modules from its snapshot of the target
folder (``load_mine``). Nothing here runs learner code in the bertprep process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from grader.catalogue import PROJECT_ROOT, Catalogue, load_catalogue
from grader.i18n import _
from grader.progress import Progress
from grader.workspace import current_status, inspect_source

LAB_PIECES: dict[str, tuple[str, ...]] = {
    "finetune": ("bert_model", "sequence_classification", "optimizer"),
    "pretrain": ("bert_model", "mlm_masking", "mlm_head"),
    "attention": ("attention", "multi_head"),
}
# passed: your pieces that pass; started: every piece you have started, passing or not (to
# see what a bug does to a training run); reference: the reference's pieces only.
USES = ("passed", "started", "reference")
NOT_USABLE = ("not_started", "missing", "syntax_error", "not_a_file", "too_large", "error")


@dataclass(frozen=True)
class Piece:
    id: str
    module: str  # module name in the target folder, e.g. "e17_bert_model"
    mine: bool
    status: str  # the exercise's status when the lab started
    use: str = "passed"  # what the learner asked for (USES)

    def describe(self) -> str:
        """One sentence: whose piece this is, and why."""
        if self.mine:
            if self.status == "passed":
                return _("{id}: yours (it passes its checks).").format(id=self.id)
            return _("{id}: yours, although it has not passed its checks ({status}).").format(
                id=self.id, status=self.status.replace("_", " "))  # fmt: skip
        if self.use == "reference":
            return _("{id}: the reference's (you asked for the reference's pieces only).").format(
                id=self.id)  # fmt: skip
        return _("{id}: the reference's (yours is {status}; the lab uses it once it "
                 "passes).").format(id=self.id, status=self.status.replace("_", " "))  # fmt: skip


def is_exercises_folder(folder: Path) -> bool:
    return Path(folder).resolve() == (PROJECT_ROOT / "exercises").resolve()


def choose_pieces(
    lab: str,
    folder: Path,
    use: str = "passed",
    *,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
    graded: dict[str, str] | None = None,
) -> tuple[Piece, ...]:
    """The pieces of ``lab`` and whose each is.

    In exercises/ a piece's status is the overview's (the last verdict, while the file still
    has the bytes that were graded). In any other folder it is ``graded[id]`` when given (a
    fresh grading run), else what the file shows (not started / in progress).
    """
    if use not in USES:
        raise ValueError(f"use must be one of {USES}, got {use!r}")
    catalogue = catalogue or load_catalogue()
    mine_folder = is_exercises_folder(folder)
    progress = progress if progress is not None or not mine_folder else Progress.load()
    pieces = []
    for exercise_id in LAB_PIECES[lab]:
        exercise = catalogue.get(exercise_id)
        if mine_folder:
            status = current_status(exercise, progress)
        else:
            status = (graded or {}).get(exercise_id) or inspect_source(Path(folder) / exercise.file)
        mine = {"passed": status == "passed", "started": status not in NOT_USABLE,
                "reference": False}[use]  # fmt: skip
        pieces.append(Piece(exercise_id, exercise.module, mine, status, use))
    return tuple(pieces)


def needs_grading(folder: Path, use: str) -> bool:
    """Whether choosing needs a grading run first: 'passed' pieces of a folder other than
    exercises/ (whose verdicts are not recorded)."""
    return use == "passed" and not is_exercises_folder(folder)


def mine(pieces: tuple[Piece, ...] | list[dict]) -> set[str]:
    return {p.id if isinstance(p, Piece) else p["id"] for p in pieces
            if (p.mine if isinstance(p, Piece) else p["mine"])}  # fmt: skip


def as_data(pieces: tuple[Piece, ...]) -> list[dict]:
    return [{"id": p.id, "module": p.module, "mine": p.mine, "status": p.status} for p in pieces]


def load_mine(folder: Path, pieces: list[dict]) -> dict[str, ModuleType]:
    """In the sandbox child only: the learner's modules for the pieces that are theirs."""
    from grader.sandbox.target import load_exercise_module

    return {p["id"]: load_exercise_module(Path(folder), p["module"]) for p in pieces if p["mine"]}
