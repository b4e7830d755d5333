"""Entry point (``pytest11``: ``contexta``): wires options, hooks, fixtures and the gate session together.

Stays dormant, importing nothing heavy, unless a candidate run is given.
"""

from __future__ import annotations

import pytest

from .fixtures import baseline_run, contexta_candidate, contexta_run, contexta_workspace
from .options import add_options, resolve_settings
from .stash import GATE_KEY, SETTINGS_KEY

__all__ = ["baseline_run", "contexta_candidate", "contexta_run", "contexta_workspace"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "contexta_optional: this gate check may be skipped without failing the gate")
    settings = resolve_settings(config)
    config.stash[SETTINGS_KEY] = settings
    if not settings.active:
        return
    from .gate import GateSession

    gate = GateSession(config, settings)
    config.stash[GATE_KEY] = gate
    config.pluginmanager.register(gate, "contexta-gate")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        from .xdist import XdistGlue

        config.pluginmanager.register(XdistGlue(gate), "contexta-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    gate = config.stash.get(GATE_KEY, None)
    if gate is None:
        return
    gate.close()
    for name in ("contexta-gate", "contexta-xdist"):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
