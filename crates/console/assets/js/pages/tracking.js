// Tracking. A load's broker and carrier see where its truck is: the stops with arrival,
// departure, dwell and detention, the ETA to the next stop, the last position on a map,
// and every position with the reason for one not applied; they make the driver's link and
// (the broker) the shipper's, and revoke them. Two pages need no account: the driver's
// (its phone shares its location while open, and checks in) and the shipper's (the load's
// position, status and ETA only).

import { api, live } from "../api.js";
import { createMap } from "../map.js";
import { clearProblem, field, h, money, mount, showProblem, toast } from "../dom.js";

const when = (t) => (t ? new Date(t).toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }) : "—");
const minutes = (m) => (m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`);
const STATUS = { active: "Tracking", delivered: "Delivered", cancelled: "Cancelled" };

function etaText(eta) {
  if (!eta) return "No ETA: the truck is at a stop, or no position yet.";
  const extra = [eta.breaks ? `${eta.breaks} break${eta.breaks > 1 ? "s" : ""}` : null, eta.rests ? `${eta.rests} 10-hour rest${eta.rests > 1 ? "s" : ""}` : null].filter(Boolean);
  return `${when(eta.at)} · ${Math.round(eta.remaining_miles)} road miles${extra.length ? ` (with ${extra.join(" and ")})` : ""} · confidence ${Math.round(eta.confidence * 100)} %`;
}

async function drawMap(el, label, stops, position) {
  const m = await createMap(el, label);
  const points = stops.map((s) => [s.lat, s.lon]);
  for (const s of stops) {
    L.circleMarker([s.lat, s.lon], { radius: 5, color: "#0b5cad", fillColor: "#fff", fillOpacity: 1 }).bindTooltip(s.label).addTo(m.map);
  }
  if (position) {
    L.circleMarker([position.lat, position.lon], { radius: 7, color: "#a4161a", fillColor: "#a4161a", fillOpacity: 0.9 })
      .bindTooltip(`The truck, ${when(position.at)}`).addTo(m.map);
    points.push([position.lat, position.lon]);
    el.dataset.truck = `${position.lat.toFixed(4)},${position.lon.toFixed(4)}`;
  }
  if (points.length) m.map.fitBounds(points, { padding: [20, 20], maxZoom: 9 });
}

function newLinkBox(link) {
  const abs = new URL(link.url, location.href).href;
  return h("div", { class: "alert ok", id: "new-link", role: "status" },
    h("p", {}, link.kind === "driver" ? "Send this link to the driver (shown once):" : "Send this link to the shipper (shown once):"),
    h("input", { readonly: true, value: abs, "aria-label": link.kind === "driver" ? "The driver's link" : "The shipper's link", size: 60 }),
    h("p", { class: "muted" }, `Works until ${when(link.expires_at)}.`));
}

export async function loadTracking(me, id, listening = false) {
  const [t, links, positions] = await Promise.all([
    api("GET", `/v1/loads/${id}/tracking`),
    api("GET", `/v1/loads/${id}/tracking/links`),
    api("GET", `/v1/loads/${id}/tracking/positions?limit=20`),
  ]);
  const refresh = () => loadTracking(me, id, true);
  const area = h("div", { id: "link-action" });
  const canLink = me.user.role !== "viewer";
  const broker = me.organization.kind !== "carrier";
  const makeLink = (kind) => async () => {
    try {
      const link = await api("POST", `/v1/loads/${id}/tracking/links`, kind === "share" ? { kind, hours: 72 } : { kind });
      await refresh();
      document.getElementById("link-action").replaceChildren(newLinkBox(link));
    } catch (err) {
      toast(err.problem?.detail || err.message);
    }
  };
  const next = t.next_stop != null ? t.stops[t.next_stop] : null;
  const stops = t.stops.map((s, i) => h("tr", { "data-stop": String(i) },
    h("th", { scope: "row" }, `${s.kind === "pickup" ? "Pickup" : "Delivery"}: ${s.label}`),
    h("td", {}, `${when(s.window_start)} – ${when(s.window_end)}`),
    h("td", {}, s.missed ? "Passed" : when(s.arrived_at)),
    h("td", {}, when(s.departed_at)),
    h("td", {}, s.dwell ? minutes(s.dwell.minutes) : "—"),
    h("td", {}, s.dwell?.detention_minutes ? `${minutes(s.dwell.detention_minutes)} (${money(s.detention_cents)})` : "—")));
  const posRows = positions.map((p) => h("tr", {},
    h("td", {}, when(p.at)),
    h("td", {}, `${p.lat.toFixed(4)}, ${p.lon.toFixed(4)}`),
    h("td", {}, p.source),
    h("td", {}, p.refusal ? `Not applied: ${p.detail}` : "Applied")));
  const linkRows = links.map((l) => h("tr", { "data-link": l.id },
    h("td", {}, l.kind === "driver" ? "Driver" : "Shipper"),
    h("td", {}, when(l.created_at)),
    h("td", {}, l.revoked_at ? `Revoked ${when(l.revoked_at)}` : `Until ${when(l.expires_at)}`),
    h("td", {}, !l.revoked_at && canLink
      ? h("button", { type: "button", class: "secondary", "aria-label": `Revoke the ${l.kind === "driver" ? "driver's" : "shipper's"} link made ${when(l.created_at)}`, onclick: async () => {
          await api("DELETE", `/v1/loads/${id}/tracking/links/${l.id}`);
          toast("Link revoked");
          await refresh();
        } }, "Revoke")
      : "—")));
  const mapEl = h("div", { class: "map small", id: "tracking-map" });
  // The carrier names the truck its ELD provider reports for (Motive's vehicle id).
  const hauls = !broker && canLink && t.status === "active";
  const truckForm = h("form", { class: "grid", "aria-label": "The truck" },
    field("Motive vehicle id", { name: "vehicle_id", required: true, value: t.vehicle?.vehicle_id ?? "", size: 10 }),
    h("button", { type: "submit" }, "Track this truck"),
    t.vehicle ? h("button", { type: "button", class: "secondary", onclick: async () => {
      await api("DELETE", `/v1/loads/${id}/tracking/vehicle`);
      toast("Truck forgotten");
      await refresh();
    } }, "Forget the truck") : null);
  truckForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(truckForm);
    try {
      await api("PUT", `/v1/loads/${id}/tracking/vehicle`, { provider: "motive", vehicle_id: truckForm.elements.vehicle_id.value });
      toast("Truck named");
      await refresh();
    } catch (err) {
      showProblem(truckForm, err);
    }
  });

  mount(`Tracking · ${t.reference}`,
    h("p", { id: "tracking-status" }, h("strong", {}, STATUS[t.status] || t.status),
      next ? ` · next: ${next.label}${t.inside_fence ? " (at the stop)" : ""}` : "",
      t.last_position ? ` · last position ${when(t.last_position.at)}` : " · no position yet"),
    h("p", { id: "tracking-eta", class: t.eta?.late ? "alert" : "" }, t.eta?.late ? "Late risk: " : "ETA: ", etaText(t.eta)),
    h("p", { id: "tracking-live", class: "muted", "aria-live": "polite" }),
    h("p", { id: "tracking-truck" }, t.vehicle ? `Truck: ${t.vehicle.provider === "motive" ? "Motive" : t.vehicle.provider} vehicle ${t.vehicle.vehicle_id}, reporting through its ELD.` : "No ELD truck named: positions come from the driver's link."),
    hauls ? truckForm : null,
    mapEl,
    h("h2", {}, "Stops"),
    h("div", { class: "table-wrap" }, h("table", { id: "stops" },
      h("thead", {}, h("tr", {}, ["Stop", "Window", "Arrived", "Departed", "Dwell", "Detention"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, stops))),
    h("h2", {}, "Links"),
    canLink && t.status === "active" ? h("p", {},
      h("button", { type: "button", onclick: makeLink("driver") }, "Make a link for the driver"), " ",
      broker ? h("button", { type: "button", class: "secondary", onclick: makeLink("share") }, "Make a link for the shipper") : null) : null,
    area,
    linkRows.length ? h("div", { class: "table-wrap" }, h("table", { id: "links" },
      h("thead", {}, h("tr", {}, ["For", "Made", "Works", "Action"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, linkRows))) : h("p", { class: "muted" }, "No links yet."),
    h("h2", {}, "Positions"),
    posRows.length ? h("div", { class: "table-wrap" }, h("table", { id: "positions" },
      h("caption", {}, "Newest first"),
      h("thead", {}, h("tr", {}, ["Taken", "Where", "From", "Result"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, posRows))) : h("p", { class: "muted" }, "No positions yet: send the driver a link."));
  await drawMap(mapEl, `Map of load ${t.reference}`, t.stops, t.last_position).catch(() => {});
  // Positions as they arrive (the realtime socket): said here, without redrawing the page.
  if (!listening) {
    live((event) => {
      const p = event.payload;
      if (event.type !== "tracking.updated.v1" || p?.load_id !== id) return;
      const el = document.getElementById("tracking-live");
      if (el) {
        el.textContent = `Live: position ${when(p.at)} · ${p.inside_fence ? "at" : "next"} ${p.next_stop ?? "—"}`
          + (p.eta ? ` · ETA ${when(p.eta)}${p.late ? " (late)" : ""}` : "");
      }
    });
  }
}

/** The token of a page opened from a link (`#/driver?t=...`). */
function token() {
  return new URLSearchParams(location.hash.split("?")[1] || "").get("t") || "";
}

async function publicCall(method, path, body) {
  const r = await fetch(path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw Object.assign(new Error(data?.detail || data?.title || r.statusText), { problem: data, status: r.status });
  return data;
}

export async function driverPage() {
  const t = token();
  const log = h("p", { id: "driver-status", role: "status" }, "Not sharing your location yet.");
  let watch = null;
  const send = async (body) => {
    try {
      const o = await publicCall("POST", `/v1/track/driver/${encodeURIComponent(t)}/positions`, body);
      log.textContent = o.outcome === "applied"
        ? `Location sent ${new Date().toLocaleTimeString()}${o.events.length ? ` · ${o.events.join(", ").replaceAll("_", " ")}` : ""}`
        : `Location not used: ${o.detail}`;
    } catch (err) {
      log.textContent = err.message;
      if (err.status === 410 || err.status === 404 || err.status === 409) stop();
    }
  };
  const stop = () => { if (watch != null) navigator.geolocation.clearWatch(watch); watch = null; };
  const share = h("button", { type: "button", onclick: () => {
    if (!navigator.geolocation) { log.textContent = "This browser cannot share its location."; return; }
    stop();
    watch = navigator.geolocation.watchPosition(
      (p) => send({ lat: p.coords.latitude, lon: p.coords.longitude, speed_mph: p.coords.speed != null ? p.coords.speed * 2.23694 : undefined }),
      (e) => { log.textContent = `Location unavailable: ${e.message}`; },
      { enableHighAccuracy: true, maximumAge: 30_000 });
    log.textContent = "Sharing your location while this page is open.";
  } }, "Share my location");
  const checkIn = (event, label) => h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      const o = await publicCall("POST", `/v1/track/driver/${encodeURIComponent(t)}/check-ins`, { event });
      log.textContent = `${label} recorded${o.events.length ? ` · ${o.events.join(", ").replaceAll("_", " ")}` : ""}`;
    } catch (err) {
      log.textContent = err.message;
    }
  } }, label);
  mount("Driver check-in",
    h("p", { class: "muted" }, "This link is for one load. Keep this page open while driving to share your location; nothing else on your phone is read."),
    h("p", {}, share, " ", checkIn("arrived", "Arrived"), " ", checkIn("departed", "Departed"), " ", checkIn("delivered", "Delivered")),
    log);
}

export async function sharedTracking() {
  const t = token();
  let v;
  try {
    v = await publicCall("GET", `/v1/track/${encodeURIComponent(t)}`);
  } catch (err) {
    return mount("Tracking", h("p", { class: "alert", id: "shared-gone" }, err.status === 410 ? "This tracking link has expired or was revoked." : "There is no such tracking link."));
  }
  const mapEl = h("div", { class: "map small", id: "shared-map" });
  mount(`Tracking · ${v.reference}`,
    h("dl", { id: "shared" },
      h("dt", {}, "Status"), h("dd", {}, v.status === "active" ? "On its way" : v.status),
      h("dt", {}, "Next stop"), h("dd", {}, v.next_stop || "—"),
      h("dt", {}, "Estimated arrival"), h("dd", {}, v.eta ? `${when(v.eta)}${v.late ? " (late)" : ""}` : "—"),
      h("dt", {}, "Last position"), h("dd", {}, v.position_at ? when(v.position_at) : "none yet")),
    mapEl,
    h("p", { class: "muted" }, `This link works until ${when(v.expires_at)}.`));
  const position = v.lat != null ? { lat: v.lat, lon: v.lon, at: v.position_at } : null;
  await drawMap(mapEl, `Map of load ${v.reference}`, [], position).catch(() => {});
}
