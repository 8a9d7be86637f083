"""PostgreSQL connections per process come from a pool sized by the settings: concurrent
requests within the pool reuse its connections instead of starting new backends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from runtime.settings import Settings, SettingsError
from runtime.storage.backends import make_backend


@pytest.mark.postgres
def test_concurrent_reads_within_the_pool_start_no_new_backends(postgres_url):
    backend = make_backend(Settings(database_url=postgres_url, db_pool_size=4, db_max_overflow=0))
    connects: list[int] = []
    event.listen(backend.control, "connect", lambda *_: connects.append(1))
    start = threading.Barrier(4)

    def reads() -> None:
        start.wait()
        for _ in range(25):
            with backend.control.connect() as conn:
                assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    try:
        threads = [threading.Thread(target=reads) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # 100 reads from 4 threads, on at most 4 connections opened once each.
        assert 1 <= len(connects) <= 4
        assert backend.control.pool.size() == 4
    finally:
        backend.dispose()


def test_the_pool_is_configured_by_environment():
    settings = Settings.from_env({"TESSERA_DB_POOL_SIZE": "24", "TESSERA_DB_MAX_OVERFLOW": "0"})
    assert (settings.db_pool_size, settings.db_max_overflow) == (24, 0)
    with pytest.raises(SettingsError, match="TESSERA_DB_MAX_OVERFLOW must be 0 or more"):
        Settings.from_env({"TESSERA_DB_MAX_OVERFLOW": "-1"})
    with pytest.raises(SettingsError, match="TESSERA_DB_POOL_SIZE"):
        Settings.from_env({"TESSERA_DB_POOL_SIZE": "0"})
