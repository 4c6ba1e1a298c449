"""bench/bench_backtest.py runs in tiny sizes and reports every row `make bench` shows."""

from __future__ import annotations

from bench import bench_backtest


def test_the_backtest_benchmark_runs_and_reports_its_rows():
    rows = bench_backtest.rows(years=1, lines=60, symbols=8, corpus=2, corpus_lines=60, corpus_symbols=12,
                               scaling=(1,), real=False)
    cases = [row.case for row in rows]
    assert cases[0].startswith("3 shipped strategies, 1 years (251 sessions)")
    assert any(c.startswith("generated 60 lines / 8 symbols") for c in cases)
    assert any(c.startswith("corpus of 2 strategies") for c in cases)
    assert all(row.section == "backtest" and row.met is not None for row in rows)
    assert any(c.startswith("generated strategy, peak memory over 1 years") for c in cases)
    timed = [row for row in rows if "memory" not in row.case and "a default limit blocked" not in row.case]
    assert all("sessions vectorised" in row.detail for row in timed)
    blocked = [row for row in rows if "a default limit blocked" in row.case]
    assert len(blocked) == 3 and all(row.met and row.measured.startswith("0 of ") for row in blocked)
    assert "251 sessions vectorised, 0 one by one" in rows[0].detail  # no sampling, no extrapolation


def test_the_rows_of_real_shaped_files_run_at_tiny_sizes_and_split_evaluation_from_planning(tmp_path):
    from bench.strategy_generator import Shape

    small = Shape(lines=120, depth=12, filters=4, group_filters=2, group_nesting=2, max_window=60, tickers=8,
                  inverse_vol=1)
    rows = bench_backtest.giant_rows(tmp_path, 1, small, memory=False)
    rows.append(bench_backtest.real_corpus_row(tmp_path, 1, files=2, universe=12))
    rows.append(bench_backtest.cost_exponents(tmp_path, years=(1, 2), lines=(80, 160)))
    assert rows[0].case.startswith("the largest real file's shape (120 lines, filters over groups nested 2 deep")
    assert rows[1].case.startswith("2 real-shaped files")
    assert all("evaluation" in row.detail and "planning" in row.detail for row in rows[:2])
    assert rows[2].measured.startswith("a = ") and rows[2].met is not None


def test_the_fitted_exponent_of_a_linear_cost_is_one():
    assert abs(bench_backtest.exponent([250, 500, 1250, 2500], [1.0, 2.0, 5.0, 10.0]) - 1.0) < 1e-9
    assert abs(bench_backtest.exponent([250, 500], [1.0, 4.0]) - 2.0) < 1e-9
