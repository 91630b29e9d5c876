"""Load the code being graded (exercises/, solutions/ or any folder laid out like them).

The folder is imported as a package named ``bertprep_target`` so that relative imports
inside it (``from .e05_multi_head import ...``) resolve to the learner's own earlier pieces.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from grader.catalogue import PROJECT_ROOT

PACKAGE = "bertprep_target"
TARGET_ENV = "BERTPREP_TARGET"
NAMED_TARGETS = ("exercises", "solutions")


def resolve_target(target: str | os.PathLike) -> Path:
    """'exercises' / 'solutions' / a path -> an absolute folder (which must exist)."""
    path = PROJECT_ROOT / str(target) if str(target) in NAMED_TARGETS else Path(target)
    path = path.expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"target folder {path} does not exist")
    return path


def install_target(folder: Path) -> ModuleType:
    """Make ``folder`` importable as the package ``bertprep_target`` (replacing any earlier)."""
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_loader(PACKAGE, loader=None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(folder)]
    package.__file__ = None
    sys.modules[PACKAGE] = package
    return package


def load_exercise_module(folder: Path, module: str) -> ModuleType:
    if PACKAGE not in sys.modules or sys.modules[PACKAGE].__path__ != [str(folder)]:
        install_target(folder)
    return importlib.import_module(f"{PACKAGE}.{module}")


def target_from_env() -> Path:
    value = os.environ.get(TARGET_ENV)
    if not value:
        raise RuntimeError(f"{TARGET_ENV} is not set: run checks through `bertprep check`")
    return Path(value)
