"""Keys of the plugin's state in ``config.stash`` (kept free of heavy imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .options import Settings
    from .session import GateSession

SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
SESSION_KEY: pytest.StashKey[GateSession] = pytest.StashKey()
