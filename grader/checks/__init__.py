"""One pytest module per exercise: ``check_<exercise id>.py``. Run them with ``bertprep check``."""
