"""Where the shared data sets live: ``$SEMEQ_DATA`` if set, else ``<repo>/../shared/data``, where
<repo> is the source checkout this package runs from or, for an installed package, the current
directory or one of its parents (CI runs the tests from the repository root).

Data is read in place and never copied into the project; every reader hashes what it reads
(``sha256_file``) so that checkpoints can say exactly which files they were trained on.
"""
from __future__ import annotations

import os
from pathlib import Path

from semeq_rt.bundle import sha256_file  # noqa: F401  (one definition, re-exported for training)

ENV_VAR = "SEMEQ_DATA"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the checkout, when run from source


def _default_data_dir() -> Path:
    cwd = Path.cwd().resolve()
    for repo in (_SOURCE_ROOT, cwd, *cwd.parents):
        candidate = repo.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return _SOURCE_ROOT.parent / "shared" / "data"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: ``override``, else ``$SEMEQ_DATA``, else ``<repo>/../shared/data``."""
    chosen = override or os.environ.get(ENV_VAR) or _default_data_dir()
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"data directory {path} does not exist; pass --data DIR or set {ENV_VAR} "
            "(expected the shared data sets, e.g. safe-db/, socialfx-eq/)"
        )
    return path


def data_file(relative: str, override: str | os.PathLike | None = None) -> Path:
    """A file inside the data directory, with a clear error if it is missing."""
    path = data_dir(override) / relative
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found (data directory: {path.parent.parent})")
    return path
