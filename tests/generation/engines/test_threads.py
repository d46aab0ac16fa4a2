"""The adaptive llama.cpp thread count, from the number of tasks running besides the caller."""

from __future__ import annotations

from pathlib import Path

from generation.engines.threads import adaptive_threads, free_cores, running_tasks


def test_an_idle_machine_gives_every_core() -> None:
    assert free_cores(2, [1, 1, 2, 1, 1]) == 2


def test_other_running_work_takes_its_cores_and_one_is_always_left() -> None:
    assert free_cores(2, [2, 2, 3]) == 1
    assert free_cores(2, [9, 12, 10]) == 1
    assert free_cores(8, [4, 4, 4]) == 5


def test_the_median_of_the_readings_decides() -> None:
    readings = iter([1, 6, 1, 1, 6])
    assert adaptive_threads(2, lambda: next(readings), gap_s=0) == 2


def test_without_a_reading_every_core_is_used() -> None:
    assert adaptive_threads(4, lambda: None, gap_s=0) == 4


def test_the_running_count_is_read_from_loadavg(tmp_path: Path) -> None:
    fake = tmp_path / "loadavg"
    fake.write_text("0.50 0.40 0.30 3/512 12345\n")
    assert running_tasks(fake) == 3
    assert running_tasks(tmp_path / "missing") is None
