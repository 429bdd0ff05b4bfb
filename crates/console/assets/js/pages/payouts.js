// Payouts (owners, admins, accountants). A carrier sees what each completed load pays and
// chooses how: standard terms, or quick pay now for a fee; it sets up its payout account on
// the payment processor's own pages (bank details never reach LaneRunner). A broker sets
// the terms it offers and records payouts it makes by check or wire.

import { api } from "../api.js";
import { awaitingApproval } from "./approvals.js";
import { clearProblem, field, h, money, mount, showProblem, toast } from "../dom.js";

const day = (t) => new Date(t).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric" });
const STATUS = {
  offered: "Awaiting the carrier's choice", scheduled: "Scheduled", sending: "Sending",
  transferred: "On its way to the bank", paid: "Paid",
};
const ACCOUNT = {
  none: "Not set up", onboarding: "Set-up not finished", ready: "Ready: payouts go to your bank",
  restricted: "On hold: the processor needs more details",
};

function termsForm(t) {
  const form = h("form", { class: "grid", "aria-label": "Payout terms" },
    field("Standard terms (days after the paperwork is complete)", { name: "days", type: "number", min: "0", max: "120", required: true, value: String(t.standard_days) }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "quick", checked: t.quick_pay_fee_bps != null }), "Offer quick pay"),
    field("Quick pay fee (%)", { name: "fee", type: "number", min: "0", max: "10", step: "0.01", value: ((t.quick_pay_fee_bps ?? 299) / 100).toFixed(2) }),
    h("button", { type: "submit" }, "Save the terms"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = new FormData(form);
    try {
      const answer = await api("PUT", "/v1/payments/payout-terms", {
        standard_days: Number(d.get("days")),
        quick_pay_fee_bps: d.get("quick") ? Math.round(Number(d.get("fee")) * 100) : null,
      });
      toast(awaitingApproval(answer) ? "The new terms wait for a second person's approval (Approvals)"
        : "Payout terms saved; they apply to loads completed from now on");
    } catch (err) {
      for (const x of err.problem?.errors || []) x.field = x.field.replace("standard_days", "days").replace("quick_pay_fee_bps", "fee");
      showProblem(form, err);
    }
  });
  return form;
}

function accountSection(a) {
  const status = h("p", { id: "payout-account" }, "Payout account: ", h("strong", {}, ACCOUNT[a.status] || a.status),
    a.currently_due.length ? h("span", { class: "muted" }, ` (still needed: ${a.currently_due.join(", ")})`) : null);
  if (a.processor === "manual") {
    return [status, h("p", { class: "muted" }, "Brokers pay you by check or wire and record it here.")];
  }
  if (a.status === "ready") return [status];
  const form = h("form", { "aria-label": "Set up payouts" }, h("button", { type: "submit" }, a.status === "none" ? "Set up payouts" : "Finish setting up payouts"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const back = `${location.origin}${location.pathname}#/payouts`;
    try {
      const link = await api("POST", "/v1/payments/payout-account/onboarding", { return_url: back, refresh_url: back });
      location.href = link.url;
    } catch (err) {
      showProblem(form, err);
    }
  });
  return [status, h("p", { class: "muted" }, "You give your bank details to the payment processor on its own pages; LaneRunner never sees them."), form];
}

function paidForm(p, done) {
  const form = h("form", { class: "grid", "aria-label": `Record the payout for ${p.reference}` },
    field("Check or wire reference", { name: "reference", required: true, maxlength: 100 }),
    h("button", { type: "submit" }, "Record it paid"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const answer = await api("POST", `/v1/payments/payouts/${p.id}/paid`, { reference: new FormData(form).get("reference") });
      toast(awaitingApproval(answer) ? `Payout for ${p.reference} waits for a second person's approval (Approvals)`
        : `Payout for ${p.reference} recorded`);
      await done();
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

function offerButton(p, o, done) {
  const label = o.option === "quick_pay"
    ? `Quick pay: ${money(o.net_cents)} now (fee ${money(o.fee_cents)})`
    : `Standard: ${money(o.net_cents)} on ${day(o.sent_on)}`;
  return h("button", { type: "button", class: o.option === "quick_pay" ? "" : "secondary", "aria-label": `${label} for ${p.reference}`, onclick: async (e) => {
    e.target.disabled = true;
    try {
      await api("POST", `/v1/payments/payouts/${p.id}/choice`, { option: o.option });
      toast(`${o.option === "quick_pay" ? "Quick pay" : "Standard terms"} chosen for ${p.reference}`);
      await done();
    } catch (err) {
      e.target.disabled = false;
      toast(err.problem?.detail || err.message);
    }
  } }, label);
}

export async function payouts(me) {
  const carrier = me.organization.kind === "carrier";
  const [page, account, terms] = await Promise.all([
    api("GET", "/v1/payments/payouts?limit=100"),
    carrier ? api("GET", "/v1/payments/payout-account") : null,
    carrier ? null : api("GET", "/v1/payments/payout-terms"),
  ]);
  const area = h("div", { id: "payout-action" });
  const again = () => payouts(me);
  const rows = page.items.map((p) => h("tr", { "data-payout": p.id },
    h("th", { scope: "row" }, p.reference),
    h("td", {}, p.side === "payer" ? "You pay" : "You're paid"),
    h("td", { class: "num" }, money(p.amount_cents)),
    h("td", { class: "num" }, money(p.fee_cents)),
    h("td", { class: "num" }, money(p.net_cents)),
    h("td", {}, STATUS[p.status] || p.status,
      p.choice ? h("div", { class: "muted" }, p.choice === "quick_pay" ? "Quick pay" : "Standard terms") : null,
      p.last_failure ? h("div", { class: "muted" }, `Last attempt: ${p.last_failure}`) : null),
    h("td", {}, p.paid_at ? `Paid ${day(p.paid_at)}` : `Due ${day(p.due_at)}`,
      p.manual_reference ? h("div", { class: "muted" }, p.manual_reference) : null),
    h("td", {}, p.side === "payee" && p.offers.length
      ? h("div", { class: "actions" }, p.offers.map((o) => offerButton(p, o, again)))
      : p.side === "payer" && ["offered", "scheduled"].includes(p.status)
        ? h("button", { type: "button", class: "secondary", "aria-label": `Record the payout for ${p.reference}`, onclick: () => {
            area.replaceChildren(paidForm(p, again));
            area.querySelector("input").focus();
          } }, "Record paid")
        : "—")));

  mount("Payouts",
    h("p", { class: "muted" }, carrier
      ? "Each load pays once its paperwork is complete: on the broker's standard terms, or now by quick pay for a fee."
      : "What you owe carriers for loads whose paperwork is complete, on the terms you offer."),
    ...(carrier ? accountSection(account) : [h("h2", {}, "Terms you offer"), termsForm(terms)]),
    h("h2", {}, carrier ? "What you are paid" : "What you pay carriers"),
    area,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "payouts" },
          h("caption", {}, "Newest first"),
          h("thead", {}, h("tr", {}, ["Load", "Side", "Rate", "Fee", "Net", "Status", "When", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No payouts yet: a load's payout appears when its paperwork is complete."));
}
