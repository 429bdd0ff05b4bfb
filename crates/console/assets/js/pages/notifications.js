// Your notifications: the list (newest first, unread ones marked, live as they arrive on the
// realtime socket), marking them read; and their settings: what you are told on each
// channel, quiet hours in your time zone, the digest interval, and the mobile number texts
// go to (verified with a code).

import { api, live } from "../api.js";
import { clearProblem, field, h, mount, showProblem, toast } from "../dom.js";

const when = (t) => (t ? new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }) : "—");
const MODES = [["off", "Off"], ["immediate", "Right away"], ["digest", "In the digest"]];
const CHANNELS = [["in_app", "In the app"], ["email", "Email"], ["sms", "Text"]];

function item(n, onRead) {
  const read = h("button", { type: "button", class: "secondary", onclick: async () => {
    await api("POST", `/v1/notifications/${n.id}/read`, {});
    onRead(n);
  } }, "Mark read");
  return h("li", { class: n.read_at ? "notice" : "notice unread", "data-notification": n.id },
    h("strong", {}, n.title), " ",
    h("span", { class: "muted" }, when(n.created_at)),
    h("div", {}, n.body, " ", h("a", { href: n.link }, "Open")),
    n.read_at ? null : read);
}

export async function notifications(me, unreadOnly = false) {
  const [page, count] = await Promise.all([
    api("GET", `/v1/notifications?limit=100${unreadOnly ? "&unread=true" : ""}`),
    api("GET", "/v1/notifications/unread-count"),
  ]);
  const again = () => notifications(me, unreadOnly);
  const unread = h("p", { id: "unread", role: "status" }, `${count.unread} unread`);
  const list = h("ul", { class: "notices", "aria-label": "Notifications" },
    page.items.map((n) => item(n, () => { toast("Marked read"); again(); })));
  mount("Notifications",
    h("p", {},
      h("a", { href: "#/notifications/settings" }, "What you are told, and how"), " · ",
      h("button", { type: "button", class: "secondary", "aria-pressed": String(unreadOnly), onclick: () => notifications(me, !unreadOnly) },
        unreadOnly ? "Show all" : "Show unread only"), " ",
      h("button", { type: "button", class: "secondary", onclick: async () => {
        const r = await api("POST", "/v1/notifications/read-all", {});
        toast(`${r.marked} marked read`);
        await again();
      } }, "Mark all read")),
    unread,
    page.items.length ? list : h("p", { class: "muted", id: "no-notices" }, "Nothing yet: offers, bookings, late trucks and alerts for you will show here."));
  // New ones arrive on the socket, addressed to you only.
  let shown = count.unread;
  live((ev) => {
    if (ev.type !== "notification.created.v1") return;
    const p = ev.payload;
    const n = { id: p.notification_id, title: p.title, body: p.body, link: p.link, created_at: p.created_at, read_at: null };
    document.getElementById("no-notices")?.replaceWith(list);
    list.prepend(item(n, () => { toast("Marked read"); again(); }));
    shown += 1;
    unread.textContent = `${shown} unread`;
    toast(p.title);
  });
}

function preferencesTable(prefs, onSaved) {
  const form = h("form", { class: "stack wide", "aria-label": "What you are told" },
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Each kind of news on each channel"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "News"), CHANNELS.map(([, label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, prefs.kinds.map((k) => h("tr", {},
        h("th", { scope: "row" }, k.label),
        CHANNELS.map(([channel, label]) => h("td", {},
          h("select", { name: `${k.kind}.${channel}`, "aria-label": `${k.label}: ${label}` },
            MODES.filter(([m]) => channel !== "in_app" || m !== "digest").map(([m, text]) => h("option", { value: m, selected: k[channel] === m }, text)))))))))),
    prefs.phone ? null : h("p", { class: "muted" }, "Texts need a verified mobile number (below)."),
    h("button", { type: "submit" }, "Save what you are told"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const preferences = [...form.querySelectorAll("select")].map((s) => {
      const [kind, channel] = s.name.split(".");
      return { kind, channel, mode: s.value };
    });
    try {
      await api("PUT", "/v1/notifications/preferences", { preferences });
      await onSaved();
      toast("Saved");
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

function whenForm(prefs, onSaved) {
  const zone = prefs.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const form = h("form", { class: "stack", "aria-label": "Quiet hours and digest" },
    field("Time zone (IANA, such as America/Chicago)", { name: "time_zone", value: zone, required: true }),
    field("Quiet hours start (HH:MM)", { name: "quiet_start", value: prefs.quiet_start || "", placeholder: "22:00" }),
    field("Quiet hours end (HH:MM)", { name: "quiet_end", value: prefs.quiet_end || "", placeholder: "06:00" }),
    field("Digest every (minutes, 15–1440)", { name: "digest_minutes", type: "number", value: prefs.digest_minutes }),
    h("p", { class: "muted" }, "Emails and texts due in quiet hours wait until they end; the app shows everything at once."),
    h("button", { type: "submit" }, "Save quiet hours"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    const v = (n) => form.elements[n].value.trim() || null;
    try {
      await api("PUT", "/v1/notifications/settings", {
        time_zone: form.elements.time_zone.value.trim(),
        quiet_start: v("quiet_start"),
        quiet_end: v("quiet_end"),
        digest_minutes: Number(form.elements.digest_minutes.value),
      });
      await onSaved();
      toast("Saved");
    } catch (err) {
      showProblem(form, err);
    }
  });
  return form;
}

function phoneForms(prefs, onSaved) {
  const start = h("form", { class: "stack", "aria-label": "Mobile number" },
    prefs.phone ? h("p", { id: "phone-state" }, `Texts go to ${prefs.phone}.`, prefs.sms_opted_out ? " This number replied STOP: reply START to it to receive texts again." : "") : null,
    field(prefs.phone ? "Another mobile number" : "Mobile number", { name: "phone", type: "tel", autocomplete: "tel", placeholder: "+1 415 555 0100" }),
    h("button", { type: "submit" }, "Text me a code"));
  start.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(start);
    try {
      await api("PUT", "/v1/notifications/phone", { phone: start.elements.phone.value });
      await onSaved();
      toast("Code sent");
    } catch (err) {
      showProblem(start, err);
    }
  });
  const confirm = prefs.pending_phone ? h("form", { class: "stack", "aria-label": "Confirm the number" },
    h("p", {}, `We texted a code to ${prefs.pending_phone}.`),
    field("Code", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit" }, "Confirm")) : null;
  confirm?.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(confirm);
    try {
      await api("POST", "/v1/notifications/phone/verify", { code: confirm.elements.code.value });
      await onSaved();
      toast("Number confirmed");
    } catch (err) {
      showProblem(confirm, err);
    }
  });
  const remove = prefs.phone ? h("button", { type: "button", class: "secondary", onclick: async () => {
    await api("DELETE", "/v1/notifications/phone");
    await onSaved();
    toast("Number removed");
  } }, "Stop texting me") : null;
  return [start, confirm, remove];
}

export async function notificationSettings(me) {
  const prefs = await api("GET", "/v1/notifications/preferences");
  const again = () => notificationSettings(me);
  const deliveries = await api("GET", "/v1/notifications/deliveries?limit=20");
  mount("Notification settings",
    h("p", {}, h("a", { href: "#/notifications" }, "Back to your notifications")),
    h("h2", {}, "What you are told"), preferencesTable(prefs, again),
    h("h2", {}, "Quiet hours and digest"), whenForm(prefs, again),
    h("h2", {}, "Texts"), phoneForms(prefs, again),
    h("h2", {}, "Recent emails and texts"),
    deliveries.items.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "deliveries" },
          h("caption", {}, "The latest 20"),
          h("thead", {}, h("tr", {}, ["Created", "Channel", "How", "Status", "Goes at", "Error"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, deliveries.items.map((d) => h("tr", {},
            h("td", {}, when(d.created_at)), h("td", {}, d.channel), h("td", {}, d.mode), h("td", {}, d.status),
            h("td", {}, d.due_at ? when(d.due_at) : ""), h("td", {}, d.last_error || ""))))))
      : h("p", { class: "muted" }, "None yet."));
}
