"""Test configuration of the pytest-contexta repository itself."""

pytest_plugins = ["pytester"]
