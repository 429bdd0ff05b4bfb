// Maps without a tile server: North America drawn from the bundled boundary files (U.S.
// states from us-atlas, Canada and Mexico from world-atlas), loads drawn on top; or, when
// the operator configured one (`http.console_tile_url`), a raster tile server's map. The
// table beside every map says the same in text, for keyboards and screen readers.

let boundaries = null;
let settings = null;

/** The operator's map settings (`/console/settings.json`), read once. */
function mapSettings() {
  settings ??= fetch("/console/settings.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return settings;
}

function loadBoundaries() {
  boundaries ??= Promise.all([
    fetch("/console/vendor/us-states-10m.json").then((r) => r.json()),
    fetch("/console/vendor/world-countries-110m.json").then((r) => r.json()),
  ]);
  return boundaries;
}

/** ISO 3166 numeric codes of Canada and Mexico in world-atlas. */
const NEIGHBOURS = new Set(["124", "484"]);

async function drawBoundaries(map) {
  map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau, Natural Earth");
  const [states, world] = await loadBoundaries();
  const countries = topojson.feature(world, world.objects.countries);
  L.geoJSON(
    { type: "FeatureCollection", features: countries.features.filter((f) => NEIGHBOURS.has(String(f.id))) },
    { style: { color: "#9aabbb", weight: 1, fillColor: "#eef1f4", fillOpacity: 1 }, interactive: false },
  ).addTo(map);
  L.geoJSON(topojson.feature(states, states.objects.states), {
    style: { color: "#9aabbb", weight: 1, fillColor: "#ffffff", fillOpacity: 1 },
    interactive: false,
  }).addTo(map);
}

export async function createMap(el, label) {
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", label);
  const map = L.map(el, { preferCanvas: true, minZoom: 2, maxZoom: 12, worldCopyJump: false }).setView([39, -96], 4);
  map.attributionControl.setPrefix(false);
  const { tile_url: tiles, tile_attribution: credit } = await mapSettings();
  if (tiles) {
    L.tileLayer(tiles, { attribution: credit || "", maxZoom: 18 }).addTo(map);
    el.dataset.background = "tiles";
  } else {
    await drawBoundaries(map);
    el.dataset.background = "boundaries";
  }
  const drawn = L.layerGroup().addTo(map);
  el.dataset.ready = "1";
  return {
    map,
    /** Draws each load's origin, and its lane to the destination. */
    showLoads(loads, { fit = true } = {}) {
      drawn.clearLayers();
      const points = [];
      const bounds = [];
      for (const load of loads) {
        const stops = load.stops || [];
        const from = stops.find((s) => s.kind === "pickup")?.location;
        const to = [...stops].reverse().find((s) => s.kind === "delivery")?.location;
        if (!from) continue;
        points.push([from.lat, from.lon]);
        if (to) bounds.push([to.lat, to.lon]);
        if (to) L.polyline([[from.lat, from.lon], [to.lat, to.lon]], { color: "#0b5cad", weight: 1.5, opacity: 0.5 }).addTo(drawn);
        L.circleMarker([from.lat, from.lon], { radius: 5, color: "#0b5cad", fillColor: "#0b5cad", fillOpacity: 0.9 })
          .bindTooltip(`${from.label} → ${to?.label ?? "?"} · ${load.reference ?? ""}`)
          .addTo(drawn);
      }
      el.setAttribute("aria-label", `${label}: ${points.length} loads`);
      el.dataset.markers = String(points.length);
      if (fit && points.length) map.fitBounds([...points, ...bounds], { padding: [20, 20], maxZoom: 7 });
    },
  };
}
