"""Labs: training runs built from the learner's own pieces, and pictures of what they compute.

    bertprep lab finetune     fine-tune all-MiniLM-L6-v2 on a shipped review set with your
                              bert_model, sequence-classification head and optimizer pieces
    bertprep lab pretrain     MLM pre-training of a tiny BERT from scratch with your masking
                              rule and MLM head
    bertprep show attention   the real weights' attention, computed with your attention code

Each lab uses a learner's piece once it passes (``pieces``), the reference's otherwise, and
says which were whose. Learner code runs only in the sandbox's forked child (``isolated``
and ``check_lab.py``, run as the debug round is: one check in a private target folder); the
reference run, the frozen baseline, the comparison (``compare``) and the figures and reports
(``plots``, ``report``) run in the bertprep process. The data (``data/``) is written for the
project and shipped with it.

Modules: ``pieces`` (whose piece is used), ``datasets`` (the shipped data, tokenized),
``finetune`` / ``pretrain`` / ``attention`` (the runs themselves, the same code in both
processes), ``isolated`` (one job in the sandbox, with live progress), ``compare``
(where two runs part), ``plots``, ``report``, ``terminal`` (progress and heat-maps), and
``labs`` (the commands' bodies).
"""
