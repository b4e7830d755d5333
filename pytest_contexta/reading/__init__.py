"""Reading a Contexta workspace, read-only: the DuckDB ledger, its connection and its rows (``ledger``,
``ledger_connection``, ``rows``), the JSONL segments and their lines (``files``, ``pieces``, ``segments``,
``run_index``, ``record_lines``, ``record_fields``, ``record_payloads``, ``line_shapes``, ``compact_lines``,
``run_records``, ``sequences``), and the record types and names the format holds (``records``, ``refs``, ``times``).

The first stage of the data path: it may import only the shared ``errors``, ``text`` and ``frozen`` modules.
"""
