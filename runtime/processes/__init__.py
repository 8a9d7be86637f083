"""The workflow worker and beat processes: Celery wired to the engine by the composition
root (``runtime.wiring``), started by ``tessera worker`` and ``tessera beat``."""
