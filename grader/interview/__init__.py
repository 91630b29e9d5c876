"""The spoken half of an interview: the question bank (``bank``, data in ``questions/``),
timed mock interviews (``session``, ``records``, ``debrief``, ``texts``), spaced repetition
over the bank (``review``) and terminal input/output that tests can script (``terminal``).

Imports the engine below it (catalogue, progress, workspace, sandbox), never ``grader.cli``.
"""
