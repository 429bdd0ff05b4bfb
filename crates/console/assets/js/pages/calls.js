// The call desk: the lines on which LaneRunner's agent answers carriers' calls, a test call
// by text (the same agent as on the phone: MC number, the load, the negotiation inside the
// broker's agent policy, a transfer to a person), outreach (the agent calls a load's
// best-matched carriers), and every call with its outcome, sentiment and summary; one
// call's page shows its transcript.

import { api } from "../api.js";
import { clearProblem, field, h, mount, showProblem, toast } from "../dom.js";

const when = (t) => (t ? new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }) : "—");
const money = (c) => (c == null ? "—" : "$" + (c / 100).toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 2 }));
const OUTCOMES = {
  booked: "Booked", countered: "Countered", declined: "Declined", not_eligible: "Not eligible",
  no_load: "No load", transferred: "Transferred", abandoned: "Hung up", no_answer: "No answer",
  checked_in: "Checked in",
};
const MOVING = ["dispatched", "at_pickup", "in_transit", "at_delivery"];
const canWrite = (me) => me.organization.kind !== "carrier" && me.user.role !== "viewer";

function lineForm(onSaved) {
  const form = h("form", { class: "stack", "aria-label": "Add a line" },
    field("Phone number (E.164)", { name: "phone_number", required: true, placeholder: "+14155550100" }),
    field("Company name the agent answers with", { name: "company_name", required: true, maxlength: 100 }),
    field("Transfer calls to (E.164, optional)", { name: "transfer_number", placeholder: "+14155550199" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "recording_notice", checked: true }), "Tell callers the call is recorded and transcribed"),
    h("button", { type: "submit" }, "Save line"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const number = form.elements.phone_number.value.trim();
    try {
      // An empty number still reaches the server, which names the field.
      const saved = await api("PUT", `/v1/voice/lines/${encodeURIComponent(number || "-")}`, {
        company_name: form.elements.company_name.value,
        transfer_number: form.elements.transfer_number.value.trim() || null,
        recording_notice: form.elements.recording_notice.checked,
      });
      onSaved(saved);
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

/** A test call by text: each line said, and the agent's answer, until the call ends. */
function tryCall(me, lines) {
  const log = h("ol", { class: "transcript", id: "test-call", "aria-live": "polite" });
  const status = h("div", { role: "status" });
  const agent = (t) => log.append(h("li", { class: "agent" }, h("strong", {}, "Agent: "), t.say,
    t.then === "transfer" ? h("em", {}, ` (transferred to ${t.transfer_to})`) : null));
  let call = null;
  const form = h("form", { class: "stack", "aria-label": "Test call", hidden: true },
    field("Caller says", { name: "text", maxlength: 1000, autocomplete: "off" }),
    field("Keys pressed (optional)", { name: "digits", maxlength: 20, inputmode: "numeric" }),
    h("button", { type: "submit" }, "Say"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const text = form.elements.text.value.trim();
    const digits = form.elements.digits.value.trim();
    try {
      const t = await api("POST", `/v1/voice/calls/${call}/say`, { text: text || null, digits: digits || null });
      log.append(h("li", { class: "caller" }, h("strong", {}, "Caller: "), [text, digits && `[keyed ${digits}]`].filter(Boolean).join(" ")));
      agent(t);
      form.reset();
      if (t.ended) {
        form.hidden = true;
        status.replaceChildren(h("p", {}, "The call has ended. ", h("a", { href: `#/calls/${call}` }, "See the call")));
      }
    } catch (err) {
      showProblem(form, err);
    }
  });
  /** Plays the carrier on a simulated outreach call: picking up hears the agent's pitch. */
  const pickUp = async (id) => {
    const t = await api("POST", `/v1/voice/calls/${id}/say`, { text: "Hello?" });
    call = id;
    log.replaceChildren(h("li", { class: "caller" }, h("strong", {}, "Carrier: "), "Hello?"));
    status.replaceChildren();
    agent(t);
    form.hidden = t.ended;
    if (!t.ended) form.elements.text.focus();
  };
  const start = h("button", { type: "button", disabled: !lines.length, onclick: async () => {
    try {
      const t = await api("POST", "/v1/voice/calls/simulated", {});
      call = t.call_id;
      log.replaceChildren();
      status.replaceChildren();
      agent(t);
      form.hidden = false;
      form.elements.text.focus();
    } catch (err) {
      status.replaceChildren(h("div", { class: "alert" }, err.problem?.title || err.message));
    }
  } }, "Start a test call");
  const section = h("section", { class: "stack" }, h("h2", {}, "Try the agent"),
    h("p", { class: "muted" }, lines.length ? "Play the carrier: the agent answers as it would on the phone, with your loads and your agent's limits." : "Add a line first."),
    canWrite(me) ? start : null, log, form, status);
  return { section, pickUp };
}

/** Has the agent call a posted load's best-matched carriers that gave a dispatch number. */
const place = (stop) => stop?.location?.label || stop?.location?.place || "";

/** One placed call: pick it up as the carrier when simulated, else a link to it. */
function placedCall(c, pickUp) {
  return h("li", {},
    `Calling ${c.mc_number ? `MC ${c.mc_number}` : "a carrier"} at ${c.to_number} (${c.status}) `,
    c.channel === "simulated" && c.status === "ringing"
      ? h("button", { type: "button", class: "secondary", onclick: () => pickUp(c.id).catch((err) => toast(err.problem?.title || err.message)) }, "Pick up as the carrier")
      : h("a", { href: `#/calls/${c.id}` }, "See the call"));
}

/** A check call now to the carrier hauling a load on the road. */
function checkCall(loads, pickUp) {
  const moving = loads.filter((l) => MOVING.includes(l.status));
  const out = h("div", { id: "check-call-out", role: "status" });
  const form = h("form", { class: "stack", "aria-label": "Check on a load" },
    h("label", {}, "Load on the road",
      h("select", { name: "load", required: true }, moving.map((l) => h("option", { value: l.id }, `${l.reference} · ${l.status.replace("_", " ")}`)))),
    h("button", { type: "submit", disabled: !moving.length }, "Call the carrier"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const c = await api("POST", `/v1/voice/loads/${form.elements.load.value}/check-call`, {});
      out.replaceChildren(h("ul", {}, placedCall(c, pickUp)));
    } catch (err) {
      showProblem(form, err);
    }
  });
  return h("section", { class: "stack" }, h("h2", {}, "Check calls"),
    h("p", { class: "muted" }, "A load on the road that sends no position for a while gets a call to its carrier: where is the truck, when will it deliver, anything wrong. Call now:"),
    form, out);
}

async function outreach(loadsAll, lines, pickUp) {
  const loads = loadsAll.filter((l) => l.status === "posted");
  const out = h("div", { id: "outreach-out", role: "status" });
  const form = h("form", { class: "stack", "aria-label": "Call matched carriers" },
    h("label", {}, "Load",
      h("select", { name: "load", required: true }, loads.map((l) => h("option", { value: l.id }, `${l.reference} · ${place(l.stops[0])} → ${place(l.stops[l.stops.length - 1])}`)))),
    field("How many carriers", { name: "carriers", type: "number", min: 1, max: 10, value: 3, required: true }),
    h("button", { type: "submit", disabled: !loads.length || !lines.length }, "Call them"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const r = await api("POST", `/v1/voice/loads/${form.elements.load.value}/outreach`, { carriers: Number(form.elements.carriers.value) });
      out.replaceChildren(
        h("ul", {}, r.calls.map((c) => placedCall(c, pickUp))),
        r.skipped.length ? h("p", { class: "muted" }, `Skipped ${r.skipped.length}: ${r.skipped.map((s) => s.reason).join("; ")}`) : null);
    } catch (err) {
      showProblem(form, err);
    }
  });
  return h("section", { class: "stack" }, h("h2", {}, "Call matched carriers"),
    h("p", { class: "muted" }, "For an urgent load, the agent calls the carriers whose trucks match it best and who gave a number for these calls, pitches the load, and negotiates within your agent's limits."),
    form, out);
}

export async function calls(me) {
  const [lines, page] = await Promise.all([api("GET", "/v1/voice/lines"), api("GET", "/v1/voice/calls?limit=100")]);
  const lineRows = lines.map((l) => h("tr", {},
    h("td", {}, l.phone_number), h("td", {}, l.company_name), h("td", {}, l.transfer_number || "—"),
    h("td", {}, l.recording_notice ? "yes" : "no"),
    h("td", {}, canWrite(me) ? h("button", { type: "button", class: "secondary", onclick: async () => {
      await api("DELETE", `/v1/voice/lines/${encodeURIComponent(l.phone_number)}`);
      toast(`Removed ${l.phone_number}`);
      await calls(me);
    } }, `Remove ${l.phone_number}`) : "")));
  const trial = tryCall(me, lines);
  const loads = canWrite(me) ? (await api("GET", "/v1/loads?limit=100")).items : [];
  const callRows = page.items.map((c) => h("tr", {},
    h("td", {}, h("a", { href: `#/calls/${c.id}` }, when(c.started_at))),
    h("td", {}, c.direction === "inbound" ? c.from_number : `to ${c.to_number}`), h("td", {}, c.channel),
    h("td", {}, c.outcome ? OUTCOMES[c.outcome] || c.outcome : "in progress"),
    h("td", {}, c.mc_number ? `MC ${c.mc_number}` : "—"), h("td", { class: "num" }, money(c.agreed_cents)),
    h("td", {}, c.sentiment || "—"), h("td", {}, c.summary || "")));
  mount("Calls",
    h("p", { class: "muted" }, "LaneRunner's agent answers carriers who call your lines: it checks their MC number, finds the load by reference or lane, negotiates within your agent's limits, books on agreement, and hands the call to your desk when a person should take it."),
    h("h2", {}, "Lines"),
    lineRows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "lines" },
          h("caption", {}, "Your lines"),
          h("thead", {}, h("tr", {}, ["Number", "Answers as", "Transfers to", "Recording notice", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, lineRows)))
      : h("p", { class: "muted" }, "No lines yet."),
    canWrite(me) ? lineForm(async (saved) => { toast(`Line ${saved.phone_number} saved`); await calls(me); }) : null,
    trial.section,
    canWrite(me) ? await outreach(loads, lines, trial.pickUp) : null,
    canWrite(me) ? checkCall(loads, trial.pickUp) : null,
    h("h2", {}, "Recent calls"),
    callRows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "calls" },
          h("caption", {}, "Your calls, newest first"),
          h("thead", {}, h("tr", {}, ["Started", "Caller", "Channel", "Outcome", "Carrier", "Agreed", "Sentiment", "Summary"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, callRows)))
      : h("p", { class: "muted" }, "No calls yet."));
}

export async function callPage(me, id) {
  const c = await api("GET", `/v1/voice/calls/${id}`);
  mount(`Call · ${when(c.started_at)}`,
    h("p", {}, h("a", { href: "#/calls" }, "All calls")),
    h("dl", { class: "facts" },
      h("dt", {}, "From"), h("dd", {}, c.from_number),
      h("dt", {}, "Line"), h("dd", {}, c.to_number),
      h("dt", {}, "Outcome"), h("dd", { id: "call-outcome" }, c.outcome ? OUTCOMES[c.outcome] || c.outcome : "in progress"),
      h("dt", {}, "Carrier"), h("dd", {}, c.mc_number ? `MC ${c.mc_number}` : "—"),
      h("dt", {}, "Load"), h("dd", {}, c.load_id ? h("a", { href: `#/load/${c.load_id}` }, "Open the load") : "—"),
      h("dt", {}, "Agreed"), h("dd", {}, money(c.agreed_cents)),
      h("dt", {}, "Sentiment"), h("dd", {}, c.sentiment || "—"),
      h("dt", {}, "Summary"), h("dd", {}, c.summary || "—"),
      ...(c.check_in ? [
        h("dt", {}, "Truck at"), h("dd", { id: "check-location" }, c.check_in.location || "—"),
        h("dt", {}, "Delivery expected"), h("dd", {}, c.check_in.eta || "—"),
        h("dt", {}, "Problems"), h("dd", {}, c.check_in.issues || "—"),
      ] : [])),
    h("h2", {}, "Transcript"),
    h("ol", { class: "transcript", id: "transcript" }, c.transcript.flatMap((t) => [
      t.heard ? h("li", { class: "caller" }, h("strong", {}, "Caller: "), t.heard) : null,
      t.said ? h("li", { class: "agent" }, h("strong", {}, "Agent: "), t.said) : null,
    ].filter(Boolean))));
}
