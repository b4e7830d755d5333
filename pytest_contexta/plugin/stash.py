"""Keys of the plugin's state in ``config.stash`` and a gate check's ``item.stash`` (free of heavy imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..checks.results import CheckContext
    from .options import Settings
    from .session import GateSession

SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
SESSION_KEY: pytest.StashKey[GateSession] = pytest.StashKey()
#: A gate check's context while it runs: where its helpers record their results.
CHECK_CONTEXT_KEY: pytest.StashKey[CheckContext] = pytest.StashKey()
#: Set when the check's baseline is declared none (a first deployment): it may skip.
BASELINE_NONE_KEY: pytest.StashKey[bool] = pytest.StashKey()
