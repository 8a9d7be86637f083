"""The file clock a test sets for a real worker: the wall clock until a moment is written,
then that moment running on at the wall clock's pace; a moment without a zone is refused."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from runtime.clock import FileClock


def test_a_file_clock_runs_on_from_the_moment_written(tmp_path):
    path = tmp_path / "clock"
    clock = FileClock(str(path))
    wall = dt.datetime.now(dt.UTC)
    assert abs((clock.now() - wall).total_seconds()) < 5  # no file yet: the wall clock
    path.write_text("2027-04-02T10:00:00+00:00", encoding="utf-8")
    set_at = dt.datetime(2027, 4, 2, 10, tzinfo=dt.UTC)
    first = clock.now()
    assert set_at <= first < set_at + dt.timedelta(seconds=5)
    assert clock.now() >= first  # it runs on
    part = tmp_path / "clock.part"
    part.write_text("2027-04-07T10:01:00+08:00", encoding="utf-8")
    os.replace(part, path)
    moved = dt.datetime(2027, 4, 7, 2, 1, tzinfo=dt.UTC)
    assert moved <= clock.now() < moved + dt.timedelta(seconds=5)
    path.write_text("2027-04-07T10:01:00", encoding="utf-8")
    with pytest.raises(ValueError, match="without a zone"):
        clock.now()
