// Building the page without innerHTML: text from the API is always text.

/** `h("a", {href}, "text", child…)`: an element with attributes, handlers (`onclick`) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces the page's content and moves focus to it (screen readers hear the change). */
export function mount(title, ...nodes) {
  document.title = `${title} · LaneRunner`;
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, title), ...nodes.flat().filter((n) => n != null && n !== false));
  main.focus();
}

export function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.textContent = ""), 4000);
}

export const money = (cents) =>
  cents == null ? "—" : "$" + (cents / 100).toLocaleString("en-US", { minimumFractionDigits: cents % 100 ? 2 : 0, maximumFractionDigits: 2 });

/** "Dallas, TX → Atlanta, GA": a load's first pickup and last delivery. */
export function laneOf(load) {
  const from = load.stops.find((s) => s.kind === "pickup")?.location.label ?? "?";
  const to = [...load.stops].reverse().find((s) => s.kind === "delivery")?.location.label ?? "?";
  return `${from} → ${to}`;
}

export const perMile = (cents) => (cents == null || cents === 0 ? "—" : "$" + (cents / 100).toFixed(2));

/**
 * Shows a problem+json on a form: each invalid field's message next to its input (inputs
 * are found by `name`), and everything else in the form's alert.
 */
export function showProblem(form, err) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  let alert = form.querySelector(".alert");
  if (!alert) {
    alert = h("div", { class: "alert", role: "alert" });
    form.prepend(alert);
  }
  const problem = err.problem || { title: String(err.message || err) };
  const unplaced = [];
  for (const e of problem.errors || []) {
    const input = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
    if (!input) { unplaced.push(`${e.field}: ${e.message}`); continue; }
    const id = `${input.id || input.name}-error`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.closest("label")?.append(h("span", { class: "field-error", id }, e.message));
  }
  alert.replaceChildren(...[
    h("strong", {}, problem.title || "Something went wrong"),
    problem.detail && !(problem.errors || []).length ? h("div", {}, problem.detail) : null,
    unplaced.length ? h("ul", {}, unplaced.map((u) => h("li", {}, u))) : null,
  ].filter(Boolean));
}

export function clearProblem(form) {
  form.querySelector(".alert")?.remove();
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** A labelled input. */
export function field(label, attrs) {
  return h("label", {}, label, h("input", { id: `f-${attrs.name}`, ...attrs }));
}

export function select(label, name, options, value) {
  return h("label", {}, label,
    h("select", { id: `f-${name}`, name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

export const EQUIPMENT = [
  ["V", "Dry van"], ["R", "Reefer"], ["F", "Flatbed"], ["SD", "Step deck"],
  ["PO", "Power only"], ["HS", "Hotshot"], ["TNK", "Tanker"], ["CONT", "Container"],
];

/**
 * A labelled place input that suggests known places as they are typed (`complete(q)`
 * resolves with `[{label}]`), through a `<datalist>`: the browser shows them, keyboards
 * and screen readers included.
 */
export function placeField(label, attrs, complete) {
  const listId = `${attrs.name.replace(/[^a-z0-9]/gi, "-")}-places`;
  const list = h("datalist", { id: listId });
  const input = h("input", { id: `f-${attrs.name}`, autocomplete: "off", list: listId, ...attrs });
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(async () => {
      try {
        const places = await complete(q);
        list.replaceChildren(...places.map((p) => h("option", { value: p.label })));
      } catch {
        // Suggestions are a help; the form still takes what is typed.
      }
    }, 150);
  });
  return h("label", {}, label, input, list);
}

/** Hands `blob` to the browser as a file called `name` (a download, or with `attrs` a new
 * tab); the API needs the session, so files are fetched first, then offered. */
export function download(name, blob, attrs = {}) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name, ...attrs });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
