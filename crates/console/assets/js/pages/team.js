// The organization's people and integrations: members, invitations, API keys (the secret
// is shown once, when it is made).

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

export async function team() {
  const [users, invitations, keys] = await Promise.all([
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

  const secret = h("div", { id: "new-key", role: "status" });
  const newKey = h("form", { class: "grid", "aria-label": "Create an API key" },
    field("Name", { name: "name", required: true, placeholder: "TMS integration" }),
    field("Scopes (comma-separated)", { name: "scopes", required: true, value: "loads:read" }),
    h("button", { type: "submit" }, "Create key"));
  newKey.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(newKey);
    try {
      const d = Object.fromEntries(new FormData(newKey));
      const created = await api("POST", "/v1/org/api-keys", { name: d.name, scopes: d.scopes.split(",").map((s) => s.trim()).filter(Boolean) });
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
    table("Members of your organization", ["Name", "Email", "Role", "Active", "MFA"], (users.items || []).map((u) =>
      h("tr", {}, h("td", {}, u.name), h("td", {}, u.email), h("td", {}, u.role), h("td", {}, u.active ? "yes" : "no"), h("td", {}, u.mfa_enabled ? "on" : "off")))),
    h("h2", {}, "Invitations"),
    invite,
    (invitations.items || []).length
      ? table("Invitations", ["Email", "Role", "Status", "Expires"], invitations.items.map((i) =>
          h("tr", {}, h("td", {}, i.email), h("td", {}, i.role), h("td", {}, i.status), h("td", {}, day(i.expires_at)))))
      : h("p", { class: "muted" }, "No invitations."),
    h("h2", {}, "API keys"),
    newKey, secret,
    (keys.items || []).length
      ? table("API keys", ["Name", "Prefix", "Scopes", "Created", "Last used", "Status"], keys.items.map((k) =>
          h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.scopes.join(", ")),
            h("td", {}, day(k.created_at)), h("td", {}, day(k.last_used_at)),
            h("td", {}, k.revoked ? "revoked" : h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${k.name}`, onclick: async () => {
              await api("DELETE", `/v1/org/api-keys/${k.id}`);
              toast(`Revoked ${k.name}`);
              await team();
            } }, "Revoke")))))
      : h("p", { class: "muted" }, "No API keys."));
}
