"""bertprep's grader: the ``bertprep`` command and everything behind it.

Folders and modules, from the top; imports point down only (tests/test_layout.py holds it):

    cli.py, cli_rounds.py, cli_labs.py
                    the typer app: parse options, call one function, set the exit code
    watch.py, interview/, drill/, debug/, lab/, site/, dev/
                    features: watch mode, mock interviews and FSRS review, drills (rewrite a
                    passed exercise on a schedule), the broken-BERT debug round, labs and
                    pictures, the docs site, author tools (verify, bench, demo, translations)
    feedback.py     what the learner reads: overview, verdicts, hints
    workspace.py    the learner's exercise files: status, next exercise, reset
    checks/         one check module per exercise, the check kit, hypothesis strategies
    progress/       the learner's state file, and safe reads and locked writes of state files
    sandbox/        running learner code: target package, warm worker, runner, pytest plugin
    catalogue.py    exercises, mistakes, hints (catalogue.toml)
    i18n.py         the language bertprep speaks (gettext catalogues in locale/)
    reference/      (outside grader/) the from-scratch BERT everything is compared with
"""
