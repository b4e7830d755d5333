#!/usr/bin/env python3
"""Set up and run pytest-contexta from a checkout, with nothing installed beforehand but Python 3.

    python3 dev.py example [PYTEST_ARGS...]   the example gate on example_gates/ (exit 0: deploy)
    python3 dev.py test [PYTEST_ARGS...]      the test suite
    python3 dev.py test -m "not slow"         its quick part: direct calls and one end-to-end gate session

Each command creates the project-local virtual environment .venv (or reuses it), installs this
checkout into it in editable mode with its test extras (again whenever pyproject.toml changed), and
runs pytest there with the given arguments appended. The example gates the candidate
EXAMPLE_CANDIDATE unless the arguments (or CONTEXTA_CANDIDATE) name another, e.g.
``python3 dev.py example --contexta-candidate=run:product-ranker.candidate-v4-regressed``.
Standard library only; the exit code is pytest's.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".pytest-contexta-installed"
EXAMPLE_CANDIDATE = "run:product-ranker.candidate-v2-good"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp(python: Path) -> str:
    """What the installed state depends on: pyproject.toml and the venv's interpreter version."""
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + version.encode()).hexdigest()


def ensure_venv() -> Path:
    """The venv's interpreter, with this checkout installed as pyproject.toml currently says."""
    python = venv_python()
    if not python.exists():
        print(f"dev.py: creating {VENV} with Python {sys.version.split()[0]}", flush=True)
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode != 0:
            sys.exit(
                "dev.py: could not create the virtual environment; on Debian or Ubuntu install the "
                "python3-venv package first (apt install python3-venv)"
            )
    stamp = wanted_stamp(python)
    if STAMP.exists() and STAMP.read_text() == stamp:
        return python
    print(f"dev.py: installing pytest-contexta with its test extras into {VENV}", flush=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if (
        subprocess.run([*pip, "--upgrade", "pip"]).returncode != 0
        or subprocess.run([*pip, "--editable", f"{ROOT}[test]"]).returncode != 0
    ):
        sys.exit("dev.py: pip install failed (see above)")
    STAMP.write_text(stamp)
    return python


def minimum_python() -> tuple:
    """The lowest Python that pyproject.toml's requires-python (">=X.Y") admits."""
    found = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', (ROOT / "pyproject.toml").read_text(), re.M)
    return (int(found[1]), int(found[2])) if found else (3,)


def pytest_arguments(command: str, extra: list) -> list:
    """pytest's arguments: the example's folder and candidate (unless another is named), then extra."""
    if command == "test":
        return extra
    names_a_candidate = os.environ.get("CONTEXTA_CANDIDATE") or any(
        arg.startswith("--contexta-candidate") for arg in extra
    )
    default = [] if names_a_candidate else [f"--contexta-candidate={EXAMPLE_CANDIDATE}"]
    return ["example_gates/", *default, *extra]


def main(argv: list) -> int:
    if len(argv) < 1 or argv[0] not in ("example", "test"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if sys.version_info < minimum_python():
        wanted = ".".join(map(str, minimum_python()))
        print(
            f"dev.py: pytest-contexta needs Python {wanted}+, this is {sys.version.split()[0]}; "
            f"run dev.py with a newer python3",
            file=sys.stderr,
        )
        return 2
    python = ensure_venv()
    command = [str(python), "-m", "pytest", *pytest_arguments(argv[0], argv[1:])]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
