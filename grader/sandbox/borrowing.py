"""Code that uses the answer instead of writing it: found by reading the learner's files.

A learner's file may import configuration classes from ``reference`` (the stubs do:
``from reference import BertConfig``), but nothing else from the answer's sources:
``reference`` (what the checks compare with), ``solutions``, the libraries the reference is
proven equal to (``transformers``, ``sentence_transformers``, ``tokenizers``) and the grader
itself. Each exercise may also forbid functions its stub rules out in words ("do not call
torch.nn.functional.gelu"): ``forbidden`` in the catalogue.

The scan reads the exercise's file and every file of the target it imports (relatively or as
``bertprep_target``), so an answer imported through a helper module is found too. The same
rules are watched at run time inside the grading child (``guard``); either finding gives
the verdict ``borrowed``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import N_, _

ANSWER_SOURCES = {
    "reference": N_("the grader's reference implementation"),
    "solutions": N_("the worked solutions"),
    "transformers": N_("Hugging Face transformers, which the reference is checked against"),
    "sentence_transformers": N_("sentence-transformers, which the reference is checked against"),
    "tokenizers": N_("Hugging Face tokenizers, which the reference is checked against"),
    "grader": N_("the grader's own code"),
}
PROJECT_SOURCES = ("reference", "solutions", "grader")  # folders of this project
ALLOWED_NAME = re.compile(r"[A-Z]\w*Config|config")  # configurations carry no answer
TARGET_PACKAGE = "bertprep_target"
DYNAMIC_IMPORTS = {
    "importlib.import_module", "__import__", "importlib.__import__",
    "importlib.util.spec_from_file_location", "runpy.run_path", "runpy.run_module",
    "importlib.machinery.SourceFileLoader", "exec", "eval", "compile", "open",
}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the target folder
    line: int
    what: str  # e.g. "imports scaled_dot_product_attention from reference"

    def sentence(self) -> str:
        return f"{self.file}:{self.line} {self.what}"


def source_of(name: str) -> str:
    """What the answer source of a dotted name is, in words (translated)."""
    return _(ANSWER_SOURCES[answer_source(name) or name.split(".")[0]])


def imports_message(thing: str, source: str) -> str:
    return _("imports {thing} ({source})").format(thing=thing, source=source_of(source))


def uses_message(thing: str) -> str:
    return _("uses {thing} ({source})").format(thing=thing, source=source_of(thing))


def forbidden_message(name: str) -> str:
    return _("uses {name}, which this exercise asks you not to use").format(name=name)


def reads_message(path: str, source: str) -> str:
    return _("reads {path} ({source})").format(path=path, source=source_of(source))


def answer_source(module: str) -> str | None:
    """The answer source a dotted module name belongs to, if any."""
    root = module.split(".")[0]
    return root if root in ANSWER_SOURCES else None


def allowed(module: str, name: str | None) -> bool:
    """Whether importing ``name`` from ``module`` is allowed (config classes of reference)."""
    if answer_source(module) != "reference":
        return answer_source(module) is None
    return name is not None and bool(ALLOWED_NAME.fullmatch(name))


def forbidden_match(dotted: str, forbidden: tuple[str, ...]) -> str | None:
    """The forbidden name ``dotted`` stands for: the same name, or the same function reached
    through another torch path (``torch._C._nn.gelu`` is ``torch.nn.functional.gelu``)."""
    for name in forbidden:
        if dotted == name:
            return name
        root, leaf = name.split(".")[0], name.rsplit(".", 1)[-1]
        if dotted.split(".")[0] == root and dotted.rsplit(".", 1)[-1] == leaf:
            return name
    return None


def _constant_text(node: ast.AST) -> str | None:
    """A string the expression always evaluates to (constants, + and f-strings of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_text(node.left), _constant_text(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [_constant_text(v) for v in node.values]
        return None if None in parts else "".join(parts)  # type: ignore[arg-type]
    return None


class _Reader(ast.NodeVisitor):
    def __init__(self, file: str, package: str, forbidden: tuple[str, ...]):
        self.file = file
        self.package = package  # dotted package of this file inside the target ("" at top)
        self.forbidden = forbidden
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted module or object
        self.local_imports: set[str] = set()  # target modules this file imports

    def note(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(self.file, getattr(node, "lineno", 0), what))

    def _source(self, module: str, name: str | None, node: ast.AST) -> None:
        source = answer_source(module)
        if source and not allowed(module, name):
            thing = _("{name} from {module}").format(name=name, module=module) if name else module
            self.note(node, imports_message(thing, source))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            self.aliases[local] = alias.name if alias.asname else local
            if alias.name.startswith(TARGET_PACKAGE + "."):
                self.local_imports.add(alias.name.removeprefix(TARGET_PACKAGE + "."))
            elif answer_source(alias.name) not in (None, "reference"):
                self._source(alias.name, None, node)
            # ``import reference``: judged by what is used from it (visit_Attribute)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".") if self.package else []
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                self.local_imports.add(f"{module}.{alias.name}".strip("."))
                if module:
                    self.local_imports.add(module)
            return
        module = node.module or ""
        if module == TARGET_PACKAGE or module.startswith(TARGET_PACKAGE + "."):
            inner = module.removeprefix(TARGET_PACKAGE).strip(".")
            for alias in node.names:
                self.local_imports.add(f"{inner}.{alias.name}".strip("."))
            if inner:
                self.local_imports.add(inner)
            return
        for alias in node.names:
            self._source(module, alias.name, node)
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            dotted = f"{module}.{alias.name}"
            if (match := forbidden_match(dotted, self.forbidden)) is not None:
                self.note(node, forbidden_message(match))

    def _dotted(self, node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id)
        if head is None and node.id in ("torch", "importlib", "runpy"):
            head = node.id
        if head is None:
            return None
        return ".".join([head, *reversed(parts)])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self._dotted(node)
        if dotted is not None:
            if (match := forbidden_match(dotted, self.forbidden)) is not None:
                self.note(node, forbidden_message(match))
                return
            if answer_source(dotted) == "reference" and dotted.count(".") >= 1:
                leaf = dotted.split(".")[-1]
                if not ALLOWED_NAME.fullmatch(leaf):
                    self.note(node, uses_message(dotted))
                return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        dotted = self.aliases.get(node.id)
        if dotted is None:
            return
        if (match := forbidden_match(dotted, self.forbidden)) is not None:
            self.note(node, forbidden_message(match))
        elif answer_source(dotted) == "reference" and not ALLOWED_NAME.fullmatch(
            dotted.split(".")[-1]
        ):
            self.note(node, uses_message(dotted))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = self.aliases.get(func.id, func.id) if isinstance(func, ast.Name) else (
            self._dotted(func)
        )
        if name in DYNAMIC_IMPORTS:
            texts = [_constant_text(a) for a in [*node.args, *(k.value for k in node.keywords)]]
            for text in filter(None, texts):
                if self._dynamic(node, name, text):
                    break
        self.generic_visit(node)

    def _dynamic(self, node: ast.Call, name: str, text: str) -> bool:
        """A constant handed to an import, file or exec function that names an answer."""
        if name in ("exec", "eval", "compile"):
            try:
                inner = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False
            reader = _Reader(self.file, self.package, self.forbidden)
            reader.aliases = dict(self.aliases)
            reader.visit(inner)
            for finding in reader.findings:
                self.note(node, _("{finding} (in a string run by {function})").format(
                    finding=finding.what, function=name))
            return bool(reader.findings)
        segments = [s for s in re.split(r"[/\\]", text) if s]
        if len(segments) > 1 or text.endswith(".py"):  # a path
            for segment in [*segments[:-1], segments[-1].removesuffix(".py")]:
                source = segment if segment in PROJECT_SOURCES else None
                if source:
                    self.note(node, reads_message(repr(text), source))
                    return True
            return False
        if name == "open":
            return False
        source = answer_source(text)
        if source and not allowed(text, None):
            self.note(node, imports_message(repr(text), source))
            return True
        return False


def _module_file(folder: Path, module: str) -> Path | None:
    if not module:
        return None
    base = folder.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def scan(folder: Path, module: str, forbidden: tuple[str, ...] = ()) -> list[Finding]:
    """Findings in ``module`` (dotted, inside ``folder``) and every target module it imports."""
    findings: list[Finding] = []
    seen: set[Path] = set()
    queue = [module]
    while queue:
        current = queue.pop(0)
        path = _module_file(folder, current)
        if path is None or path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the checks report a file that does not parse
        is_package = path.name == "__init__.py"
        package = current if is_package else current.rpartition(".")[0]
        reader = _Reader(str(path.relative_to(folder)), package, forbidden)
        reader.visit(tree)
        findings += reader.findings
        queue += sorted(reader.local_imports)
    unique: dict[str, Finding] = {}
    for finding in findings:  # one finding per thing used, at its first place
        unique.setdefault(finding.what, finding)
    return list(unique.values())
