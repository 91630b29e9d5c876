"""Running learner code: the target package (``target``), the snapshot of the bytes graded and
the fingerprints of the grader's own files (``snapshot``), the warm forking worker
(``worker``, one fork per exercise; ``child`` is what the fork does before pytest), processes
and their cleanup (``procs``), the parent's side of a grading run (``runner``) and its
verdicts (``verdicts``), the pytest plugin that turns each check's outcome into a record
(``plugin``, ``outcomes``, ``failure``), and borrowed answers found in the files
(``borrowing``) and at run time (``guard``).

Imports only ``grader.catalogue``, ``grader.i18n`` and itself; the check modules import the
sandbox, never the reverse.
"""
