"""What the interview mode prints, in each language it speaks."""

from __future__ import annotations

from grader.i18n import plural_translator, translator


def ui_texts(lang: str) -> dict[str, str]:
    """The texts of this mode in ``lang`` (gettext catalogue: grader/locale)."""
    _ = translator(lang)
    return {
        "title": _("Mock interview"),
        "plan": _("{count} · {minutes} min · topics: {topics} · {answer} per answer{coding}"),
        "as_time_allows": _("questions as time allows"),
        "with_coding": _(" · coding round {coding}"),
        "all_topics": _("all"),
        "question": _("Question {n}"),
        "session_left": _("{left} left in the session"),
        "instruction": _("type or speak your answer; an empty line ends it (Enter twice)"),
        "your_answer": _("your answer"),
        "no_answer": _("(nothing typed: a spoken answer, or skipped)"),
        "time_up": _("Time is up for this answer: moving on."),
        "model_answer": _("model answer"),
        "rubric": _("Rubric: which points did your answer cover?"),
        "ticks_prompt": _("Covered points (e.g. 1,3 · all · none): "),
        "ticks_help": _("Type point numbers like 1,3 or 1-3, or all, or none."),
        "follow_up": _("Follow-up"),
        "follow_up_check": _("Did your follow-up answer hold up? (y/n) "),
        "questions_over": _("The question part of the session is over."),
        "bank_done": _("No more questions in the chosen topics."),
        "stopped": _("Session stopped."),
        "coding": _("Coding round"),
        "coding_edit": _(
            "Edit {path}, then press Enter on an empty line to grade it (it is "
            "graded when time runs out anyway; type skip to skip)."
        ),
        "coding_stuck": _("Stuck? `bertprep hint {id}` in another terminal."),
        "coding_instruction": _("Enter grades your file"),
        "coding_none": _("Every exercise already passes: no coding round."),
        "grading": _("Grading {id} (time left for grading: {left})…"),
        "grading_out_of_time": _("the grader ran out of the session's time"),
        "skipped": _("skipped"),
        "debrief": _("Debrief"),
        "score": _("score"),
        "answer_time": _("answer"),
        "total_time": _("total"),
        "rating": _("rating"),
        "next_review": _("next review"),
        "topic": _("topic"),
        "question_column": _("question"),
        "weakest": _("Weakest topics"),
        "no_weak": _("none: every rubric point covered"),
        "overall": _("Overall: {covered}/{points} rubric points ({percent}%) in {duration}."),
        "transcript": _("Transcript saved to {path}"),
        "no_turns": _("No question was answered."),
        "held": _("held up"),
        "not_held": _("did not hold up"),
        "probe": _("You did not get to this point: {point}. Can you talk me through it?"),
        "probe_check": _("Did your answer cover that point this time? (y/n) "),
        "short_answer": _("in 30 seconds"),
        "input_ended": _(
            "The input ended before the session finished; what was answered is kept."
        ),
        "not_assessed": _("not self-assessed: the input ended"),
        "Again": _("Again"),
        "Hard": _("Hard"),
        "Good": _("Good"),
        "Easy": _("Easy"),
    }


def up_to(lang: str, n: int) -> str:
    """"up to 1 question" / "up to 5 questions", in ``lang``."""
    ngettext = plural_translator(lang)
    return ngettext("up to {n} question", "up to {n} questions", n).format(n=n)
