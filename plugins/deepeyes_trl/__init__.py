"""The ``trl`` training backend: local weight-level SFT with TRL (extra "trl").

The engine lives in :mod:`deepeyes_trl.engine`; torch, transformers, trl and peft are imported
only when it trains or generates, so importing this package is cheap.
"""
