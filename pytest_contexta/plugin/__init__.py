"""The pytest glue, and the entry point (``pytest11``: ``contexta``): options, fixtures, hooks and their specs, the
gate session with its one cache of runs, check tracking, the controller that decides, and xdist.

This module wires them together and stays dormant, importing nothing heavy, unless a candidate run is given.
Beside the data path: it may import every stage (reading, runs, checks, verdict, outputs); none imports it.
"""

from __future__ import annotations

import pytest

from .fixtures import baseline_run, contexta_candidate, contexta_run, contexta_workspace, history_runs
from .option_flags import add_options
from .options import Settings, resolve_settings
from .stash import SESSION_KEY, SETTINGS_KEY

__all__ = ["baseline_run", "contexta_candidate", "contexta_run", "contexta_workspace", "history_runs"]
_PLUGINS = ("contexta-runner", "contexta-controller", "contexta-worker", "contexta-xdist")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Refuse, before pytest writes anything (``--debug`` opens its file when parsing ends), a file of pytest's or
    of a common plugin's that would land in the gated workspace."""
    from .pytest_files import check_pytest_paths

    check_pytest_paths(early_config, early_config.known_args_namespace)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contexta_optional: this gate check may be skipped without failing the gate")
    config.addinivalue_line(
        "markers",
        "contexta_advisory: a gate check that only warns: when it does not pass, the candidate's "
        "verdict is pass-with-warnings (exit 0) unless --contexta-fail-on=warning",
    )
    try:
        settings = resolve_settings(config)
    except pytest.UsageError as exc:
        _usage_error(config, exc)
    config.stash[SETTINGS_KEY] = settings
    if settings.active:
        _register(config, settings)


def _usage_error(config: pytest.Config, exc: pytest.UsageError) -> None:
    """A bad setting: the report, markdown and JUnit files still say the gate failed (never a stale pass)."""
    from .controller import error_outputs
    from .options import output_paths

    if hasattr(config, "workerinput"):
        raise exc
    message = str(exc).removeprefix("contexta: ")
    errors = error_outputs(config, message, output_paths(config))
    raise pytest.UsageError("\n".join([str(exc), *errors])) from None


def _register(config: pytest.Config, settings: Settings) -> None:
    from .running import CheckRunner
    from .session import GateSession
    from .tracking import CheckTracker

    session = GateSession(config, settings)
    tracker = CheckTracker()
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(CheckRunner(session, tracker), "contexta-runner")
    if hasattr(config, "workerinput"):
        from .worker import WorkerPlugin

        config.pluginmanager.register(WorkerPlugin(session, tracker), "contexta-worker")
        return
    from .controller import GateController

    controller = GateController(session, tracker)
    config.pluginmanager.register(controller, "contexta-controller")
    if config.pluginmanager.hasplugin("xdist"):
        from .xdist import XdistGlue

        config.pluginmanager.register(XdistGlue(controller, tracker), "contexta-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(SESSION_KEY, None) is None:
        return
    for name in _PLUGINS:
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
