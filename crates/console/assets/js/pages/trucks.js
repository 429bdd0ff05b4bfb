// A carrier's trucks: post one, see them, and each truck's matched loads (best first) with
// the most valuable reload chain. A broker's load page shows the trucks matched to it.

import { api, completePlaces, idempotencyKey } from "../api.js";
import { clearProblem, EQUIPMENT, field, h, laneOf, money, mount, placeField, select, showProblem, toast } from "../dom.js";
import { talkAbout } from "./chat.js";

const when = (t) => new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

function ahead(days, hour) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${String(hour).padStart(2, "0")}:00`;
}

export async function myTrucks() {
  const page = await api("GET", "/v1/trucks?limit=100");
  const items = page.items ?? [];
  let key = idempotencyKey();
  const form = h("form", { class: "grid", "aria-label": "Post a truck" },
    select("Equipment", "equipment", EQUIPMENT, "V"),
    placeField("Available at", { name: "available_at.place", required: true, placeholder: "Atlanta, GA" }, completePlaces),
    field("From (local)", { name: "available_from", type: "datetime-local", required: true, value: ahead(1, 8) }),
    field("Until (local)", { name: "available_until", type: "datetime-local", required: true, value: ahead(4, 18) }),
    field("Going to states (blank: anywhere)", { name: "destination.states", placeholder: "TX, OK" }),
    field("Max deadhead (miles)", { name: "max_deadhead_miles", type: "number", min: 0, max: 1000, value: 150 }),
    field("Min $/mile", { name: "min_rate_per_mile_cents", type: "number", min: 0, step: "0.01" }),
    h("button", { type: "submit" }, "Post truck"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    const states = d["destination.states"].split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
    const body = {
      equipment: d.equipment, trailer_length_ft: 53,
      available_at: { place: d["available_at.place"] },
      available_from: `${d.available_from}:00`, available_until: `${d.available_until}:00`,
      destination: states.length ? { kind: "states", states } : { kind: "anywhere" },
      max_deadhead_miles: Number(d.max_deadhead_miles || 0),
      min_rate_per_mile_cents: d.min_rate_per_mile_cents ? Math.round(Number(d.min_rate_per_mile_cents) * 100) : undefined,
      team: false,
    };
    try {
      const truck = await api("POST", "/v1/trucks", body, { idempotencyKey: key });
      key = idempotencyKey();
      toast("Truck posted");
      location.hash = `#/truck/${truck.id}`;
    } catch (err) {
      showProblem(form, err);
    }
  });
  mount("My trucks", form,
    items.length === 0 ? h("p", { class: "muted" }, "No trucks posted yet.") :
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Equipment", "Available at", "From", "Until", "Going to"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, items.map((t) => h("tr", {},
          h("td", {}, h("a", { href: `#/truck/${t.id}` }, `${t.equipment} truck`)),
          h("td", {}, t.available_at.label), h("td", {}, when(t.available_from)), h("td", {}, when(t.available_until)),
          h("td", {}, t.destination.kind === "anywhere" ? "anywhere" : (t.destination.states || t.destination.markets || []).join(", "))))))));
}

/** `GET path` until matching has heard of the load or truck (it follows events). */
async function matchesOf(path) {
  for (let i = 0; ; i++) {
    try {
      return await api("GET", path);
    } catch (err) {
      if (err.status !== 404 || i >= 40) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function truckPage(me, id) {
  const truck = await api("GET", `/v1/trucks/${id}`);
  mount(`${truck.equipment} truck at ${truck.available_at.label}`, h("p", { class: "muted" }, "Finding loads…"));
  const m = await matchesOf(`/v1/trucks/${id}/matches?limit=10`);
  const main = document.getElementById("main");
  main.querySelector("p.muted").remove();
  main.append(
    m.matches.length === 0 ? h("p", {}, "No public load fits this truck right now.") :
      h("div", { class: "table-wrap" }, h("table", {},
        h("caption", {}, "Matched loads, best first"),
        h("thead", {}, h("tr", {}, ["#", "Lane", "Pickup", "Deadhead", "Rate", "Weight"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, m.matches.map((l) => h("tr", {},
          h("td", {}, String(l.rank)),
          h("td", {}, h("a", { href: `#/load/${l.load_id}` }, `${l.origin.label} → ${l.destination.label}`)),
          h("td", {}, when(l.pickup_start)), h("td", { class: "num" }, `${Math.round(l.timing.deadhead_miles)} mi`),
          h("td", { class: "num" }, money(l.all_in_rate_cents)), h("td", { class: "num" }, l.weight_lbs.toLocaleString("en-US"))))))),
    m.reload_chain ? h("p", { id: "reload" }, `Best reload chain: ${m.reload_chain.load_ids.length} loads, ${money(m.reload_chain.revenue_cents)} revenue, ${Math.round(m.reload_chain.empty_miles)} empty miles.`) : null);
}

/** The trucks matched to a broker's load, for its page. */
export async function loadMatches(loadId) {
  const m = await matchesOf(`/v1/loads/${loadId}/matches?limit=10`);
  return h("section", { "aria-label": "Matched trucks" },
    h("h2", {}, `Matched trucks (${m.matches.length} of ${m.available_trucks} available)`),
    m.matches.length === 0 ? h("p", { class: "muted" }, "No truck fits yet.") :
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["#", "Equipment", "At", "Available", "Deadhead"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, m.matches.map((t) => h("tr", {},
          h("td", {}, String(t.rank)), h("td", {}, t.equipment), h("td", {}, t.available_at.label),
          h("td", {}, when(t.available_from)), h("td", { class: "num" }, `${Math.round(t.timing.deadhead_miles)} mi`)))))));
}

/**
 * Brokers and shippers: trucks posted near a pickup, nearest first, with each carrier's
 * authority as last checked, and a message to its carrier about one of the broker's posted
 * loads (conversations between organizations are about a load).
 */
export async function findTrucks() {
  const mine = (await api("GET", "/v1/loads?limit=100")).items?.filter((l) => l.status === "posted") ?? [];
  const results = h("div", { id: "truck-results", "aria-live": "polite" });
  const about = mine.length
    ? select("Message carriers about", "about", mine.map((l) => [l.id, `${l.reference}: ${laneOf(l)}`]), mine[0].id)
    : h("p", { class: "muted" }, "Post a load to message carriers about it.");
  const form = h("form", { class: "grid", "aria-label": "Find trucks" },
    placeField("Near (pickup)", { name: "origin", required: true, placeholder: "Dallas, TX" }, completePlaces),
    field("Within (miles)", { name: "radius_miles", type: "number", min: 1, max: 500, value: 150 }),
    select("Equipment", "equipment", [["", "Any"], ...EQUIPMENT], ""),
    field("Available from", { name: "available_from", type: "date" }),
    field("Available to", { name: "available_to", type: "date" }),
    field("Delivering in (state)", { name: "dest_state", maxlength: 2, placeholder: "GA" }),
    h("button", { type: "submit" }, "Find trucks"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    try {
      const trucks = await api("GET", `/v1/trucks/search?${q}&limit=100`);
      const standing = new Map(await Promise.all([...new Set(trucks.map((t) => t.carrier_org_id))].map(async (c) =>
        [c, await api("GET", `/v1/carriers/${c}/authority`).then((a) => a.standing, () => "not declared")])));
      results.replaceChildren(trucks.length === 0 ? h("p", {}, "No posted truck is available there then.") :
        h("div", { class: "table-wrap" }, h("table", {},
          h("caption", {}, `${trucks.length} trucks, nearest first`),
          h("thead", {}, h("tr", {}, ["Equipment", "At", "Deadhead", "Available", "Going to", "Min $/mile", "Authority", "Contact"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, trucks.map((t) => h("tr", { "data-truck": t.id },
            h("td", {}, t.equipment), h("td", {}, t.available_at.label),
            h("td", { class: "num" }, `${Math.round(t.deadhead_miles ?? 0)} mi`),
            h("td", {}, `${when(t.available_from)} – ${when(t.available_until)}`),
            h("td", {}, t.destination.kind === "anywhere" ? "anywhere" : (t.destination.states || t.destination.markets || []).join(", ")),
            h("td", { class: "num" }, t.min_rate_per_mile_cents ? money(t.min_rate_per_mile_cents) : "—"),
            h("td", {}, standing.get(t.carrier_org_id)),
            h("td", {}, mine.length ? h("button", { type: "button", class: "secondary", "aria-label": `Message the carrier of the ${t.equipment} truck at ${t.available_at.label}`,
              onclick: () => talkAbout(document.getElementById("f-about").value, t.carrier_org_id).catch((err) => showProblem(form, err)) }, "Message") : "—")))))));
    } catch (err) {
      showProblem(form, err);
    }
  });
  mount("Find trucks", form, about, results);
}
