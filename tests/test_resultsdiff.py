"""`weightspace compare`: two results folders, table by table."""

from __future__ import annotations

import pandas as pd

from weightspace.cli import main


def write(folder, final, extra_col=None):
    (folder / "exp").mkdir(parents=True)
    df = pd.DataFrame(final)
    if extra_col:
        df[extra_col] = 1
    df.to_csv(folder / "exp" / "final.csv", index=False)


ROWS = [dict(experiment="exp", cell="c", seed=s, final_test_acc=0.9 + s / 100, train_time_s=1.0 + s) for s in range(3)]


def test_identical_numbers_pass_and_timing_and_added_columns_are_ignored(tmp_path, capsys):
    write(tmp_path / "old", ROWS)
    write(tmp_path / "new", [dict(r, train_time_s=99.0) for r in ROWS], extra_col="swept")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "exp/final.csv: identical in every shared column" in out and "columns only in new: swept" in out


def test_a_moved_number_fails_and_is_named(tmp_path, capsys):
    write(tmp_path / "old", ROWS)
    write(tmp_path / "new", [dict(r, final_test_acc=r["final_test_acc"] + (1e-7 if r["seed"] == 1 else 0)) for r in ROWS])
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    assert "final_test_acc: 1 of 3 values differ" in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--rtol", "1e-6"]) == 0


def test_a_value_missing_on_one_side_is_counted_as_such_without_a_warning(tmp_path, capsys):
    import warnings

    write(tmp_path / "old", ROWS)
    write(tmp_path / "new", [dict(r, final_test_acc=float("nan") if r["seed"] == 1 else r["final_test_acc"] * 2)
                             for r in ROWS])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "All-NaN slice" (a NaN relative difference) was printed here
        assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert ("final_test_acc: 3 of 3 values differ (largest relative difference 1); 1 missing or infinite on one "
            "side only") in out


def test_missing_rows_and_tables_fail(tmp_path, capsys):
    write(tmp_path / "old", ROWS)
    write(tmp_path / "new", ROWS[:2])
    (tmp_path / "old" / "exp" / "by_dim.csv").write_text("a\n1\n")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "rows only in old: 1, only in new: 0" in out and "exp/by_dim.csv: only in old" in out


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    """Not a table-by-table report of everything 'only in new': the folder named, no traceback."""
    write(tmp_path / "new", ROWS)
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "new")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"weightspace compare: error: {tmp_path / 'nope'}: no such folder (the old results folder")
    assert main(["compare", str(tmp_path / "new"), str(tmp_path / "new" / "exp" / "final.csv")]) == 2
    assert "final.csv: no such folder (the new results folder" in capsys.readouterr().err
