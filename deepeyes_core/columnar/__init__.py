"""The columnar engine: the built-in read, group and filter stages over batches of a log.

A run picks its engine in :mod:`.choice` (``[engine] name = "auto" | "row" | "columnar"``). The
columnar engine asks each source for batches (``read_batches``, see
:data:`deepeyes_core.components.BATCH_METHODS`), groups their calls into sessions with numpy in
:mod:`.grouping` (the row path's rules, sessions still open at a chunk's end carried to the next),
and hands the trajectories, in the order the row path makes them, to the collector's filter,
redaction, description and classification (:meth:`~deepeyes_core.TrajectoryCollector.stream_grouped`).
Both engines write the same bytes (``tests/test_engine_columnar.py``). polars is imported only here,
and only when the engine runs (the ``columnar`` extra).
"""
