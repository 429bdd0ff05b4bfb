// The organization's settings that decide who may book: a carrier's operating authority
// (checked with FMCSA when configured, else recorded as self-declared), and a broker's rule
// for carriers no registry verified. A carrier also connects where its trucks report from.

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
  mount("Settings", h("h2", {}, "Operating authority"), shown, form, await dispatchNumber(), await trackingIntegrations());
}

/** "https://…/v1/…": a path on this API, as a provider outside must be told it. */
const absolute = (path) => new URL(path, location.href).href;

// Where a carrier's trucks report from besides the driver's link: its ELD provider
// (Motive's webhooks, signed with the shared secret set in Motive), its own system (the
// Standard Webhooks secret) and its devices (an MQTT account).
/** The number brokers' agents may call about loads that fit the carrier's trucks. */
async function dispatchNumber() {
  let current = null;
  try {
    current = await api("GET", "/v1/voice/dispatch");
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const section = h("section", { class: "stack" });
  const render = () => {
    const form = h("form", { class: "stack", "aria-label": "Dispatch number" },
      field("Dispatch phone number", { name: "phone", type: "tel", required: true, value: current?.phone ?? "", placeholder: "+1 415 555 0177" }),
      h("button", { type: "submit" }, "Save the number"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearProblem(form);
      try {
        current = await api("PUT", "/v1/voice/dispatch", { phone: form.elements.phone.value });
        toast(`Brokers' agents may call ${current.phone} about loads`);
        render();
      } catch (err) {
        showProblem(form, err);
      }
    });
    const stop = current && h("button", { type: "button", class: "secondary", onclick: async () => {
      await api("DELETE", "/v1/voice/dispatch");
      current = null;
      toast("No more calls about loads");
      render();
    } }, "Stop the calls");
    section.replaceChildren(h("h2", {}, "Calls about loads"),
      h("p", { class: "muted" }, current
        ? `Brokers' automated load desks may call ${current.phone} about loads that fit your posted trucks (you agreed on ${new Date(current.consented_at).toLocaleDateString("en-US")}).`
        : "Give a number and brokers' automated load desks may call it about loads that fit your posted trucks. Saving it is your consent to those calls; you can stop them here."),
      form, stop);
  };
  render();
  return section;
}

async function trackingIntegrations() {
  const connected = await api("GET", "/v1/tracking/providers");
  const motive = connected.find((p) => p.provider === "motive");
  const box = h("section", { id: "integrations", "aria-label": "Tracking integrations" }, h("h2", {}, "Tracking integrations"));
  const status = h("div", { id: "motive-status" }, motive
    ? h("p", {}, `Motive connected ${new Date(motive.connected_at).toLocaleString("en-US")}. Its webhook URL: `, h("code", {}, absolute(motive.webhook_url)))
    : h("p", { class: "muted" }, "Motive is not connected."));
  const form = h("form", { class: "stack", "aria-label": "Motive" },
    h("p", { class: "muted" }, "In Motive, add a company webhook for vehicle_location_updated; paste its shared secret here, then point it at the URL shown. Then name each load's truck on its tracking page."),
    field("Motive webhook shared secret", { name: "secret", type: "password", required: true, autocomplete: "off", minlength: 16 }),
    h("button", { type: "submit" }, motive ? "Replace the secret" : "Connect Motive"),
    motive ? h("button", { type: "button", class: "secondary", onclick: async () => {
      await api("DELETE", "/v1/tracking/providers/motive");
      toast("Motive disconnected");
      box.replaceWith(await trackingIntegrations());
    } }, "Disconnect Motive") : null);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      await api("PUT", "/v1/tracking/providers/motive", { secret: form.elements.secret.value });
      toast("Motive connected");
      box.replaceWith(await trackingIntegrations());
    } catch (err) {
      showProblem(form, err);
    }
  });
  const shown = h("div", { id: "integration-secret", role: "status" });
  const once = (label, value) => shown.replaceChildren(h("div", { class: "alert ok" },
    h("p", {}, `${label} (shown once):`), h("input", { readonly: true, value, "aria-label": label, size: 60 })));
  const own = h("p", {},
    h("button", { type: "button", class: "secondary", onclick: async () => {
      const s = await api("POST", "/v1/tracking/webhook-secret", {});
      once(`Sign your system's position webhooks to ${absolute(s.url)} with this secret`, s.secret);
    } }, "Make a secret for my own system's webhook"), " ",
    h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        const d = await api("POST", "/v1/tracking/device-credentials", {});
        once(`Devices connect to ${d.url} as ${d.username}, publishing to ${d.topic}, with this password`, d.password);
      } catch (err) {
        shown.replaceChildren(h("p", { class: "alert" }, err.problem?.detail || err.message));
      }
    } }, "Open a device account (MQTT)"));
  box.append(h("h3", {}, "Motive ELDs"), status, form, h("h3", {}, "Your own system and devices"), own, shown);
  return box;
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
