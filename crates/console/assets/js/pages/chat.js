// Conversations: the list with unread counts, and one conversation's history (paged back),
// live, with what the other side has read. Negotiation moves show beside the words.

import { api, live } from "../api.js";
import { clearProblem, h, money, mount, showProblem } from "../dom.js";

export async function conversations() {
  const list = await api("GET", "/v1/chat/conversations?limit=100");
  mount("Messages",
    list.length === 0
      ? h("p", { class: "muted" }, "No conversations yet. Start one from a load's page.")
      : h("ul", { class: "conversations" }, list.map((c) => h("li", {},
          h("a", { href: `#/chat/${c.id}` }, c.title),
          c.unread ? h("span", { class: "badge", "aria-label": `${c.unread} unread` }, String(c.unread)) : null,
          h("span", { class: "muted" }, c.last_message_at ? ` · ${new Date(c.last_message_at).toLocaleString("en-US")}` : " · no messages yet")))));
}

function line(m, me) {
  const who = m.author_user_id === me.user.id ? "You" : m.author_org_id === me.organization.id ? "Your team" : "Them";
  const move = m.negotiation?.event;
  return h("li", { class: m.author_user_id === me.user.id ? "me" : "them", "data-seq": m.seq },
    h("strong", {}, who), ": ",
    m.text ?? "",
    move ? h("span", { class: "muted" }, ` [${move.event}${move.offer ? ` ${money(move.offer.rate_cents)}` : move.total_cents ? ` ${money(move.total_cents)}` : ""}]`) : null);
}

export async function conversation(me, id) {
  const c = await api("GET", `/v1/chat/conversations/${id}`);
  const list = h("ol", { class: "thread", "aria-live": "polite" });
  const receipts = h("p", { class: "muted", id: "receipts" });
  const older = h("button", { type: "button", class: "secondary" }, "Older messages");
  const form = h("form", { class: "grid", "aria-label": "Write a message" },
    h("label", {}, "Message", h("textarea", { name: "text", rows: 2, maxlength: 4000, required: true })),
    h("button", { type: "submit" }, "Send"));
  mount(c.title, c.load_id ? h("p", {}, h("a", { href: `#/load/${c.load_id}` }, "The load and its negotiation")) : null,
    older, list, receipts, form);

  let oldest = null;
  let newest = 0;
  const seen = new Set();
  function add(messages, { atTop = false } = {}) {
    const fresh = messages.filter((m) => !seen.has(m.seq)).sort((a, b) => a.seq - b.seq);
    for (const m of fresh) seen.add(m.seq);
    const nodes = fresh.map((m) => line(m, me));
    if (atTop) list.prepend(...nodes); else list.append(...nodes);
    if (fresh.length) newest = Math.max(newest, fresh[fresh.length - 1].seq);
  }
  function showReceipts(all) {
    const others = (all || []).filter((r) => r.user_id !== me.user.id);
    receipts.textContent = others.length ? `Read by others up to message ${Math.max(...others.map((r) => r.last_read_seq))}.` : "";
  }
  async function markRead() {
    if (newest > 0) await api("POST", `/v1/chat/conversations/${id}/read`, { seq: newest }).catch(() => {});
  }
  async function page(before) {
    const p = await api("GET", `/v1/chat/conversations/${id}/messages?limit=50${before ? `&before=${before}` : ""}`);
    add(p.messages, { atTop: Boolean(before) });
    oldest = p.next_before;
    older.hidden = !oldest;
  }
  older.addEventListener("click", () => page(oldest));
  await page();
  showReceipts(c.receipts);
  await markRead();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const m = await api("POST", `/v1/chat/conversations/${id}/messages`, { text: new FormData(form).get("text") });
      add([m]);
      form.reset();
      await markRead();
    } catch (err) {
      showProblem(form, err);
    }
  });

  live(async (event) => {
    if (event.payload?.conversation_id !== id) return;
    if (event.type === "chat.message.v1") {
      add([event.payload.message]);
      await markRead();
    } else if (event.type === "chat.read.v1") {
      const fresh = await api("GET", `/v1/chat/conversations/${id}`);
      showReceipts(fresh.receipts);
    }
  });
}

/** Opens (or finds) the conversation about `loadId` with `carrierOrgId` (brokers name it). */
export async function talkAbout(loadId, carrierOrgId) {
  const c = await api("POST", "/v1/chat/conversations", { load_id: loadId, carrier_org_id: carrierOrgId });
  location.hash = `#/chat/${c.id}`;
}
