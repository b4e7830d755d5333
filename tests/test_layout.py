"""The package's layout: each stage of the data path imports only the stages before it (imports inside functions
and ``if TYPE_CHECKING:`` blocks count too), the pytest glue is imported by no stage, and no function is too
complex to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import add_inner_blocks, cc_visit
from radon.visitors import Function

PACKAGE = Path(__file__).parent.parent / "pytest_contexta"
SHARED = {"errors", "text", "frozen"}
#: Each stage and what it may import, besides itself and the shared modules.
MAY_IMPORT = {
    "reading": set(),
    "runs": {"reading"},
    "checks": {"reading", "runs"},
    "verdict": {"reading", "runs", "checks"},
    "outputs": {"reading", "runs", "checks", "verdict"},
    "plugin": {"reading", "runs", "checks", "verdict", "outputs"},
}
#: The most cyclomatic complexity (as ``radon cc`` counts it) a function of the package may have.
MAX_COMPLEXITY = 15


def imported_entries(path: Path) -> set[str]:
    """The top-level entries of the package that ``path`` imports, anywhere in the file."""
    parts = path.relative_to(PACKAGE).parts
    package = ["pytest_contexta", *parts[:-1]]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [module] if module != "pytest_contexta" else [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("pytest_contexta.")}
    return found


@pytest.mark.parametrize("stage", sorted(MAY_IMPORT))
def test_a_stage_imports_only_the_stages_before_it(stage: str) -> None:
    assert (PACKAGE / stage / "__init__.py").read_text(encoding="utf-8").startswith('"""'), "docstring missing"
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {entry}"
        for path in sorted((PACKAGE / stage).glob("*.py"))
        for entry in imported_entries(path) - MAY_IMPORT[stage] - SHARED - {stage}
    }
    assert not wrong


def test_the_shared_modules_import_only_each_other() -> None:
    for name in SHARED:
        assert imported_entries(PACKAGE / f"{name}.py") <= SHARED - {name}


def test_every_module_lives_in_a_stage_or_is_shared() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert top == {"__init__", "report"} | SHARED | set(MAY_IMPORT)


def test_no_function_is_more_complex_than_the_limit() -> None:
    """Every function, method and nested function, as ``radon cc -s pytest_contexta`` measures it."""
    too_complex = [
        f"{path.relative_to(PACKAGE)}:{block.lineno} {block.fullname} ({block.complexity})"
        for path in sorted(PACKAGE.rglob("*.py"))
        for block in add_inner_blocks(cc_visit(path.read_text(encoding="utf-8")))
        if isinstance(block, Function) and block.complexity > MAX_COMPLEXITY
    ]
    assert not too_complex
