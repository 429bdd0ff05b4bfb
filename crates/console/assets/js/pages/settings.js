// The organization's settings that decide who may book: a carrier's operating authority
// (checked with FMCSA when configured, else recorded as self-declared), and a broker's rule
// for carriers no registry verified.

import { api } from "../api.js";
import { clearProblem, field, h, mount, showProblem, toast } from "../dom.js";

function standing(a) {
  return h("div", { class: `alert ${a.standing === "verified" ? "ok" : ""}`, id: "standing" },
    h("strong", {}, `Standing: ${a.standing}`), ` (${a.source === "fmcsa" ? "checked with FMCSA" : "self-declared"}, ${new Date(a.checked_at).toLocaleString("en-US")})`,
    a.legal_name ? h("div", {}, `Legal name on file: ${a.legal_name}`) : null,
    a.reasons.length ? h("ul", {}, a.reasons.map((r) => h("li", {}, r))) : null);
}

async function carrierSettings() {
  let current = null;
  try {
    current = await api("GET", "/v1/carriers/authority");
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const shown = h("div", {}, current ? standing(current) : h("p", { class: "muted" }, "Not declared yet: brokers that require verified carriers will not book you."));
  const form = h("form", { class: "stack", "aria-label": "Operating authority" },
    field("USDOT number", { name: "usdot_number", inputmode: "numeric", required: true, value: current?.usdot_number ?? "" }),
    field("MC number (digits)", { name: "mc_number", inputmode: "numeric", value: current?.mc_number ?? "" }),
    field("Insurance certificate expires", { name: "insurance_expires_on", type: "date", required: true, value: current?.insurance_expires_on ?? "" }),
    h("button", { type: "submit" }, "Save and check"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    try {
      const a = await api("PUT", "/v1/carriers/authority", {
        usdot_number: Number(d.usdot_number), mc_number: d.mc_number ? Number(d.mc_number) : null,
        insurance_expires_on: d.insurance_expires_on || null,
      });
      shown.replaceChildren(standing(a));
      toast(`Authority ${a.standing}`);
    } catch (err) {
      showProblem(form, err);
    }
  });
  mount("Settings", h("h2", {}, "Operating authority"), shown, form);
}

async function brokerSettings() {
  const p = await api("GET", "/v1/negotiations/vetting-policy");
  const box = (name, label, checked) => h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);
  const form = h("form", { class: "stack", "aria-label": "Vetting policy" },
    box("allow_unverified", "Carriers whose authority is self-declared (not checked with FMCSA) may book my loads", p.allow_unverified),
    box("private_loads_vetted_only", "My private loads go only to FMCSA-verified carriers", p.private_loads_vetted_only),
    h("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      await api("PUT", "/v1/negotiations/vetting-policy", {
        allow_unverified: form.elements.allow_unverified.checked,
        private_loads_vetted_only: form.elements.private_loads_vetted_only.checked,
      });
      toast("Vetting policy saved");
    } catch (err) {
      showProblem(form, err);
    }
  });
  mount("Settings", h("h2", {}, "Who may book your loads"), form);
}

export function settings(me) {
  return me.organization.kind === "carrier" ? carrierSettings() : brokerSettings();
}
