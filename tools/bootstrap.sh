# Sourced by ./bertprep and ./run-tests: make sure .venv exists and matches pyproject.toml.
# Idempotent: a stamp holding the hash of pyproject.toml skips the install when nothing changed.
set -euo pipefail
BERTPREP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$BERTPREP_ROOT/.venv"
STAMP="$VENV/.bertprep-installed"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false NO_MKDOCS_2_WARNING=1

_bertprep_python() {
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "bertprep needs Python 3.11 or newer on PATH" >&2
    return 1
}

_bertprep_wanted_stamp() {
    "$VENV/bin/python" - "$BERTPREP_ROOT/pyproject.toml" <<'PY'
import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
PY
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "bertprep: creating a virtual environment in .venv (first run only)" >&2
    "$(_bertprep_python)" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(_bertprep_wanted_stamp)" ]; then
    echo "bertprep: installing dependencies into .venv" >&2
    # torch first, pinned: an unpinned torch would drag in a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$BERTPREP_ROOT[dev,docs]"
    _bertprep_wanted_stamp >"$STAMP"
fi
