"""The checks a gate runs: the assertion helpers (``asserts``, ``within_history``) with their arguments,
regression and threshold comparisons, slice sweeps and units, noise estimates and statistics, and the one typed
result each check produces (``results``).

May import ``runs``, ``reading`` and the shared modules; never the verdict, the outputs or the pytest glue.
"""
