"""Reading a learner's files for a borrowed answer (issue 9 B8): each way of importing the
answer is found, the configuration classes the stubs import are not, and neither the stubs
nor the solutions trip it."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT, load_catalogue
from grader.sandbox.borrowing import scan

GELU_RULE = ("torch.nn.functional.gelu", "torch.nn.GELU")

BORROWED = {
    "from reference import scaled_dot_product_attention": "reference",
    "from reference.modeling import BertModel": "reference.modeling",
    "import reference\nclass BertModel(reference.BertModel):\n    pass": "reference.BertModel",
    "import reference as r\nf = r.gelu": "reference.gelu",
    "from solutions.e04_attention import scaled_dot_product_attention": "solutions",
    "import solutions.e02_gelu": "solutions.e02_gelu",
    "import importlib\nm = importlib.import_module('solutions.e02_gelu')": "solutions.e02_gelu",
    "import importlib\nm = importlib.import_module('refer' + 'ence')": "reference",
    "m = __import__('reference')": "reference",
    "exec('from reference import gelu')": "reference",
    "import importlib.util\ns = importlib.util.spec_from_file_location('m', '../solutions/x.py')":
        "solutions",
    "text = open('/somewhere/solutions/e02_gelu.py').read()": "solutions",
    "import transformers": "transformers",
    "from sentence_transformers import SentenceTransformer": "sentence_transformers",
    "import grader.sandbox.plugin": "grader",
    "import torch.nn.functional as F\ny = F.gelu": "torch.nn.functional.gelu",
    "from torch.nn.functional import gelu": "torch.nn.functional.gelu",
    "import torch\ny = torch._C._nn.gelu": "torch.nn.functional.gelu",
    "from torch import nn\nlayer = nn.GELU()": "torch.nn.GELU",
}  # fmt: skip

ALLOWED = (
    "from reference import BertConfig",
    "from reference.config import BertConfig",
    "import reference\nconfig = reference.BertConfig(hidden_size=8)",
    "import reference.config\nc = reference.config.BertConfig",
    "from reference.variants import AlbertConfig",
    "import torch\ny = torch.erf",
    "import torch.nn.functional as F\ny = F.relu",
    "text = open('notes/reference.txt').read()",
)


def write(folder: Path, module: str, source: str) -> None:
    (folder / f"{module}.py").write_text(source + "\n", encoding="utf-8")


@pytest.mark.parametrize("source", sorted(BORROWED))
def test_each_way_of_borrowing_is_found(tmp_path, source):
    write(tmp_path, "e02_gelu", source)
    findings = scan(tmp_path, "e02_gelu", GELU_RULE)
    assert findings, source
    assert any(BORROWED[source] in f.what for f in findings), [f.what for f in findings]
    assert all(f.file == "e02_gelu.py" and f.line >= 1 for f in findings)


@pytest.mark.parametrize("source", ALLOWED)
def test_configurations_and_ordinary_torch_are_allowed(tmp_path, source):
    write(tmp_path, "e02_gelu", source)
    assert scan(tmp_path, "e02_gelu", GELU_RULE) == []


def test_an_answer_imported_through_a_helper_module_is_found(tmp_path):
    write(tmp_path, "helpers", "from reference import gelu as exact")
    write(tmp_path, "e02_gelu", "from .helpers import exact\n\ndef gelu(x):\n    return exact(x)")
    (finding,) = scan(tmp_path, "e02_gelu", ())
    assert finding.file == "helpers.py" and "reference" in finding.what


def test_rules_apply_to_their_own_exercise_only(tmp_path):
    write(tmp_path, "e07_encoder_layer", "import torch.nn.functional as F\ny = F.gelu")
    assert scan(tmp_path, "e07_encoder_layer", ()) == []


def test_unparsable_and_missing_files_say_nothing(tmp_path):
    write(tmp_path, "e02_gelu", "def gelu(x)\n    return x")
    assert scan(tmp_path, "e02_gelu", GELU_RULE) == []
    assert scan(tmp_path, "e99_missing", GELU_RULE) == []


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_stubs_and_solutions_borrow_nothing(folder):
    for exercise in load_catalogue().exercises:
        findings = scan(PROJECT_ROOT / folder, exercise.module, exercise.forbidden)
        assert findings == [], (exercise.id, [f.sentence() for f in findings])


def test_the_run_time_watch_finds_modules_loaded_or_dropped_between_checks(tmp_path):
    """``Guard._modules`` reads only the names added since its last call; a name dropped
    before them must not hide a module added after (it reads everything again then)."""
    import sys
    import types

    import reference  # noqa: F401  (loaded before the guard's first look)
    from grader.sandbox.borrowing import TARGET_PACKAGE
    from grader.sandbox.guard import Guard

    guard = Guard(str(tmp_path), [], None, lambda what, where: None)
    added = [f"{TARGET_PACKAGE}._watch_{i}" for i in range(4)] + ["reference._watch_probe"]
    try:
        assert not set(added) & set(guard._modules(TARGET_PACKAGE))
        for name in added[:3]:
            sys.modules[name] = types.ModuleType(name)
        assert set(added[:3]) <= set(guard._modules(TARGET_PACKAGE))
        del sys.modules[added[0]]  # dropped, then two more loaded: the same count as before
        sys.modules[added[3]] = types.ModuleType(added[3])
        sys.modules[added[4]] = types.ModuleType(added[4])
        found = set(guard._modules(TARGET_PACKAGE))
        assert added[0] not in found and set(added[1:4]) <= found
        assert added[4] in guard._modules("reference")
        assert "reference" in guard._modules("reference")
    finally:
        for name in added:
            sys.modules.pop(name, None)
