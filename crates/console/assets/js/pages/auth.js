// Signing in (with the second factor when the account has one), signing up, and signing in
// again in a dialog when a session ends mid-work.

import { api, session } from "../api.js";
import { clearProblem, field, h, mount, select, showProblem } from "../dom.js";

/** Password, then (if asked) the MFA code; resolves with the tokens. */
function signInForm(onDone, { email = "" } = {}) {
  const form = h("form", { class: "stack", "aria-label": "Sign in" },
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true, value: email }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in"));
  let mfaToken = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const data = Object.fromEntries(new FormData(form));
      let tokens;
      if (mfaToken) {
        tokens = await api("POST", "/v1/auth/login/mfa", { mfa_token: mfaToken, code: data.code }, { anonymous: true });
      } else {
        const r = await api("POST", "/v1/auth/login", { email: data.email, password: data.password }, { anonymous: true });
        if (r.mfa_required) {
          mfaToken = r.mfa_token;
          const methods = r.mfa_methods || [];
          const code = field("Authentication code", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
          const hint = methods.includes("totp")
            ? "Enter the code from your authenticator app, or a recovery code."
            : "Enter the code we text you, or a recovery code.";
          button.before(h("p", { class: "muted" }, hint), code);
          if (methods.includes("sms")) button.after(textMeACode(form, () => mfaToken));
          code.querySelector("input").focus();
          return;
        }
        tokens = r.tokens;
      }
      session.set(tokens);
      const me = await api("GET", "/v1/me");
      session.setMe(me);
      await onDone(me);
    } catch (err) {
      showProblem(form, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A button that texts a sign-in code to the account's phone. */
function textMeACode(form, challenge) {
  const b = h("button", { type: "button", class: "secondary", onclick: async () => {
    clearProblem(form);
    b.disabled = true;
    try {
      await api("POST", "/v1/auth/login/mfa/sms", { mfa_token: challenge() }, { anonymous: true });
      b.textContent = "Code sent: text me another";
    } catch (err) {
      showProblem(form, err);
    } finally {
      b.disabled = false;
    }
  } }, "Text me a code");
  return b;
}

export function signIn() {
  mount("Sign in",
    signInForm(async () => { location.hash = "#/board"; }),
    h("p", {}, h("a", { href: "#/forgot-password" }, "Forgot your password?")),
    h("p", {}, "New to LaneRunner? ", h("a", { href: "#/signup" }, "Create an account")));
}

/**
 * Joining means accepting the terms in force (`GET /v1/legal`): a checkbox naming their
 * version and the privacy notice's. `accepted(d)` gives the fields to send from the form's
 * data; the server's refusal shows beside the box (its id is the API's field).
 */
export async function acceptTerms() {
  const legal = await api("GET", "/v1/legal", undefined, { anonymous: true });
  const box = h("label", { class: "check" },
    h("input", { type: "checkbox", id: "f-terms_version", name: "terms_version", value: legal.terms_version, required: legal.terms_required }),
    ` I accept the Terms of Service (version ${legal.terms_version}) and have read the Privacy notice (version ${legal.privacy_notice_version})`);
  const accepted = (d) => (d.terms_version
    ? { terms_version: d.terms_version, privacy_notice_version: legal.privacy_notice_version }
    : {});
  return { box, accepted };
}

export async function signUp() {
  const terms = await acceptTerms();
  const form = h("form", { class: "stack", "aria-label": "Create an account" },
    field("Company name", { name: "organization.name", required: true, autocomplete: "organization" }),
    select("You are a", "organization.kind", [["broker", "Broker"], ["carrier", "Carrier"], ["shipper", "Shipper"]], "broker"),
    field("USDOT number (carriers)", { name: "organization.usdot_number", inputmode: "numeric" }),
    field("MC number (optional)", { name: "organization.mc_number", inputmode: "numeric" }),
    field("Your name", { name: "name", required: true, autocomplete: "name" }),
    field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
    field("Password (12 characters or more)", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: 12 }),
    terms.box,
    h("button", { type: "submit" }, "Create account"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const d = Object.fromEntries(new FormData(form));
    const body = {
      organization: {
        name: d["organization.name"], kind: d["organization.kind"],
        usdot_number: d["organization.usdot_number"] || undefined,
        mc_number: d["organization.mc_number"] || undefined,
      },
      name: d.name, email: d.email, password: d.password,
      ...terms.accepted(d),
    };
    try {
      const r = await api("POST", "/v1/auth/signup", body, { anonymous: true });
      session.set(r.tokens, { user: r.user, organization: r.organization });
      location.hash = "#/board";
    } catch (err) {
      showProblem(form, err);
    }
  });
  mount("Create an account", form, h("p", {}, "Already have an account? ", h("a", { href: "#/signin" }, "Sign in")));
}

/** The dialog shown when a session ends: signing in again resumes the interrupted request. */
export function reauthenticate() {
  return new Promise((resolve, reject) => {
    const email = session.get()?.me?.user?.email ?? "";
    const dialog = h("dialog", { "aria-labelledby": "reauth-title" },
      h("h2", { id: "reauth-title" }, "Your session has ended"),
      h("p", {}, "Sign in again to carry on; what you were doing is kept."));
    const form = signInForm(async () => { dialog.close(); dialog.remove(); resolve(); }, { email });
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => { dialog.close(); dialog.remove(); session.clear(); reject(new Error("signed out")); location.hash = "#/signin"; } }, "Sign out");
    dialog.append(form, cancel);
    document.body.append(dialog);
    dialog.showModal();
  });
}
