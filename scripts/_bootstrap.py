"""Shared set-up for the scripts: a virtual environment with the locked dependencies.

Only the standard library is used here, so the scripts run with nothing but Python 3.11.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PROMIDATA_VENV", ROOT / ".venv"))
LOCK = ROOT / "requirements.lock"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create ``.venv`` and install ``requirements.lock`` into it, once per lock change."""
    python = venv_python()
    if not python.exists():
        print(f"Creating virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".requirements.sha256"
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        print("Installing locked dependencies (requirements.lock) …", flush=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(LOCK),
            ],
            check=True,
        )
        stamp.write_text(digest)
    return python


def run(args: list[str], env: dict | None = None) -> int:
    """Run ``args`` from the project root; return its exit code."""
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}).returncode


if __name__ == "__main__":
    sys.exit("import this module from the scripts; it does nothing on its own")
