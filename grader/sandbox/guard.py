"""The answer used at run time: watched inside the grading child (see ``borrowing`` for the
rules and the reading of the files).

Four watches, none of which changes what the code computes:

- ``import`` statements in the learner's files (a wrapped ``builtins.__import__``), which sees
  an import even when the module is already loaded;
- audit events: a first import of an answer module, a file under solutions/, reference/ or
  grader/ opened while the learner's code is on the stack;
- calls: the reference's functions and classes, and the functions the exercise forbids, are
  wrapped so that a call from the learner's code is noted (a call from a check is not);
- names: after each check, the learner's modules are searched for objects that come from an
  answer (``from reference import ...`` bound to a name, a subclass of ``reference.BertModel``).

This is not a security boundary: a determined learner can get around it. It makes using
the answer something a learner does on purpose, and then says so plainly.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import os
import sys
import types
from collections.abc import Callable

from grader.catalogue import CHECKS_DIR, PROJECT_ROOT
from grader.i18n import _
from grader.sandbox.borrowing import (
    ALLOWED_NAME,
    ANSWER_SOURCES,
    PROJECT_SOURCES,
    TARGET_PACKAGE,
    allowed,
    answer_source,
    forbidden_message,
    imports_message,
    reads_message,
    source_of,
    uses_message,
)

MAX_DEPTH = 80
MODULE_PREFIXES = ("reference", TARGET_PACKAGE)  # the packages searched after every check
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
CHANGE_EVENTS = {
    "os.rename", "os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.chown", "os.utime",
    "os.link", "os.symlink", "os.mkdir", "shutil.rmtree", "shutil.copyfile", "shutil.move",
}  # fmt: skip
SPAWN_EVENTS = {
    "subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty",
    "os.spawn", "pty.spawn",
}  # fmt: skip


def _from_answer(value: object) -> str | None:
    """'reference.modeling.BertModel' for an object that comes from an answer source."""
    if isinstance(value, types.ModuleType):  # reference's modules: judged by what is called
        name = value.__name__
        return name if answer_source(name) not in (None, "reference") else None
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str) or not answer_source(module):
        return None
    if ALLOWED_NAME.fullmatch(name.split(".")[0]):
        return None
    return f"{module}.{name}"


SOURCE_READERS = ("linecache.py", "tokenize.py")  # source lines for warnings, tracebacks


def _loading_or_quoting(frame) -> bool:
    """Whether the file is opened by the import machinery (a module being loaded) or to show
    source lines (a warning, a traceback): neither is the learner reading it."""
    depth = 0
    while frame is not None and depth < MAX_DEPTH:
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen importlib") or filename.endswith(SOURCE_READERS):
            return True
        frame, depth = frame.f_back, depth + 1
    return False


class Guard:
    def __init__(
        self,
        target_dir: str,
        forbidden: list[str],
        cache_dir: str | None,
        note: Callable[[str, str], None],
        notice: Callable[[dict], None] = lambda record: None,
    ):
        self.prefix = target_dir.rstrip(os.sep) + os.sep
        self.forbidden = list(forbidden)
        self.note = note  # note(what, where): the answer used
        self.notice = notice  # notice(record): a write to the grader's files, a process
        self.noted: set[str] = set()
        self.wrapped: dict[int, object] = {}
        self.seen_modules: dict[str, tuple[int, int]] = {}
        self._module_lists: dict[str, list[str]] = {}  # top-level package -> module names
        self._modules_read, self._last_module = 0, None
        self.grader_prefixes = (str(CHECKS_DIR) + os.sep, os.path.dirname(__file__) + os.sep)
        self.guarded_paths = tuple(str(PROJECT_ROOT / s) + os.sep for s in PROJECT_SOURCES)
        # Writes there are noticed too: what the checks expect, cached by ``prepare``.
        self.written_paths = self.guarded_paths + (
            (os.path.abspath(cache_dir) + os.sep,) if cache_dir else ()
        )
        self.solutions_path = str(PROJECT_ROOT / "solutions") + os.sep

    # --- where a call comes from ------------------------------------------------------------

    def _learner_at(self, frame) -> str | None:
        """'file:line' of the first learner frame from ``frame`` outwards, stopping at a check
        or the grader (whose own calls are not the learner's)."""
        depth = 0
        while frame is not None and depth < MAX_DEPTH:
            filename = frame.f_code.co_filename
            if filename.startswith(self.prefix):
                return f"{os.path.relpath(filename, self.prefix)}:{frame.f_lineno}"
            if filename.startswith(self.grader_prefixes):
                return None
            frame, depth = frame.f_back, depth + 1
        return None

    def _direct(self, frame) -> str | None:
        filename = frame.f_code.co_filename if frame is not None else ""
        if filename.startswith(self.prefix):
            return f"{os.path.relpath(filename, self.prefix)}:{frame.f_lineno}"
        return None

    def _note(self, what: str, where: str) -> None:
        if what not in self.noted:
            self.noted.add(what)
            self.note(what, where)

    # --- the watches ------------------------------------------------------------------------

    def install(self) -> None:
        self._wrap_import()
        sys.addaudithook(self._audit)
        for name in self.forbidden:
            self._wrap_forbidden(name)
        self.wrap_reference()

    def _wrap_import(self) -> None:
        original = builtins.__import__
        guard = self

        roots = frozenset(ANSWER_SOURCES)

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and name.partition(".")[0] in roots:
                where = guard._direct(sys._getframe(1))
                if where:
                    for item in fromlist or ():
                        if not allowed(name, item):
                            thing = _("{name} from {module}").format(name=item, module=name)
                            guard._note(imports_message(thing, name), where)
                    if not fromlist and answer_source(name) != "reference":
                        guard._note(imports_message(name, name), where)
            return original(name, globals, locals, fromlist, level)

        builtins.__import__ = __import__

    def _guarded_path(self, value, paths: tuple[str, ...] | None = None) -> str | None:
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        if not isinstance(value, str):
            return None
        path = os.path.abspath(value)
        return path if path.startswith(paths or self.guarded_paths) else None

    def _wrote(self, path: str) -> None:
        shown = os.path.relpath(path, PROJECT_ROOT) if path.startswith(
            self.guarded_paths) else path  # fmt: skip
        self.notice({"event": "wrote", "path": shown})

    def _audit(self, event: str, args: tuple) -> None:
        if event in SPAWN_EVENTS:
            if "spawned" not in self.noted:
                self.noted.add("spawned")
                self.notice({"event": "spawned", "what": event})
            return
        if event == "open" and len(args) >= 3 and isinstance(args[2], int) and (
            args[2] & WRITE_FLAGS or (isinstance(args[1], str) and set(args[1]) & set("wax+"))
        ):
            path = self._guarded_path(args[0], self.written_paths)
            if path:
                self._wrote(path)
            return
        if event in CHANGE_EVENTS:
            for value in args[:2]:
                path = self._guarded_path(value, self.written_paths)
                if path:
                    self._wrote(path)
                    return
            return
        if event == "import":
            name = args[0] if args and isinstance(args[0], str) else ""
            if answer_source(name) and answer_source(name) != "reference":
                where = self._learner_at(sys._getframe(1))
                if where:
                    self._note(imports_message(name, name), where)
        elif event == "open" and args:
            path = self._guarded_path(args[0])
            if path:
                frame = sys._getframe(1)
                if _loading_or_quoting(frame) and not path.startswith(self.solutions_path):
                    return  # ``from reference.variants import AlbertConfig``: judged by name
                where = self._learner_at(frame)
                if where:
                    relative = os.path.relpath(path, PROJECT_ROOT)
                    self._note(reads_message(relative, relative.split(os.sep)[0]), where)

    def _wrap_callable(self, value, label: str, *, walk: bool):
        """A wrapper noting calls from the learner's code (``walk``: anywhere up the stack,
        e.g. through torch.nn.GELU; else only a direct call)."""
        if id(value) in self.wrapped:
            return self.wrapped[id(value)]
        guard = self

        if isinstance(value, type):
            if "__init__" not in vars(value):  # inherits one (wrapped there) or object's
                return value
            init = value.__init__

            @functools.wraps(init)
            def __init__(self, *args, **kwargs):
                frame = sys._getframe(1)
                where = guard._learner_at(frame) if walk else guard._direct(frame)
                if where:
                    guard._note(label, where)
                return init(self, *args, **kwargs)

            try:
                value.__init__ = __init__
            except (TypeError, AttributeError):
                return value
            self.wrapped[id(value)] = value
            return value

        @functools.wraps(value)
        def wrapper(*args, **kwargs):
            frame = sys._getframe(1)
            where = guard._learner_at(frame) if walk else guard._direct(frame)
            if where:
                guard._note(label, where)
            return value(*args, **kwargs)

        self.wrapped[id(value)] = wrapper
        self.wrapped[id(wrapper)] = wrapper
        return wrapper

    def _wrap_forbidden(self, dotted: str) -> None:
        module_name, _, attribute = dotted.rpartition(".")
        try:
            module = importlib.import_module(module_name)
            original = getattr(module, attribute)
        except (ImportError, AttributeError):
            return
        label = forbidden_message(dotted)
        wrapper = self._wrap_callable(original, label, walk=True)
        # The same object under other names (torch.nn.functional.gelu is torch._C._nn.gelu).
        for other in list(sys.modules.values()):
            if isinstance(other, types.ModuleType) and (other.__name__ or "").startswith("torch"):
                try:
                    if other.__dict__.get(attribute) is original:
                        setattr(other, attribute, wrapper)
                except (AttributeError, TypeError):
                    continue

    def _modules(self, prefix: str) -> list[str]:
        """Loaded modules whose names start with ``prefix`` (``reference`` or the learner's
        package). This runs after every check, so only names added since the last call are
        read: ``sys.modules`` keeps insertion order, and a dropped name shifts the ones after
        it, which the name at the last position read then tells (all are read again)."""
        names = list(sys.modules)
        start = self._modules_read
        if not (0 < start <= len(names) and names[start - 1] == self._last_module):
            start, self._module_lists = 0, {}
        for name in names[start:]:
            if name.startswith(MODULE_PREFIXES):
                self._module_lists.setdefault(name.partition(".")[0], []).append(name)
        self._modules_read, self._last_module = len(names), names[-1] if names else None
        return [n for n in self._module_lists.get(prefix, ()) if n in sys.modules]

    def wrap_reference(self) -> None:
        """Wrap the functions and classes of every loaded reference module (idempotent)."""
        for name in self._modules("reference"):
            module = sys.modules[name]
            if answer_source(name) != "reference" or not isinstance(module, types.ModuleType):
                continue
            seen = (id(module), len(vars(module)))
            if self.seen_modules.get(name) == seen:
                continue
            self.seen_modules[name] = seen
            for attribute, value in list(vars(module).items()):
                origin = getattr(value, "__module__", None)
                if attribute.startswith("__") or not isinstance(origin, str):
                    continue
                if answer_source(origin) != "reference" or ALLOWED_NAME.fullmatch(attribute):
                    continue
                if isinstance(value, types.FunctionType | type):
                    label = uses_message(f"{origin}.{getattr(value, '__qualname__', attribute)}")
                    setattr(module, attribute, self._wrap_callable(value, label, walk=False))

    def scan_modules(self) -> None:
        """Objects from an answer bound to names in the learner's modules (the target's
        package; a module is read again only when its namespace grew)."""
        for name in self._modules(TARGET_PACKAGE):
            module = sys.modules[name]
            filename = getattr(module, "__file__", None)
            if not isinstance(filename, str) or not filename.startswith(self.prefix):
                continue
            seen = (id(module), len(vars(module)))
            if self.seen_modules.get(name) == seen:
                continue
            self.seen_modules[name] = seen
            where = os.path.relpath(filename, self.prefix)
            for name, value in list(vars(module).items()):
                if name.startswith("__"):
                    continue
                origin = _from_answer(value)
                if origin:
                    self._note(uses_message(origin), where)
                elif isinstance(value, type):
                    for base in value.__mro__[1:]:
                        origin = _from_answer(base)
                        if origin:
                            self._note(_("{name} subclasses {origin} ({source})").format(
                                name=name, origin=origin, source=source_of(origin)), where)
                            break
