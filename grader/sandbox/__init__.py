"""Running learner code: the target package (``target``), the warm forking worker
(``worker``), the parent's side of a grading run and its verdicts (``runner``), and the pytest
plugin that turns each check's outcome into a record (``plugin``, ``failure``).

Imports only ``grader.catalogue``; the check modules import the sandbox, never the reverse.
"""
