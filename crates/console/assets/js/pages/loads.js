// A broker's loads: the list with status, and the form that posts one.

import { api, completePlaces, idempotencyKey } from "../api.js";
import { clearProblem, EQUIPMENT, field, h, money, mount, placeField, select, showProblem, toast } from "../dom.js";

const lane = (l) => {
  const from = l.stops.find((s) => s.kind === "pickup")?.location.label ?? "?";
  const to = [...l.stops].reverse().find((s) => s.kind === "delivery")?.location.label ?? "?";
  return `${from} → ${to}`;
};

export async function myLoads() {
  const page = await api("GET", "/v1/loads?limit=100");
  const items = page.items ?? [];
  mount("My loads",
    h("p", {}, h("a", { href: "#/loads/new" }, "Post a load")),
    items.length === 0
      ? h("p", { class: "muted" }, "No loads yet.")
      : h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["Reference", "Lane", "Pickup", "Equip.", "Rate", "Status"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((l) => h("tr", { "data-load": l.id },
            h("td", {}, h("a", { href: `#/load/${l.id}` }, l.reference)), h("td", {}, lane(l)),
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
