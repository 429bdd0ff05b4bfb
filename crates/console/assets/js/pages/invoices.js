// Invoices (owners, admins, accountants of a broker): bill the shipper for a load whose
// paperwork is complete, follow each invoice's payment, and record money received outside
// the processor (a check, a wire). Card and bank details are never asked for here: an
// online payment is made on the processor's own page with the invoice's client secret.

import { api, idempotencyKey } from "../api.js";
import { clearProblem, field, h, money, mount, select, showProblem, toast } from "../dom.js";

const day = (t) => new Date(t).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric" });
const STATUS = { open: "Open", partially_paid: "Partly paid", paid: "Paid", refunded: "Refunded", disputed: "Disputed" };

function paymentForm(inv, done) {
  const form = h("form", { class: "grid", "aria-label": `Record a payment on ${inv.number}` },
    field("Amount received ($)", { name: "amount", type: "number", min: "0.01", step: "0.01", required: true,
      value: ((inv.amount_cents - inv.paid_cents) / 100).toFixed(2) }),
    field("Check or wire reference", { name: "reference", required: true, maxlength: 100 }),
    h("button", { type: "submit" }, "Record the payment"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    try {
      await api("POST", `/v1/payments/invoices/${inv.id}/payments`, { amount_cents: Math.round(Number(d.amount) * 100), reference: d.reference });
      toast(`Payment recorded on ${inv.number}`);
      await done();
    } catch (err) {
      for (const x of err.problem?.errors || []) x.field = x.field.replace("amount_cents", "amount");
      showProblem(form, err);
    }
  });
  return form;
}

export async function invoices() {
  const [page, paperwork] = await Promise.all([
    api("GET", "/v1/payments/invoices?limit=100"),
    api("GET", "/v1/documents/loads?limit=100"),
  ]);
  const invoiced = new Set(page.items.map((i) => i.load_id));
  const ready = paperwork.items.filter((l) => l.party === "broker" && l.complete && !invoiced.has(l.load_id));
  const area = h("div", { id: "invoice-action" });

  // One key per form shown: a double submission issues one invoice.
  const key = idempotencyKey();
  const form = h("form", { class: "grid", "aria-label": "Issue an invoice" },
    select("Load", "load", ready.map((l) => [l.load_id, `${l.reference} · carrier rate ${money(l.rate_cents)}`]), ready[0]?.load_id),
    field("Customer", { name: "customer", required: true, maxlength: 200, autocomplete: "organization" }),
    field("Customer's billing email", { name: "email", type: "email", required: true }),
    field("Linehaul ($)", { name: "linehaul", type: "number", min: "0.01", step: "0.01", required: true }),
    field("Accessorials ($, optional)", { name: "extra", type: "number", min: "0", step: "0.01" }),
    select("Currency", "currency", [["USD", "USD"], ["CAD", "CAD"], ["MXN", "MXN"]], "USD"),
    field("Days to pay", { name: "days", type: "number", min: "0", max: "120", value: "30" }),
    h("button", { type: "submit" }, "Issue the invoice"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    const lines = [{ description: "Linehaul", amount_cents: Math.round(Number(d.linehaul) * 100) }];
    if (Number(d.extra) > 0) lines.push({ description: "Accessorials", amount_cents: Math.round(Number(d.extra) * 100) });
    try {
      const inv = await api("POST", "/v1/payments/invoices", {
        load_id: d.load, customer_name: d.customer, customer_email: d.email, currency: d.currency,
        lines, due_in_days: Number(d.days || 30),
      }, { idempotencyKey: key });
      toast(`Issued ${inv.number}`);
      await invoices();
    } catch (err) {
      for (const x of err.problem?.errors || []) {
        x.field = x.field.replace("customer_name", "customer").replace("customer_email", "email")
          .replace("due_in_days", "days").replace(/^lines.*/, "linehaul").replace("load_id", "load");
      }
      showProblem(form, err);
    }
  });

  const rows = page.items.map((i) => h("tr", { "data-invoice": i.id },
    h("th", { scope: "row" }, i.number),
    h("td", {}, i.customer_name),
    h("td", { class: "num" }, money(i.amount_cents)),
    h("td", { class: "num" }, money(i.paid_cents)),
    h("td", {}, STATUS[i.status] || i.status, i.last_failure && i.status !== "paid" ? h("div", { class: "muted" }, `Last attempt: ${i.last_failure}`) : null),
    h("td", {}, day(i.due_at)),
    h("td", {}, i.payment_id ? h("code", {}, i.payment_id) : "By hand"),
    h("td", {}, ["open", "partially_paid"].includes(i.status)
      ? h("button", { type: "button", class: "secondary", "aria-label": `Record a payment on ${i.number}`, onclick: () => {
          area.replaceChildren(paymentForm(i, invoices));
          area.querySelector("input[name=reference]").focus();
        } }, "Record a payment")
      : "—")));

  mount("Invoices",
    h("p", { class: "muted" }, "Bill the shipper once a load's paperwork is complete. Online payments are made on the payment processor's own page; card and bank details never reach LaneRunner."),
    h("h2", {}, "Issue an invoice"),
    ready.length ? form : h("p", { class: "muted", id: "nothing-to-invoice" }, "No load is ready to invoice: a load is invoiced once its checklist is complete (Paperwork)."),
    h("h2", {}, "Your invoices"),
    area,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "invoices" },
          h("caption", {}, "Newest first"),
          h("thead", {}, h("tr", {}, ["Invoice", "Customer", "Amount", "Paid", "Status", "Due", "Payment", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No invoices yet."));
}
