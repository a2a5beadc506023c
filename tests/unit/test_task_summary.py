"""The one human line each engine step logs at its end."""

from expense_sync.tasks.common import human


def test_nested_counts_read_as_one_line_without_zeros():
    counts = {
        "system": "sap",
        "loads": {"gl_account": {"rows": 120, "full": True}, "project": {"skipped": "service not activated"}},
        "api": {"calls": 14, "retries": 0},
        "items": [],
        "quarantined": 0,
        "questions": [1, 2],
    }
    assert human(counts) == (
        "system sap, loads gl_account rows 120, loads gl_account full, "
        "loads project skipped: service not activated, api calls 14, questions 2"
    )


def test_nothing_done_says_so_and_long_lines_are_cut():
    assert human({"created": 0, "updated": 0}) == "nothing to do"
    line = human({f"k{i}": i + 1 for i in range(400)}, limit=50)
    assert len(line) == 50 and line.endswith("…")
