"""The verdict's files: JSON report, markdown summaries, JUnit properties, each written once and atomically.

Every file is first staged as a temporary file next to its target (so an unwritable path is known before the
verdict is final) and renamed over the target only after the verdict is final. Nothing is ever written inside
the gated workspace.
"""

from __future__ import annotations

import getpass
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..text import printable
from ..verdict.report import GateReport
from .paths import OutputPaths
from .summary import markdown_table

_HTML = "the HTML report"


@dataclass
class _Staged:
    target: Path
    temporary: Path
    what: str
    origin: str


class Outputs:
    """The report and markdown files of one session: :meth:`stage` them, then :meth:`commit` the final verdict."""

    def __init__(self, paths: OutputPaths) -> None:
        self.paths = paths
        self.errors: list[str] = []
        self._staged: list[_Staged] = []

    def stage(self) -> list[str]:
        """Create a temporary file beside every target; returns what cannot be written (the gate then fails)."""
        targets = [(self.paths.report, "the JSON report", "--contexta-report")] if self.paths.report else []
        targets += [(path, "the markdown summary", origin) for path, origin in self.paths.markdown.items()]
        targets += [(self.paths.html, _HTML, "--contexta-html")] if self.paths.html else []
        for target, what, origin in targets:
            if target is None or self.paths.inside_workspace(target):
                continue  # refused as a usage error at start-up; never written, not even for that error
            try:
                if target.is_dir():
                    raise IsADirectoryError(21, "Is a directory")
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
                os.close(handle)
            except OSError as exc:
                self.errors.append(
                    f"contexta: cannot write {what} to {target} (from {origin}): "
                    f"{_why(exc)}; fix the path, the gate counts as failed"
                )
                continue
            self._staged.append(_Staged(target, Path(name), what, origin))
        return self.errors

    def commit(self, report: GateReport) -> list[str]:
        """Write the final verdict into the staged files and rename each over its target."""
        staged, self._staged = self._staged, []
        for item in staged:
            try:
                item.temporary.write_text(_render(item, report), encoding="utf-8")
                os.chmod(item.temporary, _mode_of(item.target))
                os.replace(item.temporary, item.target)
            except OSError as exc:
                item.temporary.unlink(missing_ok=True)
                self.errors.append(
                    f"contexta: cannot write {item.what} to {item.target} (from {item.origin}): "
                    f"{_why(exc)}; the gate counts as failed"
                )
            except Exception as exc:  # a rendering bug must not become an INTERNALERROR: the gate fails, says why
                item.temporary.unlink(missing_ok=True)
                self.errors.append(
                    f"contexta: cannot render {item.what} for {item.target} (from {item.origin}): "
                    f"{type(exc).__name__}: {exc}; the gate counts as failed"
                )
        return self.errors


def _render(item: _Staged, report: GateReport) -> str:
    if item.what == "the JSON report":
        return report.model_dump_json(indent=2) + "\n"
    if item.what == _HTML:
        from .html_report import html_page

        return html_page(report)
    return _existing(item.target) + markdown_table(report)


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return f"permission denied (the gate runs as user {getpass.getuser()})"
    return exc.strerror or str(exc)


def _existing(path: Path) -> str:
    """What a markdown file already holds (it is appended to, e.g. $GITHUB_STEP_SUMMARY across steps)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _mode_of(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def junit_properties(config: pytest.Config, report: GateReport) -> None:
    """Add the final verdict to the JUnit file's testsuite properties (when --junitxml is given)."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    xml.add_global_property("contexta.verdict", report.verdict)
    for candidate in report.candidates:
        xml.add_global_property(f"contexta.verdict.{printable(candidate.run_ref)}", candidate.verdict)
    if report.error:
        xml.add_global_property("contexta.error", printable(report.error))


def write_error_junit(config: pytest.Config, message: str) -> str | None:
    """A usage error stops pytest before its JUnit writer runs: write a JUnit file saying the gate failed.

    Returns what went wrong writing it, if anything.
    """
    xmlpath = getattr(config.option, "xmlpath", None)
    if not xmlpath or hasattr(config, "workerinput"):
        return None
    target = Path(config.invocation_params.dir, xmlpath).resolve()
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=str(config.getini("junit_suite_name")),
        tests="1",
        errors="1",
        failures="0",
        skipped="0",
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="contexta.verdict", value="fail")
    case = ET.SubElement(suite, "testcase", classname="contexta", name="gate")
    ET.SubElement(case, "error", message=printable(message)).text = printable(message)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "wb") as stream:
            ET.ElementTree(suites).write(stream, encoding="utf-8", xml_declaration=True)
        os.chmod(name, _mode_of(target))
        os.replace(name, target)
    except OSError as exc:
        return f"contexta: cannot write the JUnit file {target} (from --junitxml): {_why(exc)}"
    return None
