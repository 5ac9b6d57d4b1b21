"""The journal part of the bench (bench/journal.py) runs and gives figures; their values are not
judged (a timed test on a shared machine would be flaky)."""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_journal_part_measures_both_ways_and_leaves_the_process_as_it_was(monkeypatch):
    import gc

    monkeypatch.syspath_prepend(str(BENCH))
    import journal

    thresholds = gc.get_threshold()
    result = journal.measure(rounds=2, calls=20, warmup=2, entries=20)
    assert gc.get_threshold() == thresholds
    for way in journal.WAYS:
        for name, *_ in journal.CALLS:
            assert result["table"][way][name]["p50_us"] > 0
        assert result["read_ms"][way] > 0
    assert result["held_kib"][journal.WAYS[0]] > result["held_kib"][journal.WAYS[1]]
    assert set(result["full_over_without"]) == {"listChats", "createChat"}
    assert any("full / without" in line for line in journal.render(result))
    sys.modules.pop("journal", None)
