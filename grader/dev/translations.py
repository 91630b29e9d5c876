"""Keep the gettext catalogues in step with the code (Babel does the work).

    python -m grader.dev.translations update    # extract messages, merge into the .po files
    python -m grader.dev.translations compile   # .po -> .mo (the .mo files are committed)
    python -m grader.dev.translations check     # fail on untranslated, fuzzy or stale entries

Messages come from two places: calls to ``_()`` / ``N_()`` / ``ngettext()`` anywhere in
grader/ (Babel's Python extractor), and the titles of checks, which are the first docstring
line of each ``test_*`` function in grader/checks/check_*.py (the plugin translates them when
it records a result). Babel is a development dependency; at run time the standard library's
``gettext`` reads the compiled ``.mo``.
"""

from __future__ import annotations

import argparse
import ast
import gettext
import io
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from grader.catalogue import PROJECT_ROOT
from grader.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

GRADER_DIR = PROJECT_ROOT / "grader"
CHECKS_DIR = GRADER_DIR / "checks"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
FIXED_DATE = datetime(2026, 12, 1, tzinfo=UTC)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def check_titles() -> Iterator[tuple[str, Path, int]]:
    """(title, file, line) for every check: the first line of each test's docstring."""
    for path in sorted(CHECKS_DIR.glob("check_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                doc = ast.get_docstring(node)
                if doc and doc.strip():
                    yield doc.strip().splitlines()[0].strip(), path, node.lineno


def extract() -> Catalog:
    """Every message id the code can show, with where it comes from."""
    # Fixed header dates: the catalogues change only when a message does.
    catalog = Catalog(domain=DOMAIN, project="bertprep", version="", charset="utf-8",
                      copyright_holder="the bertprep authors", msgid_bugs_address="",
                      creation_date=FIXED_DATE, revision_date=FIXED_DATE)  # fmt: skip
    for filename, lineno, message, comments, context in extract_from_dir(
        str(GRADER_DIR),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
    ):
        catalog.add(message, None, [(f"grader/{filename}", lineno)],
                    auto_comments=comments, context=context)  # fmt: skip
    for title, path, lineno in check_titles():
        catalog.add(title, None, [(str(path.relative_to(PROJECT_ROOT)), lineno)],
                    auto_comments=["the title of a check"])  # fmt: skip
    return catalog


def _read(path: Path, lang: str) -> Catalog:
    if not path.is_file():
        return Catalog(locale=lang, domain=DOMAIN, project="bertprep", version="",
                       charset="utf-8", copyright_holder="the bertprep authors",
                       creation_date=FIXED_DATE, revision_date=FIXED_DATE)  # fmt: skip
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def _write_po(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_by_file=False, omit_header=False,
             include_previous=False)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def update() -> list[Path]:
    """Merge freshly extracted messages into each language's .po (new ones untranslated;
    ones the code no longer uses are dropped)."""
    template = extract()
    written = []
    for lang in TRANSLATED:
        catalog = _read(po_path(lang), lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header entry; translations are never fuzzy-matched
        catalog.obsolete.clear()
        _write_po(catalog, po_path(lang))
        written.append(po_path(lang))
    return written


def compiled(lang: str) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, _read(po_path(lang), lang), use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[Path]:
    for lang in TRANSLATED:
        mo_path(lang).write_bytes(compiled(lang))
    return [mo_path(lang) for lang in TRANSLATED]


def _entries(mo: bytes) -> dict:
    """What a compiled catalogue says, as gettext reads it: Babel releases lay the bytes out
    differently, so two .mo files are compared by their entries, not byte for byte."""
    translations = gettext.GNUTranslations(io.BytesIO(mo))
    entries = dict(translations._catalog)  # the only view gettext gives of every entry
    entries.pop("", None)  # the header: it names the Babel release that compiled it
    return entries


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def _message_ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def problems() -> list[str]:
    """What stops the catalogues from matching the code: every one is listed."""
    found = []
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    for lang in TRANSLATED:
        path = po_path(lang)
        catalog = _read(path, lang)
        have = {}
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            have[key] = message
        rel = path.relative_to(PROJECT_ROOT)
        for missing in sorted(wanted - set(have)):
            found.append(f"{rel}: no entry for {missing!r} (run update)")
        for key in sorted(set(have) - wanted):
            found.append(f"{rel}: {key!r} is no longer used by the code (run update)")
        for key, message in sorted(have.items()):
            strings = _strings(message)
            if message.fuzzy:
                found.append(f"{rel}: {key!r} is marked fuzzy")
            elif not all(s and s.strip() for s in strings):
                found.append(f"{rel}: {key!r} has no {lang} translation")
            elif key in wanted:
                found.extend(_placeholder_problems(rel, message))
        if not mo_path(lang).is_file() or _entries(mo_path(lang).read_bytes()) != _entries(
            compiled(lang)
        ):
            found.append(f"{mo_path(lang).relative_to(PROJECT_ROOT)} is stale (run compile)")
    return found


_FIELD = re.compile(r"\{[^{}]*\}")


def _placeholder_problems(rel: Path, message) -> list[str]:
    """A translation must keep every ``{field}`` of its message id, or .format() breaks."""
    ids = _message_ids(message)
    strings = _strings(message)
    wanted = sorted(_FIELD.findall(ids[0]))
    return [
        f"{rel}: {ids[0]!r}: the translation's fields {sorted(_FIELD.findall(s))} "
        f"differ from {wanted}"
        for s in strings
        if sorted(_FIELD.findall(s)) != wanted
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.dev.translations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.command == "update":
        for path in update():
            print(path.relative_to(PROJECT_ROOT))
    elif args.command == "compile":
        for path in compile_all():
            print(path.relative_to(PROJECT_ROOT))
    else:
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
