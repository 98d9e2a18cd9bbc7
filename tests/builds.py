"""What the tests need that `pip install .` does not build (.ci/run builds it)."""
import os

import pytest


def built(path, how):
    """``path`` if it exists. Otherwise the test fails in CI (CI set: .ci/run builds it) and is skipped
    elsewhere; ``how`` says how to build it."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: .ci/run builds it ({how})")
        pytest.skip(f"{path} not built ({how})")
    return path
