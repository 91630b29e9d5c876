"""The debug round: a whole BertModel with seeded bugs (``bugs`` swaps named fragments of the
clean template ``clean_bert.py``), graded on the real weights in the sandbox (``compare``,
``check_debug``, ``grading``), with a countdown, hints and a debrief (``round``, ``report``).

Imports the engine, the reference, drill.loop (the save loop it shares with drills) and the
interview's question bank; never grader.cli.
"""
