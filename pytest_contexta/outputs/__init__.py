"""The verdict for people and machines: the terminal table and markdown (``summary``, ``layout``, ``trend``), the
JSON, markdown and JUnit files (``writing``, ``paths``), the HTML page and its charts, and ``explain``.

May import ``verdict``, ``checks``, ``runs``, ``reading`` and the shared modules; never the pytest glue.
"""
