// The organization's files: upload (a photo or PDF, from a phone too), the list, a link to
// download or share (it works without signing in until it expires), delete. Files are
// checked by their content on the server; a refusal says why, next to the file input.

import { api } from "../api.js";
import { clearProblem, h, mount, showProblem, toast } from "../dom.js";

const size = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);
const day = (t) => new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

/** A signed link to `id` that works for `secs` seconds. */
const linkTo = (id, secs) => api("POST", `/v1/files/${id}/links`, { expires_in_secs: secs });

export async function files() {
  const page = await api("GET", "/v1/files?limit=100");
  const shared = h("div", { id: "shared", role: "status" });
  const form = h("form", { class: "stack", "aria-label": "Upload a file" },
    h("label", {}, "File (PDF or photo)", h("input", { id: "f-file", name: "file", type: "file", required: true,
      accept: "application/pdf,image/jpeg,image/png,image/heic,image/heif,image/webp,image/tiff" })),
    h("button", { type: "submit" }, "Upload"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const file = form.elements.file.files[0];
    if (!file) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const stored = await api("POST", `/v1/files?name=${encodeURIComponent(file.name)}`, file,
        { contentType: file.type || "application/octet-stream" });
      toast(`Stored ${stored.name}`);
      await files();
    } catch (err) {
      // The server names the problem (type, size); it belongs to the file input.
      if (err.problem && !err.problem.errors) err.problem.errors = [{ field: "file", message: err.problem.detail || err.problem.title }];
      showProblem(form, err);
    } finally {
      button.disabled = false;
    }
  });

  const rows = (page.items || []).map((f) => h("tr", { "data-file": f.id },
    h("td", {}, f.name), h("td", {}, f.content_type), h("td", { class: "num" }, size(f.size_bytes)), h("td", {}, day(f.created_at)),
    h("td", {},
      h("button", { type: "button", class: "secondary", "aria-label": `Download ${f.name}`, onclick: async () => {
        const l = await linkTo(f.id, 60);
        location.href = l.url;
      } }, "Download"), " ",
      h("button", { type: "button", class: "secondary", "aria-label": `Share a link to ${f.name}`, onclick: async () => {
        const l = await linkTo(f.id, 86_400);
        shared.replaceChildren(h("div", { class: "alert ok" }, h("strong", {}, `A link to ${f.name}, working for 24 hours without signing in:`),
          h("pre", {}, h("code", {}, l.url))));
      } }, "Share"), " ",
      h("button", { type: "button", class: "secondary", "aria-label": `Delete ${f.name}`, onclick: async () => {
        if (!confirm(`Delete ${f.name} for good?`)) return;
        try {
          await api("DELETE", `/v1/files/${f.id}`);
          toast(`Deleted ${f.name}`);
          await files();
        } catch (err) {
          toast(err.problem?.detail || err.message);
        }
      } }, "Delete"))));

  mount("Files",
    h("p", { class: "muted" }, "Proof of delivery, receipts, certificates: PDF documents or photos (JPEG, PNG, HEIC, WebP, TIFF). Every file is encrypted at rest."),
    form, shared,
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "files" },
          h("caption", {}, "Your organization's files, newest first"),
          h("thead", {}, h("tr", {}, ["Name", "Type", "Size", "Stored", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No files yet."));
}
