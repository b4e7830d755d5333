"""The run model: ``ContextaRun`` with its stages, records and diagnostics, loaded from a workspace
(``workspace``, ``diagnostics``), and which recorded value of a metric a check uses (``metrics``, ``replicates``).

May import ``reading`` and the shared modules, nothing later on the data path.
"""
