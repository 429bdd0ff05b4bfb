// A load's paperwork, for its broker and its carrier: the checklist before invoicing, the
// documents (generated rate confirmation and bill of lading, uploads, signed versions),
// signing the rate confirmation over its SHA-256, attaching proof of delivery from a phone,
// checking a copy someone sent. Also the list of your loads' paperwork and the letterhead
// (owners and admins) printed on the documents your organization issues.

import { api } from "../api.js";
import { clearProblem, download, field, h, money, mount, showProblem, toast } from "../dom.js";

const KINDS = {
  rate_confirmation: "Rate confirmation",
  bill_of_lading: "Bill of lading",
  proof_of_delivery: "Proof of delivery",
  lumper_receipt: "Lumper receipt",
  insurance_certificate: "Certificate of insurance",
  invoice: "Invoice",
  other: "Other",
};
const UPLOADABLE = ["proof_of_delivery", "bill_of_lading", "lumper_receipt", "insurance_certificate", "other"];
const when = (t) => new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" });
const ACCEPT = "application/pdf,image/jpeg,image/png,image/heic,image/heif,image/webp,image/tiff";

/** Opens a document's file in a new tab (the API needs the session, so it is fetched). */
async function open(doc) {
  const blob = await api("GET", `/v1/documents/${doc.id}/content`, undefined, { blob: true });
  download(doc.name, blob, { target: "_blank", rel: "noopener" });
}

/** A problem on a file input belongs to that input. */
function fileProblem(form, err, name = "file") {
  if (err.problem && !err.problem.errors) err.problem.errors = [{ field: name, message: err.problem.detail || err.problem.title }];
  showProblem(form, err);
}

export async function paperwork(me) {
  const page = await api("GET", "/v1/documents/loads?limit=100");
  const rows = (page.items || []).map((l) => h("tr", { "data-load": l.load_id },
    h("td", {}, h("a", { href: `#/load/${l.load_id}/documents` }, l.reference)),
    h("td", {}, h("a", { href: `#/load/${l.load_id}/tracking` }, "Track")),
    h("td", {}, l.party === "broker" ? "Broker" : "Carrier"),
    h("td", {}, l.status.replaceAll("_", " ")),
    h("td", { class: "num" }, money(l.rate_cents)),
    h("td", { class: "num" }, String(l.documents)),
    h("td", {}, l.complete ? h("span", { class: "ok" }, "Complete") : `Missing: ${l.missing.join("; ")}`)));
  const admin = ["owner", "admin"].includes(me.user.role);
  mount("Paperwork",
    h("p", { class: "muted" }, "Every booked load's rate confirmation, bill of lading and proof of delivery, and what is still missing before it can be invoiced."),
    admin ? h("p", {}, h("a", { href: "#/paperwork/letterhead" }, "Letterhead and terms on your documents")) : null,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "paperwork" },
          h("caption", {}, "Booked loads, newest first"),
          h("thead", {}, h("tr", {}, ["Load", "Truck", "Your side", "Status", "Rate", "Documents", "Checklist"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No booked loads yet. A load's paperwork starts when it is booked."));
}

function signForm(doc, done) {
  const form = h("form", { class: "stack", "aria-label": "Sign the rate confirmation" },
    h("p", {}, "You are signing the rate confirmation whose SHA-256 is ", h("code", { class: "hash" }, doc.sha256),
      ". Open it and read it first; a copy that differs in any way has a different hash."),
    field("Your full name", { name: "name", required: true, autocomplete: "name", maxlength: 120 }),
    field("Title (optional)", { name: "title", maxlength: 80 }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "consent" }),
      " I agree to sign this document electronically, and adopt the name above as my signature."),
    h("button", { type: "submit" }, "Sign"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const f = form.elements;
    try {
      await api("POST", `/v1/documents/${doc.id}/signatures`, {
        name: f.name.value, title: f.title.value || null, sha256: doc.sha256, consent: f.consent.checked,
      });
      toast("Signed");
      await done();
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

export async function loadDocuments(me, id) {
  const p = await api("GET", `/v1/loads/${id}/documents`);
  const refresh = () => loadDocuments(me, id);
  const area = h("div", { id: "doc-action" });

  const checklist = h("section", { "aria-label": "Checklist" },
    h("h2", {}, p.checklist.complete ? "Checklist: complete, ready to invoice" : "Checklist"),
    h("ul", { class: "checklist", id: "checklist" }, p.checklist.items.map((i) =>
      h("li", { class: i.done ? "done" : "todo", "data-item": i.key },
        h("span", { "aria-hidden": "true" }, i.done ? "✓ " : "○ "),
        h("span", { class: "sr-only" }, i.done ? "Done: " : "Missing: "),
        i.label, i.done ? null : h("div", { class: "muted" }, i.hint)))));

  const mine = p.party;
  const signedBy = (d) => d.signatures.map((s) => `${s.signer_name} for the ${s.party}, ${when(s.signed_at)} from ${s.ip}`);
  const rows = p.documents.map((d) => {
    const canSign = d.kind === "rate_confirmation" && d.origin === "generated" && !d.superseded
      && !d.signatures.some((s) => s.party === mine) && me.user.role !== "viewer";
    const by = d.origin === "generated" ? "LaneRunner" : d.created_by_org === p.broker_org_id ? "Broker" : "Carrier";
    return h("tr", { "data-document": d.id },
      h("td", {}, KINDS[d.kind] || d.kind, d.origin === "signed" ? " (signed)" : "", d.superseded ? h("span", { class: "muted" }, " (replaced)") : null),
      h("td", {}, d.name, d.note ? h("div", { class: "muted" }, d.note) : null),
      h("td", {}, by),
      h("td", {}, when(d.created_at)),
      h("td", {}, d.signatures.length ? h("ul", {}, signedBy(d).map((t) => h("li", {}, t))) : "—"),
      h("td", {},
        h("button", { type: "button", class: "secondary", "aria-label": `Open ${d.name}`, onclick: () => open(d).catch((err) => toast(err.message)) }, "Open"),
        canSign ? [" ", h("button", { type: "button", "aria-label": `Sign ${d.name}`, onclick: () => {
          area.replaceChildren(signForm(d, refresh));
          area.querySelector("input[name=name]").focus();
        } }, "Sign")] : null,
        " ",
        h("button", { type: "button", class: "secondary", "aria-label": `Check a copy of ${d.name}`, onclick: () => {
          area.replaceChildren(verifyForm(d));
        } }, "Check a copy")));
  });

  const upload = h("form", { class: "stack", "aria-label": "Attach a document" },
    h("h2", {}, "Attach a document"),
    h("label", {}, "Kind", h("select", { name: "kind" }, UPLOADABLE.map((k) => h("option", { value: k }, KINDS[k])))),
    h("label", {}, "File (PDF or photo)", h("input", { name: "file", type: "file", required: true, accept: ACCEPT, capture: "environment" })),
    field("Note (optional)", { name: "note", maxlength: 500 }),
    h("button", { type: "submit" }, "Attach"));
  upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(upload);
    const f = upload.elements;
    const file = f.file.files[0];
    if (!file) return;
    const q = new URLSearchParams({ kind: f.kind.value, name: file.name });
    if (f.note.value.trim()) q.set("note", f.note.value.trim());
    try {
      await api("POST", `/v1/loads/${id}/documents?${q}`, file, { contentType: file.type || "application/octet-stream" });
      toast(`Attached ${file.name}`);
      await refresh();
    } catch (err) {
      fileProblem(upload, err);
    }
  });

  const regenerate = mine === "broker" && me.user.role !== "viewer"
    ? h("p", {}, "Changed your letterhead? ",
        h("button", { type: "button", class: "secondary", onclick: async () => {
          try {
            await api("POST", `/v1/loads/${id}/documents/generate`, { kind: "bill_of_lading" });
            toast("Bill of lading generated again");
            await refresh();
          } catch (err) { toast(err.problem?.detail || err.message); }
        } }, "Generate the bill of lading again"), " ",
        h("button", { type: "button", class: "secondary", onclick: async () => {
          try {
            await api("POST", `/v1/loads/${id}/documents/generate`, { kind: "rate_confirmation" });
            toast("Rate confirmation generated again");
            await refresh();
          } catch (err) { toast(err.problem?.detail || err.message); }
        } }, "Generate the rate confirmation again"))
    : null;

  mount(`Paperwork · ${p.reference}`,
    h("p", { class: "muted" }, `${mine === "broker" ? "You are the broker" : "You are the carrier"} · booked ${when(p.booked_at)} at ${money(p.rate_cents)} · ${p.status.replaceAll("_", " ")}`),
    p.generating ? h("p", { class: "alert", role: "status" }, "The rate confirmation and bill of lading are being prepared.") : null,
    checklist,
    h("section", { "aria-label": "Documents" },
      h("h2", {}, "Documents"),
      rows.length
        ? h("div", { class: "table-wrap" }, h("table", { id: "documents" },
            h("caption", {}, "This load's documents, oldest first"),
            h("thead", {}, h("tr", {}, ["Document", "File", "Added by", "When", "Signatures", "Action"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows)))
        : h("p", { class: "muted" }, "No documents yet.")),
    area,
    me.user.role !== "viewer" ? upload : null,
    regenerate);
  if (p.generating) setTimeout(() => { if (location.hash === `#/load/${id}/documents`) refresh(); }, 1500);
}

function verifyForm(doc) {
  const result = h("div", { role: "status" });
  const form = h("form", { class: "stack", "aria-label": `Check a copy of ${doc.name}` },
    h("p", {}, "Choose a copy of this document that someone sent you: it is checked against the SHA-256 LaneRunner recorded."),
    h("label", {}, "The copy to check", h("input", { name: "file", type: "file", required: true })),
    h("button", { type: "submit" }, "Check"), result);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const file = form.elements.file.files[0];
    if (!file) return;
    try {
      const v = await api("POST", `/v1/documents/${doc.id}/verify`, file, { contentType: "application/octet-stream" });
      result.replaceChildren(v.intact
        ? h("div", { class: "alert ok" }, "Intact: this copy is exactly the document LaneRunner recorded.")
        : h("div", { class: "alert" }, "Altered: this copy differs from the document LaneRunner recorded.",
            h("div", {}, "Recorded SHA-256 ", h("code", { class: "hash" }, v.recorded_sha256)),
            h("div", {}, "This copy's SHA-256 ", h("code", { class: "hash" }, v.sha256))));
    } catch (err) {
      fileProblem(form, err);
    }
  });
  return form;
}

export async function letterhead(me) {
  const t = await api("GET", "/v1/documents/template");
  const form = h("form", { class: "stack", "aria-label": "Letterhead and terms" },
    field("Legal name", { name: "legal_name", value: t.legal_name || "", maxlength: 200 }),
    h("label", {}, "Address", h("textarea", { name: "address", rows: 3, maxlength: 400 }, t.address || "")),
    field("Phone", { name: "phone", value: t.phone || "", maxlength: 40, autocomplete: "tel" }),
    field("Email", { name: "email", type: "email", value: t.email || "", maxlength: 200 }),
    h("label", {}, "Terms on every rate confirmation", h("textarea", { name: "rate_confirmation_terms", rows: 5 }, t.rate_confirmation_terms || "")),
    h("label", {}, "Terms on every invoice", h("textarea", { name: "invoice_terms", rows: 4 }, t.invoice_terms || "")),
    h("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const f = form.elements;
    const body = {};
    for (const k of ["legal_name", "address", "phone", "email", "rate_confirmation_terms", "invoice_terms"]) {
      if (f[k].value.trim()) body[k] = f[k].value;
    }
    try {
      await api("PUT", "/v1/documents/template", body);
      toast("Letterhead saved");
    } catch (err) {
      showProblem(form, err);
    }
  });

  const preview = h("div", { id: "logo-preview" });
  if (t.has_logo) {
    api("GET", "/v1/documents/template/logo", undefined, { blob: true })
      .then((b) => preview.replaceChildren(h("img", { src: URL.createObjectURL(b), alt: "Your logo", class: "logo" })))
      .catch(() => {});
  }
  const logo = h("form", { class: "stack", "aria-label": "Logo" },
    h("h2", {}, "Logo"), preview,
    h("label", {}, "Logo (PNG or JPEG, at most 256 KB)", h("input", { name: "file", type: "file", accept: "image/png,image/jpeg", required: true })),
    h("button", { type: "submit" }, "Upload the logo"),
    t.has_logo ? h("button", { type: "button", class: "secondary", onclick: async () => {
      await api("DELETE", "/v1/documents/template/logo");
      toast("Logo removed");
      await letterhead(me);
    } }, "Remove the logo") : null);
  logo.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(logo);
    const file = logo.elements.file.files[0];
    if (!file) return;
    try {
      await api("PUT", "/v1/documents/template/logo", file, { contentType: file.type || "application/octet-stream" });
      toast("Logo saved");
      await letterhead(me);
    } catch (err) {
      fileProblem(logo, err);
    }
  });

  mount("Letterhead and terms",
    h("p", { class: "muted" }, "Printed on the rate confirmations, bills of lading and invoices your organization issues from now on."),
    form, logo);
}
