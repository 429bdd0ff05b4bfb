// The organization's audit trail (owners and admins): every security-relevant action, who
// did it, from where and how it ended, newest first, with its place in the organization's
// hash chain; and the chain's check, run each time the page opens: intact, or each break
// (a record changed, missing, out of place, the end cut off, or an anchor no longer met);
// and the access controls report of a period, downloaded as CSV.

import { api } from "../api.js";
import { clearProblem, download, field, h, mount, showProblem, toast } from "../dom.js";

const when = (t) => new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit" });

const BREAKS = {
  altered: "changed after it was written",
  missing: "records before it are missing",
  unlinked: "does not follow the record before it",
  truncated: "the newest records are gone",
  anchor_mismatch: "no longer matches an anchor taken earlier",
  head_missing: "the chain's head is gone",
};

function verdict(report) {
  if (report.intact) {
    return h("div", { class: "alert ok", id: "audit-verdict", role: "status" },
      h("strong", {}, "Chain intact. "),
      `${report.records} records, each hash checked; ${report.anchors} anchor${report.anchors === 1 ? "" : "s"} met.`);
  }
  return h("div", { class: "alert error", id: "audit-verdict", role: "alert" },
    h("strong", {}, "The audit chain is broken. "),
    "Someone changed the trail outside LaneRunner:",
    h("ul", {}, report.problems.map((p) => h("li", {}, `#${p.seq}: ${BREAKS[p.break] || p.break}`))));
}

function row(r) {
  return h("tr", {},
    h("td", { class: "num" }, r.chain_seq == null ? "—" : String(r.chain_seq)),
    h("td", {}, when(r.occurred_at)),
    h("td", {}, r.action.replaceAll("_", " ")),
    h("td", {}, r.outcome),
    h("td", {}, r.client_addr),
    h("td", {}, h("code", { title: r.hash || "" }, (r.hash || "").slice(0, 12))));
}

/** The access controls report for a period (CSV): the form that downloads it. */
function accessReport() {
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  const form = h("form", { class: "grid", "aria-label": "Access controls report" },
    field("From", { name: "from", type: "date", required: true, value: monthAgo }),
    field("To", { name: "to", type: "date", required: true, value: today }),
    h("button", { type: "submit" }, "Download the access report (CSV)"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = new FormData(form);
    try {
      const q = new URLSearchParams({ from: d.get("from"), to: d.get("to") });
      download(`access-${d.get("from")}-${d.get("to")}.csv`, await api("GET", `/v1/org/audit-events/access-report?${q}`, undefined, { blob: true }));
      toast("Access report downloaded");
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

export async function audit() {
  const [report, page] = await Promise.all([
    api("GET", "/v1/org/audit-events/verify"),
    api("GET", "/v1/org/audit-events?limit=200"),
  ]);
  // The API pages oldest first; the newest matter most here.
  const records = [...page.items].reverse();
  mount("Audit trail",
    verdict(report),
    h("p", { class: "muted" }, "Each record carries the SHA-256 of the one before it, so none can be changed, removed or moved without breaking the chain; its head is written down every hour where the database cannot change it."),
    records.length === 0 ? h("p", { class: "muted" }, "Nothing recorded yet.") :
      h("div", { class: "table-wrap" }, h("table", { id: "audit-events" },
        h("caption", {}, page.next_cursor ? "The first 200 records, newest first" : "Every record, newest first"),
        h("thead", {}, h("tr", {}, ["#", "When", "Action", "Outcome", "From", "Hash"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, records.map(row)))),
    h("h2", {}, "Access controls report"),
    h("p", { class: "muted" }, "Every change to who may do what in the period — accounts, roles, invitations, API keys, second factors, passwords, the MFA rule and the allowlist, erasures — with who made it, for an access review. The chain is checked first."),
    accessReport());
}
