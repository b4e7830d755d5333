"""Command-line options, environment variables and ini keys, resolved once with where each value came from."""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..outputs.paths import OutputPaths
from ..runs.replicates import DEFAULT_REPLICATE_TAGS
from .option_flags import ENVIRONMENT

if TYPE_CHECKING:
    from ..verdict.waivers import WaiverFile

BASELINE_LATEST = "latest-deployment"
BASELINE_NONE = "none"
DEFAULT_WORKSPACE = ".contexta"
DEFAULT_LOCK_TIMEOUT = 10.0
FAIL_ON = ("failure", "warning")
DEFAULT_HISTORY = 5
DEFAULT_MAX_DAYS = 90  # the waivers' own default (verdict.waivers.DEFAULT_MAX_DAYS), without importing them here
INCONCLUSIVE_FAIL = "fail"
INCONCLUSIVE_CHOICES = (INCONCLUSIVE_FAIL, "pass")


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (``command line``, ``env VAR``, ``ini …``, ``default``)."""

    value: str | None
    source: str


@dataclass(frozen=True)
class Settings:
    """Everything the plugin was told, resolved command line > environment > ini > default."""

    workspace: Path
    candidates: tuple[str, ...]
    baseline: str
    report: Path | None
    markdown: Path | None
    html: Path | None
    allow_partial: bool
    lower_is_better: tuple[str, ...]
    higher_is_better: tuple[str, ...]
    replicate_tags: tuple[str, ...] = DEFAULT_REPLICATE_TAGS
    history: int = DEFAULT_HISTORY
    inconclusive: str = INCONCLUSIVE_FAIL
    sources: dict[str, Setting] = field(default_factory=dict)
    fail_on: str = "failure"
    waivers: Path | None = None
    waiver_file: WaiverFile | None = None
    strict_waivers: bool = False

    @property
    def inconclusive_fails(self) -> bool:
        return self.inconclusive == INCONCLUSIVE_FAIL

    @property
    def active(self) -> bool:
        return bool(self.candidates)

    def read_lock_timeout(self) -> float:
        """The lock timeout in seconds; checked when first needed, so a dormant plugin never fails on it."""
        return _lock_timeout(self.sources["lock_timeout"])

    def header_lines(self) -> list[str]:
        """One line per setting: its value (paths resolved) and where it came from."""
        resolved = {
            "workspace": self.workspace,
            "report": self.report,
            "markdown": self.markdown,
            "html": self.html,
            "waivers": self.waivers,
        }
        return [
            f"contexta {name}: {resolved.get(name) or setting.value} (from {setting.source})"
            for name, setting in self.sources.items()
            if setting.value is not None
        ]


def _lookup(config: pytest.Config, name: str, namespace: object | None = None) -> Setting:
    """``namespace``: the arguments parsed so far, read before ``config.option`` is filled (pytest's early hooks)."""
    option = f"contexta_{name}"
    command_line = config.getoption(option) if namespace is None else getattr(namespace, option, None)
    if command_line:
        return Setting(",".join(command_line) if isinstance(command_line, list) else command_line, "command line")
    environment = os.environ.get(ENVIRONMENT[name], "").strip()
    if environment:
        return Setting(environment, f"env {ENVIRONMENT[name]}")
    ini = config.getini(f"contexta_{name}")
    if ini:
        return Setting(",".join(ini) if isinstance(ini, list) else str(ini), f"ini contexta_{name}")
    return Setting(None, "default")


def _path(config: pytest.Config, setting: Setting) -> Path | None:
    if setting.value is None:
        return None
    base = config.invocation_params.dir
    if setting.source.startswith("ini") and config.inipath is not None:
        base = config.inipath.parent
    return (base / setting.value).resolve()


def _candidates(setting: Setting) -> tuple[str, ...]:
    """The candidates given; an empty one among them is a usage error, never silently dropped (a gate of fewer
    runs than asked for must not pass)."""
    if setting.value is None:
        return ()
    parts = tuple(part.strip() for part in setting.value.replace("\n", ",").split(","))
    if not all(parts):
        raise pytest.UsageError(
            f"contexta candidate {setting.value!r} (from {setting.source}) names no run"
            f"{' in one of its parts' if any(parts) else ''}: give run:<project>.<run-name> or "
            f"a unique run name for each candidate"
        )
    return parts


def _lock_timeout(setting: Setting) -> float:
    if setting.value is None:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(setting.value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise pytest.UsageError(
            f"contexta lock timeout {setting.value!r} (from {setting.source}) must be a number of seconds >= 0"
        )
    return seconds


def _step_summary() -> Path | None:
    path = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    return Path(path).resolve() if path else None


def output_paths(config: pytest.Config, namespace: object | None = None) -> OutputPaths:
    """Where the verdict goes, resolved without checking any other setting, so that even a usage error can write
    its report."""
    workspace = (
        _path(config, _lookup(config, "workspace", namespace)) or config.invocation_params.dir / DEFAULT_WORKSPACE
    )
    markdown = {
        path: origin
        for path, origin in (
            (_path(config, _lookup(config, "markdown", namespace)), "--contexta-markdown"),
            (_step_summary(), "GITHUB_STEP_SUMMARY"),
        )
        if path is not None
    }
    report, html = (_path(config, _lookup(config, name, namespace)) for name in ("report", "html"))
    return OutputPaths(workspace, report, markdown, html)


def gating(config: pytest.Config, namespace: object | None = None) -> bool:
    """Whether a candidate is given (the plugin is not dormant), without checking it."""
    return _lookup(config, "candidate", namespace).value is not None


def resolve_settings(config: pytest.Config) -> Settings:
    """Read every ``contexta`` setting; bad values raise :class:`pytest.UsageError`."""
    settings = _resolve(config)
    if settings.active:
        settings.read_lock_timeout()
        settings = _with_tiers(config, settings)
        outputs = output_paths(config)
        for path, origin in [
            (outputs.report, "--contexta-report"),
            *outputs.markdown.items(),
            (outputs.html, "--contexta-html"),
        ]:
            if path is not None and outputs.inside_workspace(path):
                raise pytest.UsageError(
                    f"contexta: {origin} points inside the gated workspace ({path} is in "
                    f"{outputs.workspace}); the gate never writes there: choose a path outside it"
                )
        if settings.html is not None and importlib.util.find_spec("matplotlib") is None:
            raise pytest.UsageError(
                "contexta: --contexta-html draws its charts with matplotlib, which is not "
                'installed: pip install "pytest-contexta[html]"'
            )
    return settings


def _with_tiers(config: pytest.Config, settings: Settings) -> Settings:
    """Check --contexta-fail-on and the waiver bounds, and read the waiver file (a usage error naming the line when
    malformed or unbounded)."""
    fail_on = settings.sources["fail_on"]
    if fail_on.value not in FAIL_ON:
        raise pytest.UsageError(
            f"contexta fail-on {fail_on.value!r} (from {fail_on.source}) must be one of {', '.join(FAIL_ON)}"
        )
    strict_setting = (
        Setting("true", "command line")
        if config.getoption("contexta_strict_waivers")
        else _ini_setting(config, "strict_waivers", "false")
    )
    strict = settings.sources["strict_waivers"] = _strict(strict_setting)
    max_days = settings.sources["waiver_max_days"] = _ini_setting(config, "waiver_max_days", str(DEFAULT_MAX_DAYS))
    settings = replace(settings, fail_on=fail_on.value, strict_waivers=strict.value == "true")
    days = _max_days(max_days)
    if settings.waivers is None:
        return settings
    from ..verdict.waivers import load_waivers, today

    waiver_file = load_waivers(settings.waivers, settings.sources["waivers"].source, today(), days)
    return replace(settings, waiver_file=waiver_file)


def _ini_setting(config: pytest.Config, name: str, default: str) -> Setting:
    value = str(config.getini(f"contexta_{name}")).strip()
    return Setting(value, f"ini contexta_{name}") if value else Setting(default, "default")


def _strict(setting: Setting) -> Setting:
    text = (setting.value or "").strip().lower()
    if text in ("true", "yes", "on", "1"):
        return Setting("true", setting.source)
    if text in ("false", "no", "off", "0"):
        return Setting("false", setting.source)
    raise pytest.UsageError(
        f"contexta strict waivers {setting.value!r} (from {setting.source}) must be true or false (default false)"
    )


def _max_days(setting: Setting) -> int:
    text = (setting.value or "").strip()
    if not text.isdigit():
        raise pytest.UsageError(
            f"contexta waiver max days {setting.value!r} (from {setting.source}) must be a whole number of days >= 0 "
            f"(default {DEFAULT_MAX_DAYS}): the most days after today a waiver may expire"
        )
    return int(text)


def _resolve(config: pytest.Config) -> Settings:
    sources = {name: _lookup(config, name) for name in ENVIRONMENT}
    if sources["workspace"].value is None:
        sources["workspace"] = Setting(DEFAULT_WORKSPACE, "default")
    if sources["baseline"].value is None:
        sources["baseline"] = Setting(BASELINE_LATEST, "default")
    if sources["lock_timeout"].value is None:
        sources["lock_timeout"] = Setting(f"{DEFAULT_LOCK_TIMEOUT:g}", "default")
    if sources["fail_on"].value is None:
        sources["fail_on"] = Setting(FAIL_ON[0], "default")
    if sources["history"].value is None:
        sources["history"] = Setting(str(DEFAULT_HISTORY), "default")
    if sources["inconclusive"].value is None:
        sources["inconclusive"] = Setting(INCONCLUSIVE_FAIL, "default")
    workspace = _path(config, sources["workspace"])
    candidates = _candidates(sources["candidate"])
    assert workspace is not None, "the workspace always has a default"
    return Settings(
        workspace=workspace,
        candidates=candidates,
        baseline=sources["baseline"].value or BASELINE_LATEST,
        report=_path(config, sources["report"]),
        markdown=_path(config, sources["markdown"]),
        html=_path(config, sources["html"]),
        allow_partial=bool(config.getoption("contexta_allow_partial")),
        lower_is_better=tuple(config.getini("contexta_lower_is_better")),
        higher_is_better=tuple(config.getini("contexta_higher_is_better")),
        replicate_tags=tuple(config.getini("contexta_replicate_tags")) or DEFAULT_REPLICATE_TAGS,
        # Checked only while gating, like the lock timeout: a bad value must not break a dormant plugin.
        history=_history(sources["history"]) if candidates else DEFAULT_HISTORY,
        inconclusive=_inconclusive(sources["inconclusive"]) if candidates else INCONCLUSIVE_FAIL,
        sources=sources,
        waivers=_path(config, sources["waivers"]),
    )


def _history(setting: Setting) -> int:
    text = (setting.value or "").strip()
    if not text.isdigit():
        raise pytest.UsageError(
            f"contexta history {setting.value!r} (from {setting.source}) must be a whole number "
            f"of deployments >= 0 (default {DEFAULT_HISTORY}; 0: no history)"
        )
    return int(text)


def _inconclusive(setting: Setting) -> str:
    choice = (setting.value or "").strip().lower()
    if choice not in INCONCLUSIVE_CHOICES:
        raise pytest.UsageError(
            f"contexta inconclusive {setting.value!r} (from {setting.source}) must be 'fail' "
            f"(an inconclusive check fails the gate; the default) or 'pass'"
        )
    return choice
