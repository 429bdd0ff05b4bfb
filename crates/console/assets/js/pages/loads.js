// A broker's loads: the list with status, and the form that posts one.

import { api, completePlaces, idempotencyKey } from "../api.js";
import { clearProblem, EQUIPMENT, field, h, laneOf, money, mount, placeField, select, showProblem, toast } from "../dom.js";

export async function myLoads() {
  const page = await api("GET", "/v1/loads?limit=100");
  const items = page.items ?? [];
  mount("My loads",
    h("p", {}, h("a", { href: "#/loads/new" }, "Post a load"), " · ", h("a", { href: "#/loads/import" }, "Import from CSV")),
    items.length === 0
      ? h("p", { class: "muted" }, "No loads yet.")
      : h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["Reference", "Lane", "Pickup", "Equip.", "Rate", "Status"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((l) => h("tr", { "data-load": l.id },
            h("td", {}, h("a", { href: `#/load/${l.id}` }, l.reference)), h("td", {}, laneOf(l)),
            h("td", {}, new Date(l.stops[0].window.start).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" })),
            h("td", {}, l.equipment), h("td", { class: "num" }, money(l.all_in_rate_cents)), h("td", {}, l.status)))))));
}

/** `2026-12-07T08:00` from a date `days` ahead at `hour` (local to the stop). */
function ahead(days, hour) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${String(hour).padStart(2, "0")}:00`;
}

/** The load form, filled from `v` (a load as the API shows it) when editing. */
function loadForm(v, submitLabel) {
  const local = (w, end) => (w ? (end ? w.end_local : w.start_local).slice(0, 16) : null);
  const pickup = v?.stops?.find((st) => st.kind === "pickup");
  const delivery = v ? [...v.stops].reverse().find((st) => st.kind === "delivery") : null;
  return h("form", { class: "stack wide", "aria-label": submitLabel === "Save changes" ? "Edit the load" : "Post a load" },
    h("fieldset", {}, h("legend", {}, "The load"),
      field("Reference", { name: "reference", required: true, maxlength: 64, value: v?.reference ?? "" }),
      select("Equipment", "equipment", EQUIPMENT, v?.equipment ?? "V"),
      field("Weight (lb)", { name: "weight_lbs", type: "number", min: 1, required: true, value: v?.weight_lbs ?? 42000 }),
      field("Commodity", { name: "commodity", required: true, value: v?.commodity ?? "" }),
      field("All-in rate ($)", { name: "rate.amount_cents", type: "number", min: 1, step: "1", inputmode: "numeric", value: v?.all_in_rate_cents != null ? v.all_in_rate_cents / 100 : "" }),
      select("Visibility", "visibility", [["public", "Public: on the board"], ["private", "Private: my carriers"]], v?.visibility ?? "public")),
    h("fieldset", {}, h("legend", {}, "Pickup (local time at the stop)"),
      placeField("Place", { name: "stops[0].location.place", required: true, placeholder: "Dallas, TX", value: pickup?.location.label ?? "" }, completePlaces),
      field("From", { name: "stops[0].window.start", type: "datetime-local", required: true, value: local(pickup?.window) ?? ahead(3, 8) }),
      field("To", { name: "stops[0].window.end", type: "datetime-local", required: true, value: local(pickup?.window, true) ?? ahead(3, 14) })),
    h("fieldset", {}, h("legend", {}, "Delivery (local time at the stop)"),
      placeField("Place", { name: "stops[1].location.place", required: true, placeholder: "Atlanta, GA", value: delivery?.location.label ?? "" }, completePlaces),
      field("Appointment", { name: "stops[1].appointment", type: "datetime-local", required: true, value: local(delivery?.window) ?? ahead(5, 9) })),
    h("label", {}, "Notes", h("textarea", { name: "notes", rows: 2, maxlength: 2000 }, v?.notes ?? "")),
    h("button", { type: "submit" }, submitLabel));
}

/** What the API takes, from the load form. */
function bodyOf(form) {
  const d = Object.fromEntries(new FormData(form));
  return {
    reference: d.reference, equipment: d.equipment, trailer_length_ft: 53,
    weight_lbs: Number(d.weight_lbs), commodity: d.commodity, visibility: d.visibility,
    notes: d.notes || undefined,
    rate: d["rate.amount_cents"] ? { kind: "all_in", amount_cents: Math.round(Number(d["rate.amount_cents"]) * 100) } : undefined,
    stops: [
      { kind: "pickup", location: { place: d["stops[0].location.place"] }, window: { start: `${d["stops[0].window.start"]}:00`, end: `${d["stops[0].window.end"]}:00` } },
      { kind: "delivery", location: { place: d["stops[1].location.place"] }, appointment: `${d["stops[1].appointment"]}:00` },
    ],
  };
}

export function postLoad() {
  let key = idempotencyKey();
  const form = loadForm(null, "Post to the board");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const body = bodyOf(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // The same key for every retry of this submission: a double click posts one load.
      const load = await api("POST", "/v1/loads", body, { idempotencyKey: key });
      await api("POST", `/v1/loads/${load.id}/post`, {});
      key = idempotencyKey();
      toast(`Posted ${load.reference}`);
      location.hash = "#/loads";
    } catch (err) {
      showProblem(form, err);
    } finally {
      button.disabled = false;
    }
  });
  mount("Post a load", form);
}

/**
 * Editing a draft or posted load. The save names the version it was read at (`If-Match`);
 * if someone saved in between (another tab, a colleague), the conflict is shown with both
 * ways out: take their version, or save mine over it.
 */
export async function editLoad(me, id) {
  let { body: load, etag } = await api("GET", `/v1/loads/${id}`, undefined, { headers: true });
  const page = h("div", {});
  const show = () => {
    const form = loadForm(load, "Save changes");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearProblem(form);
      try {
        await api("PUT", `/v1/loads/${id}`, bodyOf(form), { ifMatch: etag });
        toast(`Saved ${form.elements.reference.value}`);
        location.hash = `#/load/${id}`;
      } catch (err) {
        if (err.status !== 412) return showProblem(form, err);
        const latest = await api("GET", `/v1/loads/${id}`, undefined, { headers: true });
        const conflict = h("div", { class: "alert", role: "alert" },
          h("strong", {}, "This load was changed since you opened it"),
          h("div", {}, `Someone saved version ${latest.body.version} (reference ${latest.body.reference}). Your changes are still in the form.`),
          h("button", { type: "button", class: "secondary", onclick: () => { load = latest.body; etag = latest.etag; show(); } }, "Discard mine and load theirs"),
          " ",
          h("button", { type: "button", onclick: () => { etag = latest.etag; conflict.remove(); form.requestSubmit(); } }, "Save mine over theirs"));
        form.prepend(conflict);
      }
    });
    page.replaceChildren(form);
  };
  show();
  mount(`Edit ${load.reference}`, page);
}

/** What the owner may do next with a load in each status (the API's state machine). */
const NEXT = {
  draft: [["post", "Post to the board"]],
  posted: [["unpost", "Take off the board"]],
  covered: [["dispatch", "Dispatched"]],
  dispatched: [["arrive_pickup", "Arrived at pickup"]],
  at_pickup: [["depart_pickup", "Departed pickup"]],
  in_transit: [["arrive_delivery", "Arrived at delivery"]],
  at_delivery: [["deliver", "Delivered"]],
  delivered: [["close", "Close"]],
};
const CANCELLABLE = new Set(["draft", "posted", "covered", "dispatched", "at_pickup"]);

/**
 * The owner's controls on a load's page: its next status, cancelling (with a reason) and
 * copying it to a new draft. Each change names the version it was read at, so a change
 * someone else made first is reported rather than overwritten.
 */
export function loadActions(load, etag) {
  const form = h("form", { class: "grid", "aria-label": "Change the load's status" });
  const act = async (event, reason) => {
    clearProblem(form);
    try {
      await api("POST", `/v1/loads/${load.id}/status`, { event, reason: reason || undefined }, { ifMatch: etag });
      toast(`${load.reference}: ${event.replace("_", " ")} recorded`);
      dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (err) {
      if (err.status === 412) err.problem = { title: "Someone changed this load since you opened it", detail: "Reload the page to see its latest status." };
      showProblem(form, err);
    }
  };
  for (const [event, label] of NEXT[load.status] || []) {
    form.append(h("button", { type: "button", onclick: () => act(event) }, label));
  }
  if (CANCELLABLE.has(load.status)) {
    form.append(
      h("label", {}, "Reason to cancel", h("input", { name: "reason", maxlength: 500, placeholder: "shipper cancelled" })),
      h("button", { type: "button", class: "secondary", onclick: () => act("cancel", form.elements.reason.value) }, "Cancel the load"));
  }
  form.append(h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      const copy = await api("POST", `/v1/loads/${load.id}/copy`, {});
      toast(`Copied to a new draft`);
      location.hash = `#/load/${copy.id}/edit`;
    } catch (err) {
      showProblem(form, err);
    }
  } }, "Copy to a new load"));
  return h("section", { "aria-label": "Manage the load" }, h("h2", {}, "Manage"), form);
}

/** Every status change of the caller's load, oldest first. */
export async function loadHistory(id) {
  const items = await api("GET", `/v1/loads/${id}/history`);
  const at = (t) => new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  return h("section", { "aria-label": "History" }, h("h2", {}, "History"),
    h("div", { class: "table-wrap" }, h("table", { id: "history" },
      h("thead", {}, h("tr", {}, ["When", "What", "Status", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, items.map((e) => h("tr", {},
        h("td", {}, at(e.occurred_at)), h("td", {}, e.event.replace("_", " ")),
        h("td", {}, e.from_status ? `${e.from_status} → ${e.to_status}` : e.to_status), h("td", {}, e.reason || "")))))));
}

/**
 * Many loads at once from a spreadsheet: a CSV file (columns in docs/loads.md) becomes
 * drafts, all or nothing; a rejected file lists every bad row's problems by column.
 */
export function importLoads() {
  let key = idempotencyKey();
  const report = h("div", { id: "import-report", "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": "Import loads" },
    h("label", {}, "CSV file", h("input", { id: "f-file", name: "file", type: "file", accept: ".csv,text/csv", required: true })),
    h("button", { type: "submit" }, "Import"));
  form.elements.file.addEventListener("change", () => (key = idempotencyKey()));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    report.replaceChildren();
    const file = form.elements.file.files[0];
    if (!file) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const text = await file.text();
      // The same key until another file is chosen: sending it twice imports it once.
      const created = await api("POST", "/v1/loads/import", text, { idempotencyKey: key, contentType: "text/csv" });
      report.replaceChildren(h("div", { class: "alert ok", role: "status" },
        h("strong", {}, `Imported ${created.length} loads as drafts.`),
        h("ul", {}, created.map((l) => h("li", {}, h("a", { href: `#/load/${l.id}` }, l.reference), ` ${laneOf(l)}`)))));
    } catch (err) {
      const rows = err.problem?.rows;
      showProblem(form, err);
      if (rows?.length) {
        report.replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "import-errors" },
          h("caption", {}, `Nothing was imported: ${rows.length} rows need fixing`),
          h("thead", {}, h("tr", {}, ["Row", "Column", "Problem"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows.flatMap((r) => r.errors.map((x) => h("tr", {},
            h("td", { class: "num" }, r.row === 0 ? "file" : String(r.row)), h("td", {}, x.field), h("td", {}, x.message))))))));
      }
    } finally {
      button.disabled = false;
    }
  });
  mount("Import loads",
    h("p", {}, "One load per row, pickup then delivery, with a header row naming the columns: ",
      h("code", {}, "reference, origin, destination, pickup_start, delivery_start, equipment, trailer_length_ft, weight_lbs, commodity"),
      " and optionally the rates, windows and notes. Times are local to each stop. Imported loads are drafts: post them from My loads."),
    form, report);
}
