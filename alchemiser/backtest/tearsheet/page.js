// The tearsheet's script: draws the figures page.py wrote, and the range selector (1Y, 3Y, 5Y, All, or a
// zoom on any chart) that rescales every chart and recomputes the headline figures for the range.
// The formulas are alchemiser/backtest/metrics.py's; tests/e2e/test_backtest.py holds the figures of
// "All" equal to the Python ones.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("tearsheet-data").textContent);
  const COLS = {};
  for (const [name, column] of Object.entries(DATA.columns)) {  // figures.encoded: as is, or as runs
    if (Array.isArray(column)) { COLS[name] = column; continue; }
    const values = [];
    for (let k = 0; k < column.runs.length; k += 2) for (let n = 0; n < column.runs[k + 1]; n++) values.push(column.runs[k]);
    COLS[name] = values;
  }
  const DAYS = COLS.days;
  const N = DAYS.length;
  const YEAR = 252;
  const DAY_MS = 86400000;
  const EQUITY = COLS.equity;
  const BENCH = DATA.has_benchmark ? COLS.bench_equity : null;

  // ---- the statistics (metrics.py)
  const sum = (a) => a.reduce((s, v) => s + v, 0);
  const mean = (a) => sum(a) / a.length;
  const std = (a, ddof) => { const m = mean(a); return Math.sqrt(sum(a.map((v) => (v - m) ** 2)) / (a.length - ddof)); };
  function returnsOf(values, start) {
    const out = []; let previous = start;
    for (const v of values) { out.push(v / previous - 1); previous = v; }
    return out;
  }
  const totalReturn = (r) => r.reduce((p, v) => p * (1 + v), 1) - 1;
  const cagr = (r) => (r.length ? (1 + totalReturn(r)) ** (YEAR / r.length) - 1 : NaN);
  const volatility = (r) => (r.length > 1 ? std(r, 1) * Math.sqrt(YEAR) : NaN);
  function sharpe(r, rf) {
    if (r.length < 2) return NaN;
    const ex = r.map((v) => v - rf); const sd = std(ex, 1);
    return sd > 0 ? mean(ex) / sd * Math.sqrt(YEAR) : NaN;
  }
  function sortino(r, rf) {
    if (r.length < 2) return NaN;
    const ex = r.map((v) => v - rf);
    const down = Math.sqrt(mean(ex.map((v) => Math.min(v, 0) ** 2))) * Math.sqrt(YEAR);
    if (down === 0) return mean(ex) > 0 ? Infinity : NaN;
    return mean(ex) * YEAR / down;
  }
  function maxDrawdown(r) {
    let wealth = 1, peak = 1, worst = 0;
    for (const v of r) { wealth *= 1 + v; peak = Math.max(peak, wealth); worst = Math.min(worst, wealth / peak - 1); }
    return worst;
  }
  function calmar(r) { const m = maxDrawdown(r); return m < 0 ? cagr(r) / Math.abs(m) : NaN; }
  function beta(r, b) {
    const mb = mean(b); const db = b.map((v) => v - mb); const variance = mean(db.map((v) => v * v));
    return variance > 0 ? mean(db.map((v, i) => v * r[i])) / variance : NaN;
  }
  function correlation(r, b) {
    if (r.length < 2 || std(r, 0) === 0 || std(b, 0) === 0) return NaN;
    const mr = mean(r), mb = mean(b); let xy = 0, xx = 0, yy = 0;
    for (let i = 0; i < r.length; i++) { const x = r[i] - mr, y = b[i] - mb; xy += x * y; xx += x * x; yy += y * y; }
    return Math.max(-1, Math.min(1, xy / Math.sqrt(xx * yy)));
  }
  function summary(r, b, rf) {
    const out = {total_return: totalReturn(r), cagr: cagr(r), volatility: volatility(r), sharpe: sharpe(r, rf),
      sortino: sortino(r, rf), max_drawdown: r.length ? maxDrawdown(r) : 0, calmar: calmar(r)};
    if (b) { out.beta = beta(r, b); out.correlation = correlation(r, b); }
    return out;
  }
  const RETURNS = returnsOf(EQUITY.slice(DATA.first), DATA.start);  // RETURNS[k] is the return of day first + k
  const BENCH_RETURNS = BENCH ? [0, ...returnsOf(BENCH.slice(1), BENCH[0])] : null;  // 0 on the first session

  // The figures of the sessions i..j (inclusive), as if invested at the close before session i.
  function metricsFor(i, j) {
    const from = Math.max(i, DATA.first);
    const r = RETURNS.slice(from - DATA.first, j - DATA.first + 1);
    const b = BENCH_RETURNS ? BENCH_RETURNS.slice(from, j + 1) : null;
    return {portfolio: summary(r, b, DATA.rf_daily), benchmark: b ? summary(b, null, DATA.rf_daily) : null};
  }
  const finite = (v) => typeof v === "number" && Number.isFinite(v);
  const FORMATS = {pct: (v) => (finite(v) ? (v * 100).toFixed(2) + "%" : "—"), num: (v) => (finite(v) ? v.toFixed(2) : "—")};

  // ---- drawing
  const FIGURES = {};
  function resolve(value) { return typeof value === "string" && value[0] === "@" ? COLS[value.slice(1)] : value; }
  function allocationHover(view) {
    const columns = view.columns.map((name) => COLS[name]);
    return DAYS.map((_, t) => {
      const held = [];
      view.symbols.forEach((s, k) => { if (columns[k][t] > 0) held.push([s, columns[k][t]]); });
      const rest = view.rest_rows[t];
      for (let k = 0; k < rest.length; k += 2) held.push([view.rest[rest[k]], rest[k + 1]]);
      held.sort((a, b) => b[1] - a[1]);
      return held.length ? held.map(([s, w]) => `${s} ${w.toFixed(1)}%`).join("<br>") : "cash";
    });
  }
  function prepare(figure) {
    for (const trace of figure.data) {
      trace.x = resolve(trace.x); trace.y = resolve(trace.y);
      if (trace.meta && trace.meta.hover) trace.customdata = allocationHover(DATA.views[trace.meta.view]);
      if (trace.meta && trace.meta.rebase) trace._base = trace.y.slice();  // the benchmark's equity from the start
      if (trace.type === "histogram") trace._all = trace.x.slice();
    }
    return figure;
  }

  // ---- the axes for a range
  function linearTicks(lo, hi) {  // the widest round step that still gives four ticks
    const unit = 10 ** Math.floor(Math.log10(hi - lo));
    for (const step of [5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1, 0.05].map((m) => m * unit)) {
      const out = [];
      for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(Number(v.toPrecision(12)));
      if (out.length >= 4) return out;
    }
    return [lo, hi];
  }
  function logTicks(lo, hi) {  // 1-2-5 per decade, finer where the range is narrow, linear steps within a small one
    for (const steps of [[1], [1, 2, 5], [1, 2, 3, 5, 7], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      const ticks = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        for (const m of steps) { const v = Number((m * 10 ** e).toPrecision(12)); if (v >= lo && v <= hi) ticks.push(v); }
      }
      if (ticks.length >= 4) return ticks;
    }
    return linearTicks(lo, hi);
  }
  function extent(div, axis, i, j) {  // the lowest and highest value drawn on that y axis in the range
    let lo = Infinity, hi = -Infinity;
    const first = DAYS[i], last = DAYS[j];
    for (const trace of div.data) {
      if ((trace.yaxis || "y") !== axis || trace.visible === false) continue;
      const x = trace.x, y = trace.y;
      for (let k = 0; k < x.length; k++) {
        if (x[k] < first || x[k] > last || y[k] === null || y[k] === undefined) continue;
        lo = Math.min(lo, y[k]); hi = Math.max(hi, y[k]);
      }
    }
    return [lo, hi];
  }
  function yAxisUpdate(div, key, lo, hi) {
    if (!(lo <= hi)) return {};
    const money = String((div.layout[key] || {}).tickformat || "").startsWith("$");
    if (key === "yaxis" && div.id in LOG_SWITCH) {
      return Object.assign({"yaxis.type": LOG_SWITCH[div.id] ? "log" : "linear"},
        yAxisRange(LOG_SWITCH[div.id], money, key, lo, hi));
    }
    return yAxisRange((div.layout[key] || {}).type === "log", money, key, lo, hi);
  }
  function dollars(ticks) {  // whole dollars, or cents where the ticks are closer than a dollar: never a label twice
    const close = ticks.some((v, k) => k > 0 && v - ticks[k - 1] < 1);
    const format = new Intl.NumberFormat("en-US", {style: "currency", currency: "USD",
      minimumFractionDigits: close ? 2 : 0, maximumFractionDigits: close ? 2 : 0});
    return ticks.map((v) => format.format(v));
  }
  function yAxisRange(log, money, key, lo, hi) {
    if (log) {
      const ticks = logTicks(lo, hi);
      const pad = (Math.log10(hi) - Math.log10(lo)) * 0.05 || 0.01;
      return {[key + ".range"]: [Math.log10(lo) - pad, Math.log10(hi) + pad], [key + ".tickmode"]: "array",
        [key + ".tickvals"]: ticks, [key + ".ticktext"]: dollars(ticks)};
    }
    const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.01 || 1;
    const range = [lo - pad, hi + pad];
    if (money) {
      const ticks = linearTicks(range[0], range[1]);
      return {[key + ".range"]: range, [key + ".tickmode"]: "array", [key + ".tickvals"]: ticks,
        [key + ".ticktext"]: dollars(ticks)};
    }
    return {[key + ".range"]: range, [key + ".tickmode"]: "auto", [key + ".tickvals"]: null, [key + ".ticktext"]: null};
  }
  function xAxisUpdate(key, i, j) {
    const span = (Date.parse(DAYS[j]) - Date.parse(DAYS[i])) / DAY_MS;
    const noon = (day, offset) => new Date(Date.parse(day) + offset).toISOString().slice(0, 16).replace("T", " ");
    const update = {[key + ".range"]: [noon(DAYS[i], -DAY_MS / 2), noon(DAYS[j], DAY_MS / 2)]};  // whole sessions
    if (span <= 31) {  // daily data: a tick per day (or every few days), never 06:00/12:00
      Object.assign(update, {[key + ".tickmode"]: "linear", [key + ".tick0"]: DAYS[i],
        [key + ".dtick"]: DAY_MS * Math.max(1, Math.ceil((span + 1) / 10)), [key + ".tickformat"]: "%b %d"});
    } else {
      Object.assign(update, {[key + ".tickmode"]: "auto", [key + ".dtick"]: null, [key + ".tickformat"]: null});
    }
    return update;
  }
  function rebased(div, i) {  // the benchmark bought with the portfolio's equity at the close before the range
    const indexes = [], ys = [];
    div.data.forEach((trace, index) => {
      if (!trace._base) return;
      const anchor = i === 0 ? DATA.start : EQUITY[i - 1];
      const base = i === 0 ? trace._base[0] : trace._base[i - 1];
      indexes.push(index); ys.push(trace._base.map((v) => v * anchor / base));
    });
    return [indexes, ys];
  }
  function yearlyUpdate(i, j) {
    const years = DATA.years, a = years.indexOf(DAYS[i].slice(0, 4)), b = years.indexOf(DAYS[j].slice(0, 4));
    const values = FIGURES["yearly-chart"].data.flatMap((t) => t.y.slice(a, b + 1)).filter((v) => v !== null);
    const lo = Math.min(0, ...values), hi = Math.max(0, ...values), pad = (hi - lo) * 0.08 || 1;
    return {"xaxis.range": [a - 0.5, b + 0.5], "yaxis.range": [lo - pad, hi + pad]};
  }

  const LOG_SWITCH = {"equity-chart": DATA.log_scale};  // the charts whose log scale the page's box switches
  let range = [0, N - 1];
  let syncing = false;
  function applyRange(i, j) {
    range = [i, j];
    syncing = true;
    const work = [];
    for (const [id, figure] of Object.entries(FIGURES)) {
      const div = document.getElementById(id);
      if (id === "distribution-chart") {
        work.push(Plotly.restyle(div, {x: figure.data.map((t) => t._all.slice(i, j + 1).filter((v) => v !== null))}));
        continue;
      }
      if (id === "yearly-chart") { work.push(Plotly.relayout(div, yearlyUpdate(i, j))); continue; }
      const [indexes, ys] = rebased(div, i);
      ys.forEach((y, k) => { div.data[indexes[k]].y = y; });
      const layout = {};
      for (const key of Object.keys(div.layout)) {
        if (/^xaxis\d*$/.test(key)) Object.assign(layout, xAxisUpdate(key, i, j));
        if (/^yaxis\d*$/.test(key) && id !== "allocation-chart") {  // weights: always 0-100%
          const [lo, hi] = extent(div, key.replace("axis", ""), i, j);
          Object.assign(layout, yAxisUpdate(div, key, lo, hi));
        }
      }
      work.push(indexes.length ? Plotly.update(div, {y: ys}, layout, indexes) : Plotly.relayout(div, layout));
    }
    showHeadline(i, j);
    return Promise.all(work).then(() => { syncing = false; });
  }

  function showHeadline(i, j) {
    const figures = metricsFor(i, j);
    document.querySelectorAll("#headline [data-metric]").forEach((el) => {
      el.textContent = FORMATS[el.dataset.format](figures.portfolio[el.dataset.metric]);
    });
    document.querySelectorAll("#headline [data-bench]").forEach((el) => {
      const format = el.closest(".card").querySelector("[data-metric]").dataset.format;
      el.textContent = figures.benchmark ? FORMATS[format](figures.benchmark[el.dataset.bench]) : "—";
    });
    const label = document.getElementById("range-label");
    if (label) label.textContent = `${DAYS[i]} → ${DAYS[j]} · ${j - i + 1} sessions`;
  }

  function yearsBack(years) {
    const end = DAYS[N - 1];
    const start = new Date(Date.UTC(Number(end.slice(0, 4)) - years, Number(end.slice(5, 7)) - 1, Number(end.slice(8, 10)) + 1));
    return start.toISOString().slice(0, 10);
  }
  function wireButtons() {
    document.querySelectorAll("#range-selector button").forEach((button) => {
      const years = button.dataset.years;
      if (years !== "all" && yearsBack(Number(years)) <= DAYS[0]) { button.hidden = true; return; }
      button.addEventListener("click", () => {
        activate(button);
        if (years === "all") { applyRange(0, N - 1); return; }
        const start = yearsBack(Number(years));
        applyRange(DAYS.findIndex((d) => d >= start), N - 1);
      });
      if (years === "all") button.classList.add("active");
    });
  }
  function onZoom(event) {  // a zoom on one chart is the range of all
    if (syncing) return;
    const keys = Object.keys(event);
    if (keys.some((k) => /^xaxis\d*\.autorange$/.test(k))) { activate(null); applyRange(0, N - 1); return; }
    const low = keys.find((k) => /^xaxis\d*\.range\[0\]$/.test(k));
    if (!low) return;
    const a = String(event[low]).slice(0, 10), b = String(event[low.replace("[0]", "[1]")]).slice(0, 10);
    const i = DAYS.findIndex((d) => d >= a);
    let j = -1; for (let k = N - 1; k >= 0; k--) { if (DAYS[k] <= b) { j = k; break; } }
    if (i < 0 || j < i) return;
    activate(null);
    applyRange(i, j);
  }
  function activate(button) {
    document.querySelectorAll("#range-selector button").forEach((b) => b.classList.toggle("active", b === button));
  }

  const CONFIG = {responsive: true, displaylogo: false, scrollZoom: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]};
  const drawn = [];
  for (const [id, figure] of Object.entries(DATA.figures)) {
    const div = document.getElementById(id);
    if (!div) continue;
    FIGURES[id] = prepare(figure);
    drawn.push(Plotly.newPlot(div, figure.data, figure.layout, CONFIG).then(() => {
      if (id !== "distribution-chart" && id !== "yearly-chart") div.on("plotly_relayout", onZoom);
    }));
  }
  const logBox = document.getElementById("log-scale");
  if (logBox) {
    logBox.addEventListener("change", () => {
      LOG_SWITCH["equity-chart"] = logBox.checked;
      applyRange(range[0], range[1]);
    });
  }
  wireButtons();
  document.querySelectorAll("#allocation-views button").forEach((button) => {  // one view of the weights at a time
    button.addEventListener("click", () => {
      const div = document.getElementById("allocation-chart"), view = Number(button.dataset.view);
      document.querySelectorAll("#allocation-views button").forEach((b) => b.classList.toggle("active", b === button));
      Plotly.restyle(div, {visible: div.data.map((t) => t.meta.view === view)});
    });
  });
  window.tearsheet = {metricsFor, applyRange, logTicks, ready: false, range: () => range.slice()};
  Promise.all(drawn).then(() => applyRange(0, N - 1)).then(() => { window.tearsheet.ready = true; });
})();
