"""The parent's side of grading a debug-round file: one run of ``check_debug.py`` in the
sandbox (``run_checks``, the same warm worker and limits as every exercise), and its answer as
plain data, whatever the learner's code did.

The answer is ``compare.grade_file``'s dict (see there), or, when the learner's code looped,
crashed or was stopped, ``{"error": {"stage", "message"}}``: the sandbox's verdict message and
the stage the grading was in.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.catalogue import Catalogue, Exercise
from grader.debug.check_debug import MODULE, REQUEST
from grader.drill.loop import grade_one
from grader.i18n import N_, _, translator
from grader.progress import atomic_write_bytes, read_regular
from grader.sandbox.runner import Worker

CHECK_FILE = Path(__file__).with_name("check_debug.py")
DEBUG_ID = "debug-round"
# What the grading was doing when it stopped: (after the sandbox's message, on its own),
# whole sentences.
STAGES = {
    "import": (N_("{message} (while your file was being run as a module)"),
               N_("Grading stopped while your file was being run as a module.")),
    "reference": (N_("{message} (while the reference model was loading)"),
                  N_("Grading stopped while the reference model was loading.")),
    "model": (N_("{message} (while your BertModel was built and run)"),
              N_("Grading stopped while your BertModel was built and run.")),
    "bugs": (N_("{message} (while your functions ran inside the clean model, counting the bugs)"),
             N_("Grading stopped while your functions ran inside the clean model (counting the "
                "bugs).")),
}  # fmt: skip
ANY_STAGE = (N_("{message} (while it was being graded)"),
             N_("Grading stopped while your file was being graded."))  # fmt: skip


@dataclass(frozen=True)
class DebugExercise(Exercise):
    """The debug round, seen by the sandbox as one more exercise with one check."""

    @property
    def check_file(self) -> Path:
        return CHECK_FILE

    def text(self, key: str, lang: str | None = None):
        """The title and summary are code strings: translated through gettext."""
        value = super().text(key, "en")
        if not isinstance(value, str) or not value:
            return value
        return translator(lang)(value) if lang else _(value)


EXERCISE = DebugExercise(
    id=DEBUG_ID, title=N_("Find the bugs in a whole BertModel"), file=f"{MODULE}.py", blog=(),
    prerequisites=(), hints=("", "", ""), docs="exercises/bert_model.md", mistakes=(),
    summary=N_("A BertModel with seeded bugs, checked on the real weights."),
)  # fmt: skip
CATALOGUE = Catalogue(exercises=(EXERCISE,), mistakes={})


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_file(path: Path, bug_ids: list[str], worker: Worker,
               time_limit: float | None = None) -> dict:  # fmt: skip
    """Grade ``path`` (the learner's file: read, never written) in the sandbox."""
    path = Path(path).resolve()
    failed = {"file": str(path), "bugs_seeded": list(bug_ids)}
    with tempfile.TemporaryDirectory(prefix="bertprep-debug-") as tmp:
        target, result_path = Path(tmp) / "target", Path(tmp) / "result.json"
        try:
            atomic_write_bytes(target / EXERCISE.file, read_regular(path), mode=0o644)
        except OSError as err:
            message = _("{path} cannot be read: {error}.").format(path=path,
                                                                  error=err.strerror or err)
            return {**failed, "error": {"stage": "import", "message": message}}
        request = f"BUGS = {list(bug_ids)!r}\nRESULT = {str(result_path)!r}\n"
        (target / REQUEST).write_text(request, encoding="utf-8")
        verdict = grade_one(EXERCISE.id, target, worker, CATALOGUE, time_limit)
        result = _read_json(result_path)
    if result.get("stage") == "done":
        return {**result, "file": str(path)}
    stage = result.get("stage", "import")
    after, alone = STAGES.get(stage, ANY_STAGE)
    message = _(after).format(message=verdict.message) if verdict.message else _(alone)
    return {**failed, "error": {"stage": stage, "message": message}}
