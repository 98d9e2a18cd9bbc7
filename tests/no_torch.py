"""Running code in a fresh interpreter where torch cannot be imported (the runtime must not need it)."""
import subprocess
import sys
import textwrap

_BLOCK_TORCH = """
import sys, importlib.abc

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")

sys.meta_path.insert(0, NoTorch())
"""


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    """``code`` (dedented) run by ``python -c`` after torch's import is blocked; also checks at the end
    that no torch module was loaded."""
    check = "\nassert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules)\n"
    return subprocess.run([sys.executable, "-c", _BLOCK_TORCH + textwrap.dedent(code) + check],
                          capture_output=True, text=True, timeout=120)
