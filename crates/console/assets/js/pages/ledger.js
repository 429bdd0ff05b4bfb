// The ledger (owners, admins, accountants): every account's balance, the journal with each
// entry's postings, and an adjustment recorded by hand (one account debited, one credited,
// so it balances by construction; the server checks it again).

import { api, idempotencyKey } from "../api.js";
import { awaitingApproval } from "./approvals.js";
import { clearProblem, field, h, money, mount, select, showProblem, toast } from "../dom.js";

const signed = (cents) => (cents < 0 ? `−${money(-cents)}` : money(cents));

export async function ledger() {
  const [balances, journal] = await Promise.all([
    api("GET", "/v1/payments/ledger/balances"),
    api("GET", "/v1/payments/ledger/entries?limit=50"),
  ]);
  const entries = journal.items;
  // A fresh reference per form: submitting it twice records the adjustment once.
  const reference = `ADJ-${idempotencyKey().slice(0, 8).toUpperCase()}`;
  const form = h("form", { class: "grid", "aria-label": "Record an adjustment" },
    field("Debit account", { name: "debit", required: true, placeholder: "receivable:shipper:acme" }),
    field("Credit account", { name: "credit", required: true, placeholder: "revenue" }),
    field("Amount ($)", { name: "amount", type: "number", min: "0.01", step: "0.01", required: true }),
    select("Currency", "currency", [["USD", "USD"], ["CAD", "CAD"], ["MXN", "MXN"]], "USD"),
    field("Reference", { name: "reference", required: true, value: reference }),
    field("Memo", { name: "memo", maxlength: 500 }),
    h("button", { type: "submit" }, "Record"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    const cents = Math.round(Number(d.amount) * 100);
    try {
      const answer = await api("POST", "/v1/payments/ledger/entries", {
        kind: "adjustment", reference: d.reference, memo: d.memo || undefined,
        postings: [
          { account: d.debit.trim(), currency: d.currency, amount_cents: cents },
          { account: d.credit.trim(), currency: d.currency, amount_cents: -cents },
        ],
      });
      toast(awaitingApproval(answer) ? `${d.reference} waits for a second person's approval (Approvals)` : `Recorded ${d.reference}`);
      await ledger();
    } catch (err) {
      // The server names postings by line: show them against the form's fields.
      for (const x of err.problem?.errors || []) {
        x.field = x.field.replace(/^postings\[0\]\.account$/, "debit").replace(/^postings\[1\]\.account$/, "credit")
          .replace(/^postings\[\d\]\.amount_cents$/, "amount").replace(/^postings\[\d\]\.currency$/, "currency");
      }
      showProblem(form, err);
    }
  });
  mount("Ledger",
    h("h2", {}, "Balances"),
    balances.length === 0 ? h("p", { class: "muted" }, "No entries yet.") :
      h("div", { class: "table-wrap" }, h("table", { id: "balances" },
        h("caption", {}, "Debits minus credits, by account"),
        h("thead", {}, h("tr", {}, ["Account", "Currency", "Balance", "Postings"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, balances.map((b) => h("tr", {}, h("th", { scope: "row" }, b.account), h("td", {}, b.currency),
          h("td", { class: "num" }, signed(b.balance_cents)), h("td", { class: "num" }, String(b.postings))))))),
    h("h2", {}, "Record an adjustment"), form,
    h("h2", {}, "Journal"),
    entries.length === 0 ? h("p", { class: "muted" }, "No entries yet.") :
      h("div", { class: "table-wrap" }, h("table", { id: "journal" },
        h("caption", {}, "Newest first"),
        h("thead", {}, h("tr", {}, ["Recorded", "Kind", "Reference", "Account", "Debit", "Credit"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, entries.flatMap((e) => e.postings.map((p, i) => h("tr", {},
          h("td", {}, i === 0 ? new Date(e.recorded_at).toLocaleString("en-US") : ""),
          h("td", {}, i === 0 ? e.kind.replace("_", " ") : ""), h("td", {}, i === 0 ? e.reference : ""),
          h("td", {}, p.account), h("td", { class: "num" }, p.amount_cents > 0 ? money(p.amount_cents) : ""),
          h("td", { class: "num" }, p.amount_cents < 0 ? money(-p.amount_cents) : ""))))))));
}
