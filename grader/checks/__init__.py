"""One pytest module per exercise (``check_<exercise id>.py``) and what they share: the check
kit (``kit``: comparisons and failures written for the learner), hypothesis strategies
(``strategies``) and the fine-tuning heads' shared checks (``head_checks``).

Check modules import the sandbox (to load the target's modules) and ``reference``; run them
with ``bertprep check``.
"""
