// Rates: what a lane should pay (the rate model's quote, with its 80 % interval and the
// comparable bookings behind it), the lane's rate over its last 13 months as a chart, its
// rates over the usual windows, and where trucks are short. Every chart has a table
// beside it saying the same, for keyboards and screen readers.

import { api, completePlaces } from "../api.js";
import { clearProblem, EQUIPMENT, field, h, money, mount, placeField, select, showProblem } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element (`h` makes HTML ones). */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const monthName = (d) => new Date(`${d}T00:00:00Z`).toLocaleDateString("en-US", { month: "short", year: "2-digit", timeZone: "UTC" });
const withheldNote = (a) => `withheld: ${a.reports} reports from ${a.companies} companies (${a.min_reports} from ${a.min_companies} needed)`;

/**
 * The lane's monthly rate a mile: the median as a line, low to high as a band; a month
 * withheld (too few reports or companies) is a gap, not a zero.
 */
export function laneChart(months) {
  const W = 640, H = 220, L = 48, R = 12, T = 12, B = 28;
  const shown = months.filter((m) => m.status === "shown");
  const values = shown.flatMap((m) => [m.rate_per_mile_cents.low, m.rate_per_mile_cents.high]);
  const lo = values.length ? Math.min(...values) * 0.95 : 0;
  const hi = values.length ? Math.max(...values) * 1.05 : 100;
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, months.length - 1);
  const y = (v) => T + ((hi - v) * (H - T - B)) / Math.max(1, hi - lo);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `Rate a mile by month: ${shown.length} of ${months.length} months shown` });
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, `$${(v / 100).toFixed(2)}`));
  }
  months.forEach((m, i) => {
    if (i % 2 === 0) svg.append(s("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, monthName(m.month)));
  });
  // Runs of consecutive shown months, each drawn as its own band and line.
  let run = [];
  const flush = () => {
    if (run.length) {
      const top = run.map(([i, m]) => `${x(i)},${y(m.rate_per_mile_cents.high)}`);
      const bottom = run.map(([i, m]) => `${x(i)},${y(m.rate_per_mile_cents.low)}`).reverse();
      svg.append(s("polygon", { points: [...top, ...bottom].join(" "), class: "band" }),
        s("polyline", { points: run.map(([i, m]) => `${x(i)},${y(m.rate_per_mile_cents.median)}`).join(" "), class: "median" }));
      for (const [i, m] of run) svg.append(s("circle", { cx: x(i), cy: y(m.rate_per_mile_cents.median), r: 3, class: "median" }));
    }
    run = [];
  };
  months.forEach((m, i) => (m.status === "shown" ? run.push([i, m]) : flush()));
  flush();
  if (!shown.length) svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "Too few reports on this lane to show its rates yet"));
  return svg;
}

function historyTable(months) {
  return h("div", { class: "table-wrap" }, h("table", { id: "lane-history" },
    h("caption", {}, "Rate a mile by month"),
    h("thead", {}, h("tr", {}, ["Month", "Low", "Median", "High", "Reports"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, months.map((m) => h("tr", {},
      h("th", { scope: "row" }, monthName(m.month)),
      ...(m.status === "shown"
        ? [money(m.rate_per_mile_cents.low), money(m.rate_per_mile_cents.median), money(m.rate_per_mile_cents.high)].map((v) => h("td", { class: "num" }, v))
        : [h("td", { colspan: 3, class: "muted" }, withheldNote(m))]),
      h("td", { class: "num" }, String(m.reports)))))));
}

function windowsTable(view) {
  return h("div", { class: "table-wrap" }, h("table", { id: "lane-windows" },
    h("caption", {}, `${view.lane.origin_market} → ${view.lane.dest_market}, as of ${view.as_of}`),
    h("thead", {}, h("tr", {}, ["Window", "Rate a mile (low · median · high)", "All-in median", "Reports", "Origin loads per truck"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, view.windows.map((w) => h("tr", {},
      h("th", { scope: "row" }, w.window),
      ...(w.rates.status === "shown"
        ? [h("td", { class: "num" }, `${money(w.rates.rate_per_mile_cents.low)} · ${money(w.rates.rate_per_mile_cents.median)} · ${money(w.rates.rate_per_mile_cents.high)}`),
           h("td", { class: "num" }, money(w.rates.rate_cents.median))]
        : [h("td", { colspan: 2, class: "muted" }, withheldNote(w.rates))]),
      h("td", { class: "num" }, String(w.rates.reports)),
      h("td", { class: "num" }, w.origin_market?.load_to_truck != null ? w.origin_market.load_to_truck.toFixed(2) : "—"))))));
}

function quoteView(p) {
  return h("section", { id: "quote", "aria-label": "Rate quote" },
    h("p", { class: "big" }, h("strong", {}, money(p.rate_cents)), ` all in · ${money(p.rate_per_mile_cents)} a mile · ${Math.round(p.miles)} miles`),
    h("p", {}, `8 in 10 loads like this book between ${money(p.interval.low_cents)} and ${money(p.interval.high_cents)}.`),
    h("p", { class: "muted" }, `${p.support.lane_reports_30d} bookings on this lane in 30 days (${p.support.level}). `, p.support.note || "", ` Model ${p.model_version}.`),
    p.comparables.bookings.length
      ? h("div", { class: "table-wrap" }, h("table", {},
          h("caption", {}, "Recent bookings on the lane"),
          h("thead", {}, h("tr", {}, ["Booked", "Pickup", "Lane", "Miles", "Rate", "A mile"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, p.comparables.bookings.map((b) => h("tr", {},
            h("td", {}, b.booked_on), h("td", {}, b.pickup_date), h("td", {}, `${b.origin} → ${b.destination}`),
            h("td", { class: "num" }, String(Math.round(b.miles))), h("td", { class: "num" }, money(b.rate_cents)), h("td", { class: "num" }, money(b.rate_per_mile_cents)))))))
      : h("p", { class: "muted" }, p.comparables.withheld || "No recent bookings to compare."));
}

async function marketsTable(equipment) {
  const m = await api("GET", `/v1/analytics/markets?equipment=${encodeURIComponent(equipment)}&window=7d`);
  const rows = (m.markets || []).slice(0, 10);
  return h("section", { "aria-label": "Where trucks are short" }, h("h2", {}, "Where trucks are short"),
    rows.length === 0 ? h("p", { class: "muted" }, "No postings in the last 7 days.") :
      h("div", { class: "table-wrap" }, h("table", { id: "markets" },
        h("caption", {}, `Origin markets, tightest first (${equipment}, 7 days)`),
        h("thead", {}, h("tr", {}, ["Market", "Loads", "Trucks", "Loads per truck"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.market), h("td", { class: "num" }, String(r.loads)),
          h("td", { class: "num" }, String(r.trucks)), h("td", { class: "num" }, r.load_to_truck != null ? r.load_to_truck.toFixed(2) : "—")))))));
}

export async function rates() {
  const out = h("div", { id: "rates-out", "aria-live": "polite" });
  const form = h("form", { class: "grid", "aria-label": "Quote a lane" },
    placeField("Origin", { name: "origin", required: true, placeholder: "Chicago, IL" }, completePlaces),
    placeField("Destination", { name: "destination", required: true, placeholder: "Dallas, TX" }, completePlaces),
    select("Equipment", "equipment", EQUIPMENT, "V"),
    field("Pickup", { name: "pickup", type: "date", value: tomorrow() }),
    field("Weight (lb)", { name: "weight_lbs", type: "number", min: 1, max: 80000, value: 40000 }),
    h("button", { type: "submit" }, "Get the rate"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    const q = new URLSearchParams(Object.entries(d).filter(([, v]) => String(v).trim()));
    out.replaceChildren(h("p", { class: "muted" }, "Pricing…"));
    let quote;
    try {
      quote = await api("GET", `/v1/rates/predict?${q}`);
    } catch (err) {
      out.replaceChildren();
      // No model yet is the operator's to fix; say so and still show the market's figures.
      if (err.status !== 503) return showProblem(form, err);
      out.append(h("div", { class: "alert", role: "alert" }, h("strong", {}, err.problem?.title || "No rate model is active"), err.problem?.detail ? h("div", {}, err.problem.detail) : null));
      return;
    }
    const lane = `origin=${encodeURIComponent(quote.origin.market)}&destination=${encodeURIComponent(quote.destination.market)}&equipment=${encodeURIComponent(d.equipment)}`;
    const [history, windows, markets] = await Promise.all([
      api("GET", `/v1/analytics/lanes/history?${lane}`),
      api("GET", `/v1/analytics/lanes?${lane}`),
      marketsTable(d.equipment).catch(() => null),
    ]);
    out.replaceChildren(
      h("h2", {}, `${quote.origin.label} → ${quote.destination.label}`),
      quoteView(quote),
      h("h2", {}, "The lane over 13 months"),
      h("figure", {}, laneChart(history.months), h("figcaption", { class: "muted" }, `Rate a mile, ${history.lane.origin_market} → ${history.lane.dest_market}: median line, low to high band.`)),
      historyTable(history.months),
      h("h2", {}, "The lane now"),
      windowsTable(windows),
      markets);
  });
  mount("Rates", form, out);
}
