"""``python -m pytest_contexta.report``: the JSON report's schema, a check that a file is a valid report, and a
stored verdict told for people (``--explain``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from .outputs.explain import explain_file
from .verdict.report import REPORT_SCHEMA_VERSION, GateReport

__all__ = ["GateReport", "main"]


def _validate(path: str) -> int:
    """Print whether ``path`` holds a valid report; 0 when it does, 1 otherwise."""
    try:
        report = GateReport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"{path}: cannot read the report: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(document)'}: {e['msg']}" for e in exc.errors())
        print(
            f"{path}: not a pytest-contexta report (schema version {REPORT_SCHEMA_VERSION}): {problems}. "
            f"Compare it with python -m pytest_contexta.report --schema",
            file=sys.stderr,
        )
        return 1
    print(f"{path}: valid report, verdict {report.verdict}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_contexta.report", description="The pytest-contexta JSON report format."
    )
    parser.add_argument("--schema", action="store_true", help="print the report's JSON Schema")
    parser.add_argument("--validate", metavar="FILE", help="check that FILE is a valid report")
    parser.add_argument(
        "--explain",
        metavar="FILE",
        help="print why each candidate of a stored report passed or failed, and how it was decided",
    )
    arguments = parser.parse_args(argv)
    if arguments.validate:
        return _validate(arguments.validate)
    if arguments.explain:
        return explain_file(arguments.explain)
    if arguments.schema:
        print(json.dumps(GateReport.model_json_schema(), indent=2))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
