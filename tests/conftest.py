"""Shared test setup: offline hub, deterministic hypothesis, the bundled real weights."""

import os

# Set before anything imports transformers / huggingface_hub: nothing may reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The project's tests read English unless a test asks for Chinese (a Chinese locale on the
# machine must not change what they expect).
os.environ["BERTPREP_LANG"] = "en"

import pytest
import torch
from hypothesis import HealthCheck, settings

# Derandomized and database-free: the same code always meets the same examples.
settings.register_profile(
    "bertprep",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("bertprep")

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def minilm_dir():
    from reference import minilm_dir as _minilm_dir

    return _minilm_dir()


# Largest reference-vs-HF differences seen in this run, printed at the end ("report the figure").
MAX_ABS_DIFF: dict[str, float] = {}


def record_max_diff(name: str, value: float) -> None:
    MAX_ABS_DIFF[name] = max(MAX_ABS_DIFF.get(name, 0.0), float(value))


def pytest_terminal_summary(terminalreporter):
    if MAX_ABS_DIFF:
        terminalreporter.section("reference vs Hugging Face: largest |difference| seen")
        for name, value in sorted(MAX_ABS_DIFF.items()):
            terminalreporter.write_line(f"{name:<60} {value:.3e}")
