// Dual control (owners, admins, accountants): the organization's setting, the requests on
// money waiting for a second person (approve, or reject with a reason; the person who asked
// can only withdraw), what was decided, and the controls report for auditors (CSV).

import { api, session } from "../api.js";
import { clearProblem, download, field, h, mount, showProblem, toast } from "../dom.js";

/** Whether an answer is a request waiting for a second person (`202` under dual control). */
export function awaitingApproval(answer) {
  return Boolean(answer && "requested_by" in answer && "expires_at" in answer && answer.status === "pending");
}

const when = (t) => (t ? new Date(t).toLocaleString("en-US") : "");

export async function approvals() {
  const [controls, open, all, members] = await Promise.all([
    api("GET", "/v1/payments/controls"),
    api("GET", "/v1/payments/approvals?status=pending&limit=100"),
    api("GET", "/v1/payments/approvals?status=all&limit=50"),
    // Names for the people who asked and decided (ids when the list is not readable).
    api("GET", "/v1/org/users?limit=100").catch(() => ({ items: [] })),
  ]);
  const me = session.get()?.me?.user;
  const names = new Map(members.items.map((m) => [m.id, m.name || m.email]));
  const who = (id) => (id ? names.get(id) || id.slice(0, 8) : "");
  const canSet = ["owner", "admin"].includes(me?.role);

  const setting = h("form", { class: "grid", "aria-label": "Dual control" },
    h("p", {}, controls.dual_control
      ? "On: ledger entries by hand, payouts recorded by hand and new payout terms wait for a second person's approval."
      : "Off: actions on money take effect at once. Turn it on so that each needs a second person (SOX separation of duties)."),
    canSet ? h("button", { type: "submit" }, controls.dual_control ? "Ask to turn dual control off" : "Turn dual control on") : null);
  setting.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(setting);
    try {
      const answer = await api("PUT", "/v1/payments/controls", { dual_control: !controls.dual_control });
      toast(awaitingApproval(answer) ? "Turning dual control off waits for a second owner or admin" : "Dual control is on");
      await approvals();
    } catch (err) {
      showProblem(setting, err);
    }
  });

  const decide = (a) => {
    const mine = a.requested_by === me?.id;
    const form = h("form", { class: "inline", "aria-label": `Decide: ${a.summary}` },
      mine ? null : h("button", { type: "button", class: "approve" }, "Approve"),
      field("Reason", { name: "reason", maxlength: 500, required: !mine }),
      h("button", { type: "submit" }, mine ? "Withdraw" : "Reject"));
    form.querySelector(".approve")?.addEventListener("click", async () => {
      clearProblem(form);
      try {
        await api("POST", `/v1/payments/approvals/${a.id}/approve`, {});
        toast(`Approved and carried out: ${a.summary}`);
        await approvals();
      } catch (err) {
        showProblem(form, err);
      }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearProblem(form);
      const reason = new FormData(form).get("reason").trim();
      try {
        const done = await api("POST", `/v1/payments/approvals/${a.id}/reject`, reason ? { reason } : {});
        toast(done.status === "withdrawn" ? `Withdrawn: ${a.summary}` : `Rejected: ${a.summary}`);
        await approvals();
      } catch (err) {
        showProblem(form, err);
      }
    });
    return form;
  };

  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  const report = h("form", { class: "grid", "aria-label": "Controls report" },
    field("From", { name: "from", type: "date", required: true, value: monthAgo }),
    field("To", { name: "to", type: "date", required: true, value: today }),
    h("button", { type: "submit" }, "Download the controls report (CSV)"));
  report.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(report);
    const d = new FormData(report);
    try {
      const q = new URLSearchParams({ from: d.get("from"), to: d.get("to") });
      download(`controls-${d.get("from")}-${d.get("to")}.csv`, await api("GET", `/v1/payments/approvals/report?${q}`, undefined, { blob: true }));
      toast("Controls report downloaded");
    } catch (err) {
      showProblem(report, err);
    }
  });

  mount("Approvals",
    h("h2", {}, "Dual control"), setting,
    h("h2", {}, "Waiting for a second person"),
    open.items.length === 0 ? h("p", { class: "muted", id: "no-open" }, "Nothing is waiting.") :
      h("div", { class: "table-wrap" }, h("table", { id: "open-approvals" },
        h("caption", {}, "Requests on money, newest first; the person who asked cannot approve"),
        h("thead", {}, h("tr", {}, ["Asked", "By", "Request", "Decision"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, open.items.map((a) => h("tr", {},
          h("td", {}, when(a.requested_at)), h("td", {}, who(a.requested_by)),
          h("th", { scope: "row" }, a.summary), h("td", {}, decide(a))))))),
    h("h2", {}, "History"),
    h("div", { class: "table-wrap" }, h("table", { id: "approval-history" },
      h("caption", {}, "Every request, newest first"),
      h("thead", {}, h("tr", {}, ["Asked", "By", "Request", "Status", "Decided by", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, all.items.map((a) => h("tr", {},
        h("td", {}, when(a.requested_at)), h("td", {}, who(a.requested_by)), h("th", { scope: "row" }, a.summary),
        h("td", {}, a.status), h("td", {}, who(a.decided_by)), h("td", {}, a.reason || "")))))),
    h("h2", {}, "Controls report"), report);
}
