// The organization's people and integrations: members (their roles, switching them off),
// invitations, whether everyone must use two-step sign-in, the networks requests may come
// from (the organization's IP allowlist, and each API key's), and API keys (the secret is
// shown once, when it is made). Changes are the admins'; the API refuses anyone else.

const networks = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

import { api } from "../api.js";
import { clearProblem, field, h, mount, select, showProblem, toast } from "../dom.js";

const ROLES = [["dispatcher", "Dispatcher"], ["accountant", "Accountant"], ["driver", "Driver"], ["viewer", "Viewer"], ["admin", "Admin"]];
const day = (t) => (t ? new Date(t).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric" }) : "—");

function table(caption, heads, rows) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

/** Runs a change, then shows the page again; a refusal is said in the toast. */
async function change(what, done) {
  try {
    await what();
    toast(done);
    await team();
  } catch (err) {
    toast(err.problem?.detail || err.problem?.title || err.message);
  }
}

function memberRow(u) {
  // An erased member stays in the list (their id is on what they did), with nothing to change.
  if (u.erased_at) {
    return h("tr", {}, h("td", {}, u.name), h("td", {}, "—"), h("td", {}, u.role),
      h("td", {}, `erased ${day(u.erased_at)}`), h("td", {}, "—"));
  }
  const role = h("select", { "aria-label": `Role of ${u.name}`, onchange: (e) =>
    change(() => api("PATCH", `/v1/org/users/${u.id}`, { role: e.target.value }), `${u.name} is now ${e.target.value}`) },
  ROLES.map(([v, text]) => h("option", { value: v, selected: v === u.role }, text)));
  const toggle = h("button", { type: "button", class: "secondary", "aria-label": `${u.active ? "Deactivate" : "Reactivate"} ${u.name}`,
    onclick: () => change(() => api("PATCH", `/v1/org/users/${u.id}`, { active: !u.active }), `${u.name} ${u.active ? "deactivated" : "reactivated"}`) },
  u.active ? "Deactivate" : "Reactivate");
  // Erasure (GDPR) is offered once someone has left: it cannot be undone.
  const erase = !u.active && h("button", { type: "button", class: "danger", "aria-label": `Erase the personal data of ${u.name}`,
    onclick: () => {
      if (!confirm(`Erase ${u.name}'s personal data for good? Their name, email, phone and addresses go; what they did stays, under "Erased member".`)) return;
      change(() => api("POST", `/v1/org/users/${u.id}/erasure`, {}), `${u.name}'s personal data erased`);
    } }, "Erase data");
  return h("tr", {}, h("td", {}, u.name), h("td", {}, u.email), h("td", {}, role),
    h("td", {}, toggle, " ", erase),
    h("td", {}, u.mfa_enabled ? "on" : "off"));
}

export async function team() {
  const [org, users, invitations, keys] = await Promise.all([
    api("GET", "/v1/org"),
    api("GET", "/v1/org/users?limit=100"),
    api("GET", "/v1/org/invitations?limit=100").catch(() => ({ items: [] })),
    api("GET", "/v1/org/api-keys?limit=100").catch(() => ({ items: [] })),
  ]);

  const invite = h("form", { class: "grid", "aria-label": "Invite a member" },
    field("Email", { name: "email", type: "email", required: true }),
    select("Role", "role", ROLES, "dispatcher"),
    h("button", { type: "submit" }, "Send invitation"));
  invite.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(invite);
    try {
      const d = Object.fromEntries(new FormData(invite));
      await api("POST", "/v1/org/invitations", { email: d.email, role: d.role });
      toast(`Invitation sent to ${d.email}`);
      await team();
    } catch (err) {
      showProblem(invite, err);
    }
  });

  const allow = h("form", { class: "grid", "aria-label": "Allowed networks" },
    h("label", {}, "Networks allowed to use LaneRunner for your organization (CIDR blocks or addresses, one per line; empty allows any)",
      h("textarea", { id: "f-ip_allowlist", name: "ip_allowlist", rows: 3, placeholder: "203.0.113.0/24" }, (org.ip_allowlist || []).join("\n"))),
    h("button", { type: "submit" }, "Save networks"));
  allow.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(allow);
    try {
      const list = networks(new FormData(allow).get("ip_allowlist") || "");
      await api("PATCH", "/v1/org", { ip_allowlist: list });
      toast(list.length ? `Requests now only from ${list.length} network(s)` : "Requests allowed from any network");
      await team();
    } catch (err) {
      showProblem(allow, err);
    }
  });

  const secret = h("div", { id: "new-key", role: "status" });
  const newKey = h("form", { class: "grid", "aria-label": "Create an API key" },
    field("Name", { name: "name", required: true, placeholder: "TMS integration" }),
    field("Scopes (comma-separated)", { name: "scopes", required: true, value: "loads:read" }),
    field("Allowed networks (optional, comma-separated)", { name: "ip_allowlist", placeholder: "198.51.100.7" }),
    h("button", { type: "submit" }, "Create key"));
  newKey.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(newKey);
    try {
      const d = Object.fromEntries(new FormData(newKey));
      const created = await api("POST", "/v1/org/api-keys", {
        name: d.name, scopes: d.scopes.split(",").map((s) => s.trim()).filter(Boolean), ip_allowlist: networks(d.ip_allowlist || ""),
      });
      await team();
      document.getElementById("new-key").replaceChildren(
        h("div", { class: "alert ok" }, h("strong", {}, `Key “${created.key.name}” created. Copy its secret now; it is not shown again:`),
          h("pre", {}, h("code", {}, created.secret))));
    } catch (err) {
      showProblem(newKey, err);
    }
  });

  mount("Team and API keys",
    h("h2", {}, "Members"),
    table("Members of your organization", ["Name", "Email", "Role", "Access", "Two-step"], (users.items || []).map(memberRow)),
    h("label", { class: "check" },
      h("input", { type: "checkbox", name: "require_mfa", checked: org.require_mfa, onchange: (e) =>
        change(() => api("PATCH", "/v1/org", { require_mfa: e.target.checked }),
          e.target.checked ? "Everyone must now use two-step sign-in" : "Two-step sign-in is now each member's choice") }),
      " Everyone must use two-step sign-in"),
    h("h2", {}, "Allowed networks"),
    allow,
    h("h2", {}, "Invitations"),
    invite,
    (invitations.items || []).length
      ? table("Invitations", ["Email", "Role", "Status", "Expires", "Action"], invitations.items.map((i) =>
          h("tr", {}, h("td", {}, i.email), h("td", {}, i.role), h("td", {}, i.status), h("td", {}, day(i.expires_at)),
            h("td", {}, i.status === "pending" ? h("button", { type: "button", class: "secondary", "aria-label": `Withdraw the invitation of ${i.email}`,
              onclick: () => change(() => api("DELETE", `/v1/org/invitations/${i.id}`), `Invitation of ${i.email} withdrawn`) }, "Withdraw") : null))))
      : h("p", { class: "muted" }, "No invitations."),
    h("h2", {}, "API keys"),
    newKey, secret,
    (keys.items || []).length
      ? table("API keys", ["Name", "Prefix", "Scopes", "Networks", "Created", "Last used", "Status"], keys.items.map((k) =>
          h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.scopes.join(", ")),
            h("td", {}, (k.ip_allowlist || []).join(", ") || "any"),
            h("td", {}, day(k.created_at)), h("td", {}, day(k.last_used_at)),
            h("td", {}, k.revoked ? "revoked" : h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${k.name}`, onclick: async () => {
              await api("DELETE", `/v1/org/api-keys/${k.id}`);
              toast(`Revoked ${k.name}`);
              await team();
            } }, "Revoke")))))
      : h("p", { class: "muted" }, "No API keys."));
}
