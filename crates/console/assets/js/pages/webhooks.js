// Webhooks to the organization's own systems: the endpoints (what each hears, how its
// deliveries stand), adding one (its secret is shown once, and to owners and admins on
// request), and one endpoint's page: a test, the secret and its rotation, enabling and
// disabling, the delivery log with each attempt, replaying one delivery or every
// dead-lettered one since a day.

import { api } from "../api.js";
import { clearProblem, field, h, mount, showProblem, toast } from "../dom.js";

const when = (t) => (t ? new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit" }) : "—");
const isAdmin = (me) => ["owner", "admin"].includes(me.user.role);
const events = (e) => (e.event_types.length ? e.event_types.join(", ") : "every event");

function secretBox(label, secret) {
  return h("div", { class: "alert ok", role: "status" },
    h("p", {}, label),
    h("input", { readonly: true, value: secret, "aria-label": "Signing secret", size: 60 }),
    h("p", { class: "muted" }, "Verify each delivery's webhook-signature with it: any Standard Webhooks library (Svix's included) does."));
}

async function endpointForm(catalog, onCreated) {
  const boxes = catalog.map((t) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "event_types", value: t.event_type }), `${t.event_type} — ${t.description}`));
  const form = h("form", { class: "stack", "aria-label": "Add an endpoint" },
    field("Endpoint URL", { name: "url", type: "url", required: true, placeholder: "https://tms.example.com/lanerunner" }),
    field("Description", { name: "description", maxlength: 200 }),
    h("fieldset", {}, h("legend", {}, "Events (none ticked: every event)"), boxes),
    h("button", { type: "submit" }, "Add endpoint"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const body = {
      url: form.elements.url.value,
      description: form.elements.description.value || null,
      event_types: [...form.querySelectorAll("input[name=event_types]:checked")].map((i) => i.value),
    };
    try {
      onCreated(await api("POST", "/v1/webhooks/endpoints", body));
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

export async function webhooks(me) {
  const [page, catalog] = await Promise.all([api("GET", "/v1/webhooks/endpoints?limit=100"), api("GET", "/v1/webhooks/event-types")]);
  const shown = h("div", { id: "new-secret" });
  const rows = page.items.map((e) => h("tr", {},
    h("td", {}, h("a", { href: `#/webhooks/${e.id}` }, e.url)),
    h("td", {}, e.description || ""),
    h("td", {}, events(e)),
    h("td", {}, e.disabled ? "disabled" : "enabled"),
    h("td", { class: "num" }, e.deliveries.delivered), h("td", { class: "num" }, e.deliveries.pending), h("td", { class: "num" }, e.deliveries.dead)));
  const form = isAdmin(me) ? await endpointForm(catalog, async (created) => {
    toast("Endpoint added");
    await webhooks(me);
    document.getElementById("new-secret").replaceChildren(secretBox(`The signing secret of ${created.url}:`, created.secret));
  }) : h("p", { class: "muted" }, "Owners and admins add and change endpoints.");
  mount("Webhooks",
    h("p", { class: "muted" }, "LaneRunner POSTs your organization's events to your systems as they happen, signed per the Standard Webhooks specification, at least once: failed deliveries are retried with backoff, then kept for you to replay. A load's events arrive in the order they happened."),
    shown,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "endpoints" },
          h("caption", {}, "Your endpoints"),
          h("thead", {}, h("tr", {}, ["URL", "Description", "Events", "State", "Delivered", "Pending", "Dead"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No endpoints yet."),
    h("h2", {}, "Add an endpoint"), form);
}

function attemptsTable(d) {
  return h("table", { class: "attempts" },
    h("caption", {}, `Attempts at ${d.message_id}`),
    h("thead", {}, h("tr", {}, ["When", "Why", "Answer", "Error", "Took"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, d.attempts_log.map((a) => h("tr", {},
      h("td", {}, when(a.attempted_at)), h("td", {}, a.trigger), h("td", {}, a.status_code ?? "none"),
      h("td", {}, a.error || ""), h("td", { class: "num" }, `${a.duration_ms} ms`)))));
}

export async function webhookEndpoint(me, id, filter = "") {
  const [e, log] = await Promise.all([
    api("GET", `/v1/webhooks/endpoints/${id}`),
    api("GET", `/v1/webhooks/endpoints/${id}/deliveries?limit=100${filter ? `&status=${filter}` : ""}`),
  ]);
  const admin = isAdmin(me);
  const again = () => webhookEndpoint(me, id, filter);
  const status = h("div", { id: "endpoint-status", role: "status" });
  const act = (label, fn) => h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      await fn();
    } catch (err) {
      status.replaceChildren(h("div", { class: "alert" }, err.problem?.title || err.message, err.problem?.detail ? h("div", {}, err.problem.detail) : null));
    }
  } }, label);

  const detail = h("div", { id: "delivery-detail" });
  const rows = log.items.map((d) => h("tr", { "data-delivery": d.id },
    h("td", {}, when(d.created_at)), h("td", {}, d.event_type), h("td", {}, h("code", {}, d.message_id)),
    h("td", {}, d.status), h("td", { class: "num" }, d.attempts), h("td", {}, d.last_status ?? d.last_error ?? ""),
    h("td", {}, d.status === "pending" ? when(d.next_attempt_at) : ""),
    h("td", {},
      act(`Attempts`, async () => {
        detail.replaceChildren(attemptsTable(await api("GET", `/v1/webhooks/deliveries/${d.id}`)));
      }),
      admin ? " " : null,
      admin ? act("Replay", async () => {
        await api("POST", `/v1/webhooks/deliveries/${d.id}/replay`, {});
        toast(`Replaying ${d.message_id}`);
        await again();
      }) : null)));

  const controls = admin ? h("div", { class: "stack" },
    h("p", {},
      act("Send a test", async () => {
        await api("POST", `/v1/webhooks/endpoints/${id}/test`, {});
        toast("Test queued");
        await again();
      }), " ",
      act("Show the secret", async () => {
        const s = await api("GET", `/v1/webhooks/endpoints/${id}/secret`);
        status.replaceChildren(secretBox("The signing secret:", s.secret));
      }), " ",
      act(e.disabled ? "Enable" : "Disable", async () => {
        await api("PUT", `/v1/webhooks/endpoints/${id}`, { url: e.url, description: e.description, event_types: e.event_types, disabled: !e.disabled });
        toast(e.disabled ? "Endpoint enabled" : "Endpoint disabled");
        await again();
      }), " ",
      act("Delete", async () => {
        if (!confirm(`Delete the endpoint ${e.url} and its log?`)) return;
        await api("DELETE", `/v1/webhooks/endpoints/${id}`);
        toast("Endpoint deleted");
        location.hash = "#/webhooks";
      })),
    rotateForm(id, status, again),
    recoverForm(id, status, again)) : null;

  const filters = h("p", {}, "Show: ", ["", "pending", "delivered", "dead"].map((f) =>
    h("button", { type: "button", class: f === filter ? "" : "secondary", "aria-pressed": String(f === filter),
      onclick: () => webhookEndpoint(me, id, f) }, f || "all")));

  mount(`Webhook · ${e.url}`,
    h("p", {}, h("a", { href: "#/webhooks" }, "All endpoints")),
    h("dl", {},
      h("dt", {}, "Events"), h("dd", {}, events(e)),
      h("dt", {}, "State"), h("dd", { id: "endpoint-state" }, e.disabled ? "disabled" : "enabled"),
      h("dt", {}, "Deliveries"), h("dd", {}, `${e.deliveries.delivered} delivered, ${e.deliveries.pending} pending, ${e.deliveries.dead} dead`),
      e.previous_secret_expires_at ? [h("dt", {}, "Previous secret"), h("dd", {}, `still signs until ${when(e.previous_secret_expires_at)}`)] : null),
    controls, status,
    h("h2", {}, "Delivery log"), filters,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "deliveries" },
          h("caption", {}, "Deliveries, newest first"),
          h("thead", {}, h("tr", {}, ["Queued", "Event", "webhook-id", "Status", "Attempts", "Last answer", "Next attempt", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "Nothing delivered yet."),
    detail);
}

function rotateForm(id, status, again) {
  const form = h("form", { class: "stack", "aria-label": "Rotate the secret" },
    field("Old secret keeps signing for (hours)", { name: "overlap_hours", type: "number", min: 0, max: 168, value: 24, required: true }),
    h("button", { type: "submit" }, "Rotate the secret"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    try {
      const s = await api("POST", `/v1/webhooks/endpoints/${id}/secret/rotate`, { overlap_hours: Number(form.elements.overlap_hours.value) });
      await again();
      document.getElementById("endpoint-status").replaceChildren(secretBox("The new signing secret:", s.secret));
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

function recoverForm(id, status, again) {
  const form = h("form", { class: "stack", "aria-label": "Replay dead deliveries" },
    field("Replay every dead delivery since", { name: "since", type: "date", required: true }),
    h("button", { type: "submit" }, "Replay dead deliveries"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    try {
      const r = await api("POST", `/v1/webhooks/endpoints/${id}/recover`, { since: new Date(form.elements.since.value).toISOString() });
      toast(`${r.replayed} replayed`);
      await again();
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}
