// The load board: the API's search filters, the results in a sortable table beside a map of
// origins and lanes, refreshed live as loads are posted and covered.

import { api, completePlaces, live } from "../api.js";
import { clearProblem, EQUIPMENT, field, h, money, mount, perMile, placeField, select, showProblem, toast } from "../dom.js";
import { createMap } from "../map.js";

const COLUMNS = [
  ["pickup", "Pickup", (r) => r.load.stops[0]?.window?.start ?? ""],
  ["origin", "Origin", (r) => r.load.stops.find((s) => s.kind === "pickup")?.location.label ?? ""],
  ["dest", "Destination", (r) => [...r.load.stops].reverse().find((s) => s.kind === "delivery")?.location.label ?? ""],
  ["equipment", "Equip.", (r) => r.load.equipment],
  ["weight", "Weight (lb)", (r) => r.load.weight_lbs, true],
  ["miles", "Miles", (r) => r.loaded_miles, true],
  ["rate", "Rate", (r) => r.load.all_in_rate_cents ?? 0, true],
  ["rpm", "$/mile", (r) => r.rate_per_mile_cents, true],
  ["deadhead", "Deadhead", (r) => r.deadhead_miles, true],
];

function cell(key, r) {
  switch (key) {
    case "pickup": return localTime(r.load.stops[0].window);
    case "rate": return money(r.load.all_in_rate_cents);
    case "rpm": return perMile(r.rate_per_mile_cents);
    case "weight": return r.load.weight_lbs.toLocaleString("en-US");
    case "miles": case "deadhead": return Math.round(key === "miles" ? r.loaded_miles : r.deadhead_miles).toLocaleString("en-US");
    case "origin": return h("a", { href: `#/load/${r.load.id}` }, COLUMNS[1][2](r));
    default: return COLUMNS.find((c) => c[0] === key)[2](r);
  }
}

/** A stop's window start in the stop's own time zone ("Dec 7, 8:00 AM CST"). */
function localTime(w) {
  return new Date(w.start).toLocaleString("en-US", { timeZone: w.timezone, month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" });
}

export async function board(me) {
  const form = h("form", { class: "grid", role: "search", "aria-label": "Search the load board" },
    placeField("Origin", { name: "origin", placeholder: "Dallas, TX", required: true }, completePlaces),
    field("Within (miles)", { name: "origin_radius_miles", type: "number", min: 1, max: 500, value: 150 }),
    placeField("Destination", { name: "dest", placeholder: "Anywhere" }, completePlaces),
    select("Equipment", "equipment", [["", "Any"], ...EQUIPMENT], ""),
    field("Pickup from", { name: "pickup_from", type: "date" }),
    field("Pickup to", { name: "pickup_to", type: "date" }),
    field("Min $/mile", { name: "min_rate_per_mile", type: "number", step: "0.01", min: 0 }),
    field("Max weight (lb)", { name: "max_weight_lbs", type: "number", min: 1 }),
    select("Sort", "sort", [["age", "Newest"], ["rate_per_mile", "Rate per mile"], ["deadhead", "Deadhead"], ["pickup_date", "Pickup date"]], "age"),
    h("button", { type: "submit" }, "Search"));
  const summary = h("p", { class: "muted", "aria-live": "polite", id: "summary" }, "Search by origin to see loads.");
  // Carriers keep searches: each newly posted load that matches one raises an alert here.
  const carrier = me.organization.kind === "carrier";
  const saved = h("section", { "aria-label": "Saved searches", class: "saved" });
  const alerts = h("ul", { "aria-label": "Alerts", "aria-live": "polite", class: "alerts" });
  const table = h("table", { "aria-describedby": "summary" });
  const mapEl = h("div", { id: "map" });
  mount("Load board", form, carrier ? [saved, alerts] : null, summary,
    h("div", { class: "board" }, h("div", { class: "table-wrap" }, table), mapEl));
  const map = await createMap(mapEl, "Map of the loads found");

  let rows = [];
  let order = { key: null, dir: 1 };
  let query = null;
  let known = new Set();

  function render(fresh = new Set()) {
    const sorted = [...rows];
    if (order.key) {
      const get = COLUMNS.find((c) => c[0] === order.key)[2];
      sorted.sort((a, b) => { const x = get(a), y = get(b); return (x > y ? 1 : x < y ? -1 : 0) * order.dir; });
    }
    table.replaceChildren(
      h("caption", { class: "muted" }, "Loads found; choose a column heading to sort."),
      h("thead", {}, h("tr", {}, COLUMNS.map(([key, title, , num]) =>
        h("th", { scope: "col", class: num ? "num" : null, "aria-sort": order.key === key ? (order.dir > 0 ? "ascending" : "descending") : null },
          h("button", { type: "button", onclick: () => { order = { key, dir: order.key === key ? -order.dir : 1 }; render(); } }, title))))),
      h("tbody", {}, sorted.map((r) => h("tr", { class: fresh.has(r.load.id) ? "fresh" : null, "data-load": r.load.id },
        COLUMNS.map(([key, , , num]) => h("td", { class: num ? "num" : null }, cell(key, r)))))));
    map.showLoads(sorted.map((r) => r.load), { fit: fresh.size === 0 });
  }

  async function search({ live = false } = {}) {
    if (!query) return;
    clearProblem(form);
    try {
      const page = await api("GET", `/v1/loads/search?${query}`);
      const fresh = live ? new Set(page.items.map((r) => r.load.id).filter((id) => !known.has(id))) : new Set();
      rows = page.items;
      known = new Set(rows.map((r) => r.load.id));
      summary.textContent = `${page.total_matches.toLocaleString("en-US")} loads match; showing ${rows.length}.`;
      render(fresh);
      if (fresh.size) toast(`${fresh.size} new load${fresh.size > 1 ? "s" : ""} on the board`);
    } catch (err) {
      showProblem(form, err);
    }
  }

  /** The form's filters as the API names them (numbers as numbers, for saving). */
  function filters() {
    const out = {};
    for (const [k, v] of Object.entries(Object.fromEntries(new FormData(form)))) {
      if (v === "") continue;
      if (k === "min_rate_per_mile") out.min_rate_per_mile_cents = Math.round(Number(v) * 100);
      else if (k === "origin_radius_miles" || k === "max_weight_lbs") out[k] = Number(v);
      else out[k] = v;
    }
    return out;
  }

  function run(params) {
    query = new URLSearchParams({ limit: "100", ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) }).toString();
    search();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(filters());
  });

  async function showSaved() {
    const list = await api("GET", "/v1/searches");
    const name = field("Name this search", { name: "name", required: true, maxlength: 100 });
    const save = h("form", { class: "grid", "aria-label": "Save this search" }, name, h("button", { type: "submit" }, "Save search"));
    save.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearProblem(save);
      try {
        await api("POST", "/v1/searches", { name: new FormData(save).get("name"), params: filters() });
        toast("Search saved: you will be told of new loads that match");
        await showSaved();
      } catch (err) {
        showProblem(save, err);
      }
    });
    saved.replaceChildren(h("h2", {}, "Saved searches"),
      (list.items ?? list).length === 0 ? h("p", { class: "muted" }, "None yet.") :
        h("ul", {}, (list.items ?? list).map((sv) => h("li", {}, sv.name, " ",
          h("button", { type: "button", class: "link", onclick: () => run(sv.params) }, `Run “${sv.name}”`), " ",
          h("button", { type: "button", class: "link", onclick: async () => { await api("DELETE", `/v1/searches/${sv.id}`); await showSaved(); } }, `Delete “${sv.name}”`)))),
      save);
  }
  if (carrier) await showSaved();

  // Live: loads posted anywhere on the board, and this organization's changes, as they happen.
  let pending = null;
  live((event) => {
    if (event.type === "search.alert.v1") {
      const a = event.payload;
      alerts.prepend(h("li", {}, `New load for “${a.search_name}”: `, h("a", { href: `#/load/${a.load_id}` }, "see it"),
        ` (${Math.round(a.deadhead_miles)} mi deadhead, ${perMile(a.rate_per_mile_cents)}/mile)`));
      toast(`New load for “${a.search_name}”`);
    }
    // A load covered, cancelled or taken down anywhere leaves this board at once.
    if (event.type === "board.load_removed" && known.has(event.payload?.load_id)) {
      rows = rows.filter((r) => r.load.id !== event.payload.load_id);
      known.delete(event.payload.load_id);
      summary.textContent = `A load was ${event.payload.status}; showing ${rows.length}.`;
      render();
      return;
    }
    if (["load.posted.v1", "load.status_changed.v1", "load.updated.v1"].includes(event.type)) {
      clearTimeout(pending);
      pending = setTimeout(() => search({ live: true }), 300);
    }
  });
}
