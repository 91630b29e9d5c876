"""Shared test setup: offline hub, deterministic hypothesis, the bundled real weights."""

import os

# Set before anything imports transformers / huggingface_hub: nothing may reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

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
