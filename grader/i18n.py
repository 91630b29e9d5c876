"""The language bertprep speaks: English or Chinese, through gettext catalogues.

Code strings are marked with ``_()`` (and ``N_()`` where a string is defined before the
language is known and translated where it is shown). Babel extracts them into
``grader/locale/bertprep.pot``; translators edit ``grader/locale/zh/LC_MESSAGES/bertprep.po``;
the compiled ``.mo`` beside it is committed, so a fresh clone speaks Chinese offline and the
standard library's ``gettext`` is all that runs at run time. ``python -m grader.i18n`` updates
and compiles the catalogues (see grader/locale/README.md).

Data files carry their own translations (``[exercise.zh]`` tables in catalogue.toml,
``[question.zh]`` in the question bank); :func:`localized` reads them.

The language is chosen once per process, in this order: ``--lang`` on the command line,
``BERTPREP_LANG``, the locale (``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``: a value starting
with ``zh`` means Chinese), else English. The choice is exported as ``BERTPREP_LANG`` so that
the grading child, which renders check messages, speaks the same language.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh")
DOMAIN = "bertprep"
LOCALE_DIR = Path(__file__).with_name("locale")
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``BERTPREP_LANG`` if set to a known language, else the POSIX locale's language."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("BERTPREP_LANG", "").strip().lower()
    if explicit in LANGUAGES:
        return explicit
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:  # the first one set wins, as in POSIX: LC_ALL=C beats LANG=zh_CN
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def language_from_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang X`` / ``--lang=X`` anywhere in ``argv`` (None when absent)."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


def set_language(lang: str | None) -> str:
    """Fix the language of this process (None: from the environment) and export it."""
    global _chosen
    lang = (lang or language_from_environment()).strip().lower()
    if lang not in LANGUAGES:
        raise ValueError(f"--lang takes {' or '.join(LANGUAGES)}, not {lang!r}")
    _chosen = lang
    os.environ["BERTPREP_LANG"] = lang
    return lang


def language() -> str:
    return _chosen or language_from_environment()


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def translator(lang: str):
    """The ``gettext`` function of one language (for modes that speak a chosen language)."""
    return _translations(lang).gettext


def plural_translator(lang: str):
    return _translations(lang).ngettext


def _(message: str) -> str:
    """``message`` in the current language (the English text is the message id)."""
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # the gettext convention for "mark now, translate later"
    """Mark ``message`` for extraction without translating it yet."""
    return message


def localized(record: Mapping, key: str, lang: str | None = None):
    """``record[key]`` in the current language, for data that carries its own translations
    in a ``zh`` sub-table (catalogue entries); English when no translation exists."""
    lang = lang or language()
    if lang != "en":
        translated = (record.get(lang) or {}).get(key)
        if translated:
            return translated
    return record[key]


# ------------------------------------------------------------------ wrapping Chinese text

_CJK = (  # CJK radicals, punctuation, kana, bopomofo, ideographs, full-width forms
    r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff00-\uffef"
)
_OPENING = "（《「『【〔“‘"
_CLOSING = "，。、；：？！）》」』】〕”’…"
_WORD = re.compile(
    rf"\s*[{_OPENING}]*(?:[{_CJK}]|[^\s{_CJK}]+)[{_CLOSING}]*\s*"
)


def _cjk_words(text: str):
    """rich's word splitter, taught that every CJK character is a word of its own (so a line
    may break between two of them) while closing punctuation stays with what precedes it and
    opening punctuation with what follows. Text without CJK splits exactly as before."""
    for match in _WORD.finditer(text):
        yield match.start(), match.end(), match.group(0)


def install_cjk_wrapping() -> None:
    """Make rich wrap Chinese at character boundaries instead of only at spaces.

    rich (15.x) finds break opportunities with ``rich._wrap.words``; replacing that one
    function fixes every table, panel and paragraph at once. tests/test_i18n.py proves the
    effect, so an incompatible rich release fails loudly there.
    """
    import rich._wrap

    rich._wrap.words = _cjk_words


# ------------------------------------------------------------------ click's own messages

def _click_messages() -> None:  # never called: marks the messages of click and typer that
    """a learner sees (help headings, usage errors) for extraction into our catalogue."""
    for _message in (
        N_("Usage:"), N_("Options"), N_("Arguments"), N_("Commands"),
        N_("Show this message and exit."), N_("default: {default}"), N_("required"),
        N_("Error: {message}"), N_("Try '{command} {option}' for help."),
        N_("Missing argument"), N_("Missing option"), N_("Missing parameter"),
        N_("Missing command."), N_("No such option {name!r}."), N_("No such command {name!r}."),
        N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
        N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
        N_("Option {name!r} does not take a value."), N_("Aborted!"),
    ):  # fmt: skip
        pass
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)
    ngettext("Got unexpected extra argument ({args})",
             "Got unexpected extra arguments ({args})", 1)  # fmt: skip
    ngettext("Option {name!r} requires an argument.",
             "Option {name!r} requires {nargs} arguments.", 1)  # fmt: skip
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)


def install_click_translations() -> None:
    """Make click and typer (help headings, "Show this message and exit.", usage errors) speak
    the chosen language. They call the standard library's ``gettext.gettext``, which reads the
    global text domain and the locale variables, so ``--lang`` and ``BERTPREP_LANG`` would not
    reach them: their modules' ``_`` and ``ngettext`` are pointed at ours instead. Must run
    before the typer app builds its click commands (the help option's text is read then).
    tests/test_i18n.py proves the effect."""
    import importlib

    for name in ("click.core", "click.decorators", "click.exceptions", "click.formatting",
                 "click.parser", "click.types", "typer.core", "typer.rich_utils"):  # fmt: skip
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = _
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
    _translate_vendored_click()


def _translate_vendored_click() -> None:
    """typer 0.29 ships its own copy of click (``typer._click``) whose help option text and
    "Usage:" prefix are plain English literals: translate those two where they are used."""
    try:
        from typer._click import core, formatting
    except ImportError:
        return
    if getattr(core.Command.get_help_option, "translated", False):
        return
    get_help_option = core.Command.get_help_option
    write_usage = formatting.HelpFormatter.write_usage

    def translated_help_option(self, ctx):
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    def translated_usage(self, prog, args="", prefix=None):
        if prefix is None:
            prefix = _("Usage:")
            prefix += "" if prefix.endswith("：") else " "  # a full-width colon has its space
        return write_usage(self, prog, args, prefix)

    translated_help_option.translated = True
    core.Command.get_help_option = translated_help_option
    formatting.HelpFormatter.write_usage = translated_usage
    _translate_vendored_errors()


# Usage errors of typer's vendored click are English f-strings: recognise each form and say it
# again through our catalogue (the names, values and inner details stay as they are).
_CLICK_ERRORS = tuple(
    (re.compile(pattern, re.DOTALL), message)
    for pattern, message in (
        (r"No such option: (?P<name>.+)", N_("No such option: {name}")),
        (r"No such command (?P<name>.+)\.", N_("No such command {name}.")),
        (r"Got unexpected extra argument\(s\) \((?P<args>.+)\)",
         N_("Got unexpected extra arguments ({args})")),
        (r"Invalid value for (?P<hint>.+?): (?P<message>.+)",
         N_("Invalid value for {hint}: {message}")),
        (r"Invalid value: (?P<message>.+)", N_("Invalid value: {message}")),
        (r"Missing argument (?P<hint>.+)\.", N_("Missing argument {hint}.")),
        (r"Missing option (?P<hint>.+)\.", N_("Missing option {hint}.")),
        (r"Missing parameter: (?P<name>.+)", N_("Missing parameter: {name}")),
        (r"Option (?P<name>.+) does not take a value\.",
         N_("Option {name} does not take a value.")),
        (r"Option (?P<name>.+) requires an argument\.",
         N_("Option {name} requires an argument.")),
        (r"Value error, (?P<value>.+) is not one of (?P<choices>.+)\.",
         N_("{value} is not one of {choices}.")),
        (r"Input should be less than or equal to (?P<limit>\S+)",
         N_("the value should be at most {limit}")),
        (r"Input should be greater than or equal to (?P<limit>\S+)",
         N_("the value should be at least {limit}")),
        (r"Input should be a valid integer.*", N_("the value should be a whole number")),
        (r"Input should be a valid number.*", N_("the value should be a number")),
    )
)  # fmt: skip


def translate_click_error(text: str) -> str:
    """A usage error of click in the current language (unknown forms stay as they are)."""
    for pattern, message in _CLICK_ERRORS:
        match = pattern.fullmatch(text.strip())
        if match:
            fields = {k: translate_click_error(v) if k == "message" else v
                      for k, v in match.groupdict().items()}  # fmt: skip
            return _(message).format(**fields)
    return text


def _translate_vendored_errors() -> None:
    from typer._click import exceptions
    from typer._click.utils import echo

    def show_error(self, file=None) -> None:
        echo(_("Error: {message}").format(message=translate_click_error(self.format_message())),
             file=file or exceptions.get_text_stderr(), color=self.show_color)  # fmt: skip

    def show_usage_error(self, file=None) -> None:
        file = file or exceptions.get_text_stderr()
        color = self.ctx.color if self.ctx is not None else None
        if self.ctx is not None:
            hint = ""
            if self.ctx.command.get_help_option(self.ctx) is not None:
                hint = _("Try '{command} {option}' for help.").format(
                    command=self.ctx.command_path, option=self.ctx.help_option_names[0]) + "\n"
            echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=color)
        echo(_("Error: {message}").format(message=translate_click_error(self.format_message())),
             file=file, color=color)  # fmt: skip

    exceptions.ClickException.show = show_error
    exceptions.UsageError.show = show_usage_error
