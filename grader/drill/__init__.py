"""Drills: spaced repetition over code. Every passed exercise is an FSRS card; a due drill is
the exercise's blank stub in a scratch folder, graded on every save against the clock, and
its result is the card's rating (``bertprep drill``; ``rounds`` runs one, or a debug round,
as an interview's coding round).

Imports the engine (workspace, progress, sandbox, catalogue) and interview.review / terminal /
records; never grader.cli.
"""
