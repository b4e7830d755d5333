"""The verdict: the facts a session gathered (``facts``), the pure ``decide`` that turns them into the report,
tiers and waivers, and the report's own model (``report``, ``provenance``).

May import ``checks``, ``runs``, ``reading`` and the shared modules; never the outputs or the pytest glue.
"""
