// The console's shell: the routes (public ones: sign in, sign up and the pages emailed links
// open; the rest need a session), the navigation for the signed-in organization's kind,
// and sign-out.

import { api, hooks, session } from "./api.js";
import { h, mount } from "./dom.js";
import { reauthenticate, signIn, signUp } from "./pages/auth.js";
import { acceptInvitation, account, forgotPassword, resetPassword, verifyEmail } from "./pages/account.js";
import { board } from "./pages/board.js";
import { editLoad, importLoads, myLoads, postLoad } from "./pages/loads.js";
import { rates } from "./pages/rates.js";
import { files } from "./pages/files.js";
import { ledger } from "./pages/ledger.js";
import { approvals } from "./pages/approvals.js";
import { letterhead, loadDocuments, paperwork } from "./pages/documents.js";
import { invoices } from "./pages/invoices.js";
import { payouts } from "./pages/payouts.js";
import { driverPage, loadTracking, sharedTracking } from "./pages/tracking.js";
import { loadPage } from "./pages/negotiation.js";
import { conversation, conversations } from "./pages/chat.js";
import { settings } from "./pages/settings.js";
import { findTrucks, myTrucks, truckPage } from "./pages/trucks.js";
import { team } from "./pages/team.js";
import { audit } from "./pages/audit.js";
import { webhookEndpoint, webhooks } from "./pages/webhooks.js";
import { notificationSettings, notifications } from "./pages/notifications.js";
import { callPage, calls } from "./pages/calls.js";

hooks.reauthenticate = reauthenticate;

const PUBLIC = {
  "#/signin": signIn,
  "#/signup": signUp,
  "#/forgot-password": forgotPassword,
  "#/reset-password": resetPassword,
  "#/accept-invitation": acceptInvitation,
  "#/verify-email": verifyEmail,
  // Opened from links a driver or a shipper was sent: the token is the authority.
  "#/driver": driverPage,
  "#/track": sharedTracking,
};
const PAGES = {
  "#/board": board,
  "#/loads": myLoads,
  "#/loads/new": postLoad,
  "#/loads/import": importLoads,
  "#/trucks/search": findTrucks,
  "#/rates": rates,
  "#/files": files,
  "#/ledger": ledger,
  "#/approvals": approvals,
  "#/paperwork": paperwork,
  "#/invoices": invoices,
  "#/payouts": payouts,
  "#/paperwork/letterhead": letterhead,
  "#/chat": conversations,
  "#/settings": settings,
  "#/trucks": myTrucks,
  "#/team": team,
  "#/audit": audit,
  "#/webhooks": webhooks,
  "#/notifications": notifications,
  "#/notifications/settings": notificationSettings,
  "#/calls": calls,
  "#/account": account,
};

function nav(me) {
  const n = document.getElementById("nav");
  if (!me) {
    n.replaceChildren(h("a", { href: "#/signin" }, "Sign in"), h("a", { href: "#/signup" }, "Create an account"));
    return;
  }
  const kind = me.organization.kind;
  n.replaceChildren(...[
    h("a", { href: "#/board" }, "Load board"),
    kind !== "carrier" ? h("a", { href: "#/loads" }, "My loads") : null,
    kind !== "carrier" ? h("a", { href: "#/loads/new" }, "Post a load") : null,
    kind !== "carrier" ? h("a", { href: "#/trucks/search" }, "Find trucks") : null,
    kind === "carrier" ? h("a", { href: "#/trucks" }, "My trucks") : null,
    h("a", { href: "#/rates" }, "Rates"),
    h("a", { href: "#/chat" }, "Messages"),
    h("a", { href: "#/paperwork" }, "Paperwork"),
    h("a", { href: "#/files" }, "Files"),
    kind !== "carrier" && ["owner", "admin", "accountant"].includes(me.user.role) ? h("a", { href: "#/invoices" }, "Invoices") : null,
    ["owner", "admin", "accountant"].includes(me.user.role) ? h("a", { href: "#/payouts" }, "Payouts") : null,
    ["owner", "admin", "accountant"].includes(me.user.role) ? h("a", { href: "#/ledger" }, "Ledger") : null,
    ["owner", "admin", "accountant"].includes(me.user.role) ? h("a", { href: "#/approvals" }, "Approvals") : null,
    h("a", { href: "#/settings" }, "Settings"),
    h("a", { href: "#/team" }, "Team"),
    ["owner", "admin"].includes(me.user.role) ? h("a", { href: "#/audit" }, "Audit trail") : null,
    h("a", { href: "#/webhooks" }, "Webhooks"),
    kind !== "carrier" ? h("a", { href: "#/calls" }, "Calls") : null,
    h("a", { href: "#/notifications", id: "nav-notifications" }, "Notifications"),
    h("a", { href: "#/account", class: "who", title: "Your account" }, `${me.user.email} · ${me.organization.name} (${kind})`),
    h("button", { class: "link", type: "button", onclick: signOut }, "Sign out"),
  ].filter(Boolean));
}

/** The unread count beside "Notifications", as the page opens (the list itself is live). */
function unreadBadge() {
  api("GET", "/v1/notifications/unread-count").then((c) => {
    const link = document.getElementById("nav-notifications");
    if (link) link.textContent = c.unread ? `Notifications (${c.unread})` : "Notifications";
  }, () => {});
}

async function signOut() {
  // The session goes first, so requests still in flight end quietly instead of asking
  // to sign in again; then the server forgets it.
  const s = session.get();
  session.clear();
  location.hash = "#/signin";
  if (s?.access) {
    await fetch("/v1/auth/logout", { method: "POST", headers: { authorization: `Bearer ${s.access}` } }).catch(() => {});
  }
}

async function route() {
  const hash = location.hash.split("?")[0] || "#/board";
  const s = session.get();
  if (PUBLIC[hash]) {
    nav(null);
    return PUBLIC[hash]();
  }
  if (!s) {
    location.hash = "#/signin";
    return;
  }
  let me = s.me;
  if (!me) {
    me = await api("GET", "/v1/me");
    session.setMe(me);
  }
  nav(me);
  unreadBadge();
  const load = hash.match(/^#\/load\/([0-9a-f-]{36})$/);
  const chat = hash.match(/^#\/chat\/([0-9a-f-]{36})$/);
  const truck = hash.match(/^#\/truck\/([0-9a-f-]{36})$/);
  const edit = hash.match(/^#\/load\/([0-9a-f-]{36})\/edit$/);
  const docs = hash.match(/^#\/load\/([0-9a-f-]{36})\/documents$/);
  const tracking = hash.match(/^#\/load\/([0-9a-f-]{36})\/tracking$/);
  const hook = hash.match(/^#\/webhooks\/([0-9a-f-]{36})$/);
  const phoned = hash.match(/^#\/calls\/([0-9a-f-]{36})$/);
  const page = load ? (m) => loadPage(m, load[1])
    : chat ? (m) => conversation(m, chat[1])
    : truck ? (m) => truckPage(m, truck[1])
    : edit ? (m) => editLoad(m, edit[1])
    : docs ? (m) => loadDocuments(m, docs[1])
    : tracking ? (m) => loadTracking(m, tracking[1])
    : hook ? (m) => webhookEndpoint(m, hook[1])
    : phoned ? (m) => callPage(m, phoned[1])
    : PAGES[hash];
  if (!page) return mount("Not found", h("p", {}, "There is no such page. ", h("a", { href: "#/board" }, "Go to the load board")));
  try {
    await page(me);
  } catch (err) {
    // The user has moved on (signed out, followed a link) while this page was loading: its
    // failure belongs to a page no longer shown, and must not replace the one that is.
    if ((location.hash.split("?")[0] || "#/board") !== hash) return;
    // The organization requires MFA and this user has none yet: enrolment is all it may do.
    if (String(err.problem?.type || "").endsWith("mfa-enrollment-required") && hash !== "#/account") {
      location.hash = "#/account";
      return;
    }
    mount("Something went wrong", h("div", { class: "alert", role: "alert" }, err.problem?.title || err.message, err.problem?.detail ? h("div", {}, err.problem.detail) : null));
  }
}

window.addEventListener("hashchange", route);
route();
