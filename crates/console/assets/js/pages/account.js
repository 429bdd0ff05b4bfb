// The signed-in person's own account (password, email verification, the second factor and
// its recovery codes), and the pages the account emails link to: accepting an invitation,
// resetting a forgotten password, verifying an email address. The emailed links carry
// their token in the fragment (`/#/reset-password?token=…`), which no server ever sees;
// each page takes it out of the address bar as soon as it has read it.

import { api, session } from "../api.js";
import { acceptTerms } from "./auth.js";
import { clearProblem, download, field, h, mount, showProblem, toast } from "../dom.js";

/** The token of an emailed link, removed from the address bar and the history. */
function takeToken() {
  const token = new URLSearchParams(location.hash.split("?")[1] || "").get("token") || "";
  if (token) history.replaceState(null, "", location.pathname + location.hash.split("?")[0]);
  return token;
}

/** A form that posts to the API; `done(answer, data)` runs once it is accepted. */
function apiForm(label, fields, submit, send, done) {
  const form = h("form", { class: "stack", "aria-label": label }, fields, h("button", { type: "submit" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const data = Object.fromEntries(new FormData(form));
      await done(await send(data), data, form);
    } catch (err) {
      showProblem(form, err);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A new password's input; `name` is the API's field, so its error shows next to it. */
const newPassword = (label = "New password (12 characters or more)", name = "new_password") =>
  field(label, { name, type: "password", required: true, autocomplete: "new-password", minlength: 12 });

function recoveryCodes(codes) {
  return h("div", { class: "alert ok", id: "recovery-codes" },
    h("strong", {}, "Your recovery codes. Keep them somewhere safe: each signs you in once without your phone, and they are not shown again."),
    h("pre", {}, h("code", {}, codes.join("\n"))));
}

/** A button that starts an enrolment; `start(button)` replaces it with the next step. */
function enrolButton(label, out, start) {
  const b = h("button", { type: "button", class: "secondary", onclick: async () => {
    b.disabled = true;
    try {
      await start(b);
    } catch (err) {
      b.disabled = false;
      out.replaceChildren(h("div", { class: "alert", role: "alert" }, err.problem?.title || err.message));
    }
  } }, label);
  return b;
}

/** After either enrolment: keep the session's new tokens, show the codes (the first time). */
async function enrolled(r) {
  // Enrolling signs an enrol-only session in with the second factor: keep its new tokens.
  if (r.tokens) session.set(r.tokens);
  await account();
  if (r.recovery_codes.length) document.getElementById("mfa-out").replaceChildren(recoveryCodes(r.recovery_codes));
  else toast("Added. Your recovery codes are unchanged.");
}

async function startTotp(button) {
  const e = await api("POST", "/v1/me/mfa/totp");
  const confirm = apiForm("Confirm two-step sign-in", [
    h("p", {}, "Add LaneRunner to your authenticator app: ", h("a", { href: e.otpauth_uri }, "open it in the app"),
      ", or type this key:"),
    h("p", {}, h("code", { id: "totp-secret", "data-secret": e.secret }, e.secret.replace(/(.{4})/g, "$1 ").trim())),
    field("The 6-digit code the app shows", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
  ], "Turn on",
  (d) => api("POST", "/v1/me/mfa/totp/confirm", { code: d.code }),
  enrolled);
  button.replaceWith(confirm);
  confirm.querySelector("input[name=code]").focus();
}

async function startSms(button) {
  const phone = apiForm("Your mobile number", [
    field("Mobile number", { name: "phone", type: "tel", autocomplete: "tel", required: true, placeholder: "+1 415 555 0100" }),
  ], "Text me a code",
  (d) => api("POST", "/v1/me/mfa/sms", { phone: d.phone }),
  (r, _, form) => {
    const confirm = apiForm("Confirm your phone", [
      h("p", {}, `We texted a code to ${r.phone}.`),
      field("The code in the text", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    ], "Turn on",
    (d) => api("POST", "/v1/me/mfa/sms/confirm", { code: d.code }),
    enrolled);
    form.replaceWith(confirm);
    confirm.querySelector("input[name=code]").focus();
  });
  button.replaceWith(phone);
  phone.querySelector("input[name=phone]").focus();
}

/** Texts a code to the enrolled phone, for the forms that ask for one. */
function textMeACode(out) {
  const b = h("button", { type: "button", class: "secondary", onclick: async () => {
    b.disabled = true;
    try {
      await api("POST", "/v1/me/mfa/sms/send");
      toast("Code sent.");
    } catch (err) {
      out.replaceChildren(h("div", { class: "alert", role: "alert" }, err.problem?.title || err.message));
    } finally {
      b.disabled = false;
    }
  } }, "Text me a code");
  return b;
}

export async function account(me) {
  me = await api("GET", "/v1/me");
  session.setMe(me);
  const user = me.user;
  const out = h("div", { id: "mfa-out", role: "status" });

  const password = apiForm("Change your password", [
    field("Current password", { name: "current_password", type: "password", required: true, autocomplete: "current-password" }),
    newPassword(),
  ], "Change password",
  (d) => api("POST", "/v1/me/password", d),
  (_, __, form) => { form.reset(); toast("Password changed; your other sessions were signed out."); });

  const verify = user.email_verified
    ? h("p", {}, "Your email address is verified.")
    : h("p", {}, "Your email address is not verified yet. ",
        h("button", { type: "button", class: "secondary", onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api("POST", "/v1/me/verify-email");
            toast(`We sent a link to ${user.email}.`);
          } catch (err) {
            toast(err.problem?.title || err.message);
            e.target.disabled = false;
          }
        } }, "Send the link again"));

  const methods = user.mfa_methods || [];
  const by = [methods.includes("totp") && "a code from your authenticator app",
    methods.includes("sms") && `a code texted to ${user.mfa_phone}`].filter(Boolean).join(" or ");
  const adders = [
    !methods.includes("totp") && enrolButton(user.mfa_enabled ? "Add an authenticator app" : "Set up with an authenticator app", out, startTotp),
    !methods.includes("sms") && enrolButton(user.mfa_enabled ? "Add a phone for text codes" : "Set up with text messages", out, startSms),
  ].filter(Boolean);
  let mfa;
  if (user.mfa_enabled) {
    const codeLabel = methods.includes("sms") ? "Code from your app or phone" : "Code from your app";
    mfa = [
      h("p", {}, `Two-step sign-in is on: signing in asks for ${by}.`),
      methods.includes("sms") ? h("p", {}, textMeACode(out)) : null,
      apiForm("New recovery codes", [
        field(codeLabel, { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
      ], "Make new recovery codes",
      (d) => api("POST", "/v1/me/mfa/recovery-codes", { code: d.code }),
      (r, _, form) => { form.reset(); out.replaceChildren(recoveryCodes(r.recovery_codes)); }),
      apiForm("Turn off two-step sign-in", [
        field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
        field(`${codeLabel} or a recovery code`, { name: "code", required: true, autocomplete: "one-time-code" }),
      ], "Turn off two-step sign-in",
      (d) => api("POST", "/v1/me/mfa/disable", { password: d.password, code: d.code }),
      async () => { toast("Two-step sign-in is off."); await account(); }),
      h("div", { class: "actions" }, adders),
    ];
  } else {
    mfa = [
      me.organization.require_mfa
        ? h("div", { class: "alert", role: "alert" }, "Your organization requires two-step sign-in: set it up to carry on.")
        : h("p", {}, "Two-step sign-in is off. Turn it on so a stolen password is not enough to get in."),
      h("div", { class: "actions" }, adders),
    ];
  }

  mount("Your account",
    h("dl", { class: "facts" },
      h("dt", {}, "Name"), h("dd", {}, user.name),
      h("dt", {}, "Email"), h("dd", {}, user.email),
      h("dt", {}, "Role"), h("dd", {}, user.role),
      h("dt", {}, "Organization"), h("dd", {}, me.organization.name)),
    verify,
    h("h2", {}, "Two-step sign-in"), mfa, out,
    h("h2", {}, "Password"), password,
    h("h2", {}, "Your data"), await yourData());
}

const PURPOSES = {
  terms: "The terms of service",
  privacy_notice: "The privacy notice",
  marketing_email: "Product news by email (optional)",
};

/** Consent to each purpose (given to the version in force, withdrawn as easily) and the
 * download of everything held about you. */
async function yourData() {
  const consents = await api("GET", "/v1/me/consents");
  const rows = consents.current.map((c) => {
    const state = c.granted
      ? (c.renewal_needed ? `Agreed to ${c.version}; version ${c.current_version} is in force` : `Agreed (${c.version}) on ${new Date(c.recorded_at).toLocaleDateString("en-US")}`)
      : (c.recorded_at ? `Withdrawn on ${new Date(c.recorded_at).toLocaleDateString("en-US")}` : "Not given");
    const button = h("button", { type: "button" }, c.granted && !c.renewal_needed ? "Withdraw" : `Agree to ${c.current_version}`);
    button.addEventListener("click", async () => {
      const give = !(c.granted && !c.renewal_needed);
      try {
        await api("POST", "/v1/me/consents", give ? { purpose: c.purpose, granted: true, version: c.current_version } : { purpose: c.purpose, granted: false });
        toast(give ? `Consent recorded: ${PURPOSES[c.purpose]}` : `Consent withdrawn: ${PURPOSES[c.purpose]}`);
        await account();
      } catch (err) {
        toast(err.problem?.detail || err.message);
      }
    });
    return h("tr", {}, h("th", { scope: "row" }, PURPOSES[c.purpose] || c.purpose), h("td", {}, state), h("td", {}, button));
  });
  const exportButton = h("button", { type: "button" }, "Download my data (JSON)");
  exportButton.addEventListener("click", async () => {
    try {
      download("lanerunner-personal-data.json", await api("GET", "/v1/me/export", undefined, { blob: true }));
      toast("Your data was downloaded");
    } catch (err) {
      toast(err.problem?.detail || err.message);
    }
  });
  return h("div", {},
    h("div", { class: "table-wrap" }, h("table", { id: "consents" },
      h("caption", {}, "What you agreed to"),
      h("thead", {}, h("tr", {}, ["Purpose", "Standing", "Change"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))),
    h("p", {}, "Everything LaneRunner's account service holds about you, in one machine-readable file: ", exportButton));
}

export function forgotPassword() {
  const form = apiForm("Reset your password", [
    field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
  ], "Email me a link",
  (d) => api("POST", "/v1/auth/password-reset", { email: d.email }, { anonymous: true }),
  (_, d, form) => form.replaceWith(h("div", { class: "alert ok", role: "status" },
    `If ${d.email} has an account, a link to reset its password is on its way. It works for a short while, once.`)));
  mount("Reset your password", form, h("p", {}, h("a", { href: "#/signin" }, "Back to sign in")));
}

export function resetPassword() {
  const token = takeToken();
  if (!token) return mount("Reset your password", h("p", {}, "This link has no token. ", h("a", { href: "#/forgot-password" }, "Ask for a new link")));
  const form = apiForm("Choose a new password", [newPassword()], "Set the new password",
    (d) => api("POST", "/v1/auth/password-reset/confirm", { token, new_password: d.new_password }, { anonymous: true }),
    () => { session.clear(); toast("Password changed. Sign in with it."); location.hash = "#/signin"; });
  mount("Choose a new password", form, h("p", {}, "Link expired or used? ", h("a", { href: "#/forgot-password" }, "Ask for a new one")));
}

export async function acceptInvitation() {
  const token = takeToken();
  if (!token) return mount("Join your team", h("p", {}, "This invitation link has no token; ask for a new invitation."));
  const terms = await acceptTerms();
  const form = apiForm("Join your team", [
    field("Your name", { name: "name", required: true, autocomplete: "name" }),
    newPassword("Choose a password (12 characters or more)", "password"),
    terms.box,
  ], "Join",
  (d) => api("POST", "/v1/auth/accept-invitation", { token, name: d.name, password: d.password, ...terms.accepted(d) }, { anonymous: true }),
  (r) => {
    session.clear();
    session.set(r.tokens);
    location.hash = "#/board";
  });
  mount("Join your team", h("p", {}, "You were invited to LaneRunner. Choose your name and password to join."), form);
}

export async function verifyEmail() {
  const token = takeToken();
  try {
    if (!token) throw new Error("This link has no token.");
    await api("POST", "/v1/auth/verify-email", { token }, { anonymous: true });
    const s = session.get();
    if (s?.me) session.setMe({ ...s.me, user: { ...s.me.user, email_verified: true } });
    mount("Email verified", h("p", { role: "status" }, "Thank you: your email address is verified. ", h("a", { href: "#/board" }, "Go to the load board")));
  } catch (err) {
    mount("Email not verified", h("div", { class: "alert", role: "alert" }, err.problem?.title || err.message,
      h("div", {}, "The link may have expired or been used. Sign in and send a new one from your account page.")));
  }
}
