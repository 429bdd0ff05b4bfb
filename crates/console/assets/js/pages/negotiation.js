// One load and its negotiations: a carrier books it now at the posted rate or makes an
// offer (structured or in words: "can you do 2600?"); either side answers in the thread —
// counter, accept, reject, withdraw. The thread follows the negotiation live.

import { api, live } from "../api.js";
import { clearProblem, h, money, mount, perMile, showProblem, toast } from "../dom.js";
import { talkAbout } from "./chat.js";
import { loadMatches } from "./trucks.js";
import { loadActions, loadHistory } from "./loads.js";

function describe(m) {
  const e = m.event || {};
  switch (e.event) {
    case "offered": return `offered ${money(e.offer?.rate_cents)}${(e.offer?.accessorials || []).length ? " plus accessorials" : ""}`;
    case "agreed": return `agreed at ${money(e.total_cents ?? e.rate_cents)}${e.book_now ? " (Book Now)" : ""}`;
    case "rejected": return "rejected";
    case "withdrawn": return "withdrew";
    case "expired": return "the negotiation expired";
    case "closed": return `closed: ${e.reason}`;
    case "approval_requested": return `the agent asks for approval of ${money(e.proposal?.rate_cents ?? e.proposal?.total_cents)}`;
    default: return e.event || "";
  }
}

function thread(n, onMove) {
  const mine = n.your_side;
  const form = h("form", { class: "grid", "aria-label": `Answer in negotiation ${n.id}` },
    h("label", {}, "Your answer", h("input", { name: "text", placeholder: "can you do 2,400?", autocomplete: "off" })),
    h("button", { type: "submit" }, "Send"),
    h("button", { type: "button", class: "secondary", onclick: () => onMove(form, { move: { move: "accept" } }) }, "Accept"),
    h("button", { type: "button", class: "secondary", onclick: () => onMove(form, { move: { move: "reject" } }) }, "Reject"),
    mine === "carrier" ? h("button", { type: "button", class: "secondary", onclick: () => onMove(form, { move: { move: "withdraw" } }) }, "Withdraw") : null);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = new FormData(form).get("text");
    if (text) onMove(form, { text });
  });
  return h("section", { class: "negotiation", "aria-label": `Negotiation with ${mine === "broker" ? "the carrier" : "the broker"}`, "data-negotiation": n.id },
    h("h2", {}, `${n.status === "open" ? "Open" : n.status[0].toUpperCase() + n.status.slice(1)} · ${n.standing_cents != null ? `standing offer ${money(n.standing_cents)}` : n.agreed_cents != null ? `agreed ${money(n.agreed_cents)}` : ""}`),
    n.standing ? h("p", { class: "muted", "data-standing": n.standing }, `Carrier's authority: ${n.standing}`) : null,
    h("ol", { class: "thread" }, (n.messages || []).map((m) => h("li", { class: m.side === mine ? "me" : "them" },
      h("strong", {}, m.side === mine ? "You" : m.side === "broker" ? "Broker" : "Carrier"), ": ",
      m.text ? `“${m.text}” — ` : "", describe(m),
      m.event?.agent_reason ? h("div", { class: "muted" }, `Agent: ${m.event.agent_reason}`) : null))),
    n.status === "open"
      ? h("div", {}, h("p", { class: "muted" }, n.turn ? `Waiting for the ${n.turn}.` : "Either side may offer.", ` Offers left: you ${n.offers_left?.[mine] ?? "?"}.`), form)
      : h("p", { class: "muted" }, n.closed_reason || ""));
}

export async function loadPage(me, id) {
  const { body: load, etag } = await api("GET", `/v1/loads/${id}`, undefined, { headers: true });
  const carrier = me.organization.kind === "carrier";
  const from = load.stops.find((s) => s.kind === "pickup");
  const to = [...load.stops].reverse().find((s) => s.kind === "delivery");
  const body = h("div", { id: "negotiations" });
  mount(`${from.location.label} → ${to.location.label}`,
    h("dl", { class: "facts" },
      h("dt", {}, "Reference"), h("dd", {}, load.reference),
      h("dt", {}, "Pickup"), h("dd", {}, `${from.window.start_local.replace("T", " ")} (${from.window.timezone})`),
      h("dt", {}, "Equipment"), h("dd", {}, load.equipment),
      h("dt", {}, "Weight"), h("dd", {}, `${load.weight_lbs.toLocaleString("en-US")} lb`),
      h("dt", {}, "Rate"), h("dd", {}, `${money(load.all_in_rate_cents)} (${perMile(load.rate_per_mile_cents)}/mile)`),
      load.status ? [h("dt", {}, "Status"), h("dd", {}, load.status)] : null),
    load.status === "draft" || load.status === "posted" ? h("p", {}, h("a", { href: `#/load/${id}/edit` }, "Edit this load")) : null,
    body);

  async function move(form, path, payload) {
    clearProblem(form);
    try {
      await api("POST", path, payload);
      await refresh();
    } catch (err) {
      showProblem(form, err);
    }
  }

  async function refresh() {
    const list = await api("GET", `/v1/negotiations?load_id=${id}`);
    const full = await Promise.all(list.map((n) => api("GET", `/v1/negotiations/${n.id}`)));
    if (!carrier) {
      // The broker sees each carrier's authority as last checked.
      await Promise.all(full.map(async (n) => {
        n.standing = await api("GET", `/v1/carriers/${n.carrier_org_id}/authority`).then((a) => a.standing, () => "not declared");
      }));
    }
    const open = full.find((n) => n.status === "open" || n.status === "agreed");
    const parts = full.map((n) => thread(n, (form, payload) => move(form, `/v1/negotiations/${n.id}/moves`, payload)));
    if (carrier && !open) {
      const start = h("form", { class: "grid", "aria-label": "Make an offer" },
        h("label", {}, "Your offer", h("input", { name: "text", placeholder: "2600 all in", autocomplete: "off" })),
        h("button", { type: "submit" }, "Send offer"),
        load.all_in_rate_cents ? h("button", { type: "button", onclick: () => move(start, "/v1/negotiations", { load_id: id, move: { move: "book_now" } }).then(() => toast("Booked")) }, `Book now at ${money(load.all_in_rate_cents)}`) : null);
      start.addEventListener("submit", (e) => {
        e.preventDefault();
        const text = new FormData(start).get("text");
        if (text) move(start, "/v1/negotiations", { load_id: id, text });
      });
      parts.unshift(start);
    }
    if (!carrier && full.length === 0) parts.push(h("p", { class: "muted" }, "No carrier has made an offer yet."));
    // Talk about the load: a carrier with the broker; the broker with each carrier negotiating.
    const talk = carrier
      ? [h("button", { type: "button", class: "secondary", onclick: () => talkAbout(id) }, "Message the broker")]
      : full.map((n) => h("button", { type: "button", class: "secondary", onclick: () => talkAbout(id, n.carrier_org_id) }, "Message this carrier"));
    parts.push(h("p", {}, talk));
    body.replaceChildren(h("h2", { class: "sr-only" }, "Negotiations"), ...parts);
  }
  await refresh();
  // The owner manages the load, sees its history and the trucks matched to it while posted.
  if (load.status) {
    const main = document.getElementById("main");
    main.append(loadActions(load, etag), await loadHistory(id).catch((err) => h("p", { class: "alert" }, err.message)));
    if (!["draft", "posted", "expired"].includes(load.status)) {
      main.append(h("p", {}, h("a", { href: `#/load/${id}/documents` }, "Paperwork for this load"), " · ",
        h("a", { href: `#/load/${id}/tracking` }, "Tracking for this load")));
    }
    if (load.status === "posted") main.append(await loadMatches(id).catch((err) => h("p", { class: "alert" }, err.message)));
  }

  live((event) => {
    if (event.type === "negotiation.updated.v1" && event.payload?.load_id === id) refresh();
  });
}
