import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ewtune_bin():
    """The Rust CLI built from this checkout (scripts/test-python.sh builds it first)."""
    cand = os.environ.get("EWTUNE_BIN") or str(ROOT / "target" / "release" / "ewtune")
    if not os.path.exists(cand):
        cand = shutil.which("ewtune") or ""
    if not cand:
        pytest.skip("SKIPPED: the ewtune CLI binary is not built (cargo build --release); "
                    "scripts/test-python.sh builds it")
    return cand
