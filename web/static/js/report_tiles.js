// Reports on a Leaflet map from the server's vector tiles (`/api/v1/tiles/{z}/{x}/{y}.mvt`, the triage
// list's filters): the server groups reports on a grid below the map's zoom 17, so a view holds a few hundred
// markers at most, at any volume. Markers are Leaflet's own (focusable, labelled, printed): the tiles
// only hold points, decoded here with `pbf` (npm) rather than drawn on a canvas no keyboard can reach.

import { PbfReader } from "/vendor/pbf/index.js";
import { query } from "./api.js";
import { groupMarker, statusMarker } from "./map.js";

// Drawn 512 px wide: a tile of zoom z on the map is the server's tile of zoom z − 1 (as MapLibre does),
// so a view needs a quarter of the requests of 256 px tiles.
const TILE_SIZE = 512;
const MOVE_TO = 1;

function readValue(pbf) {
  let value = null;
  const end = pbf.readVarint() + pbf.pos;
  while (pbf.pos < end) {
    const val = pbf.readVarint();
    pbf.type = val & 0x7; // as pbf's readFields does: readPacked* read by it
    const tag = val >> 3;
    if (tag === 1) value = pbf.readString();
    else if (tag === 2) value = pbf.readFloat();
    else if (tag === 3) value = pbf.readDouble();
    else if (tag === 4) value = pbf.readVarint(true);
    else if (tag === 5) value = pbf.readVarint();
    else if (tag === 6) value = pbf.readSVarint();
    else if (tag === 7) value = pbf.readBoolean();
    else pbf.skip(val);
  }
  return value;
}

/** The point features of one layer: [{x, y, properties}] in tile units (`extent`). */
function readLayer(pbf, end) {
  const layer = { name: "", extent: 4096, keys: [], values: [], raw: [] };
  while (pbf.pos < end) {
    const val = pbf.readVarint();
    pbf.type = val & 0x7; // as pbf's readFields does: readPacked* read by it
    const tag = val >> 3;
    if (tag === 1) layer.name = pbf.readString();
    else if (tag === 2) {
      const featureEnd = pbf.readVarint() + pbf.pos;
      layer.raw.push([featureEnd, pbf.pos]); // read once the keys and values are known
      pbf.pos = featureEnd;
    }
    else if (tag === 3) layer.keys.push(pbf.readString());
    else if (tag === 4) layer.values.push(readValue(pbf));
    else if (tag === 5) layer.extent = pbf.readVarint();
    else pbf.skip(val);
  }
  const features = [];
  for (const [featureEnd, start] of layer.raw) {
    pbf.pos = start;
    let tags = [];
    let geometry = [];
    while (pbf.pos < featureEnd) {
      const val = pbf.readVarint();
    pbf.type = val & 0x7; // as pbf's readFields does: readPacked* read by it
      const tag = val >> 3;
      if (tag === 2) tags = pbf.readPackedVarint();
      else if (tag === 4) geometry = pbf.readPackedVarint();
      else pbf.skip(val);
    }
    const properties = {};
    for (let i = 0; i + 1 < tags.length; i += 2) properties[layer.keys[tags[i]]] = layer.values[tags[i + 1]];
    // Points: MoveTo commands with zigzag deltas.
    let x = 0;
    let y = 0;
    for (let i = 0; i < geometry.length;) {
      const command = geometry[i] & 0x7;
      const count = geometry[i] >> 3;
      i += 1;
      for (let n = 0; n < count && command === MOVE_TO; n += 1, i += 2) {
        x += (geometry[i] >> 1) ^ -(geometry[i] & 1);
        y += (geometry[i + 1] >> 1) ^ -(geometry[i + 1] & 1);
        features.push({ x, y, properties });
      }
      if (command !== MOVE_TO) break;
    }
  }
  return { name: layer.name, extent: layer.extent, features };
}

/** {layer name: {extent, features}} of an MVT tile. */
export function decodeTile(buffer) {
  const pbf = new PbfReader(new Uint8Array(buffer));
  const layers = {};
  while (pbf.pos < pbf.length) {
    const val = pbf.readVarint();
    pbf.type = val & 0x7; // as pbf's readFields does: readPacked* read by it
    if (val >> 3 === 3) {
      const end = pbf.readVarint() + pbf.pos;
      const layer = readLayer(pbf, end);
      layers[layer.name] = layer;
      pbf.pos = end;
    } else {
      pbf.skip(val);
    }
  }
  return layers;
}

/**
 * A layer of report markers fed by the tiles. `filters`: the triage list's query parameters;
 * `onReport(report, marker)`: what a click (or Enter) on a report does, or `popup(report)`: the element
 * a click opens in a bubble; `categories`: code → label.
 * Fires `tileerror` (Leaflet) when a tile cannot be had, `load` when the view's tiles are all drawn.
 */
export function reportTiles(options) {
  ReportTiles ||= window.L.GridLayer.extend(TILES_LAYER); // built on first use: the module loads even without Leaflet
  return new ReportTiles(options);
}

let ReportTiles = null;
const TILES_LAYER = {
  options: { tileSize: TILE_SIZE, updateWhenZooming: false, keepBuffer: 1, filters: {}, categories: new Map(), onReport: null, popup: null },

  initialize(options) {
    window.L.GridLayer.prototype.initialize.call(this, options);
    this._markers = new Map(); // tile key → markers
    this._group = window.L.layerGroup();
    this.on("tileunload", (event) => this._drop(this._tileCoordsToKey(event.coords)));
  },

  onAdd(map) {
    window.L.GridLayer.prototype.onAdd.call(this, map);
    this._group.addTo(map);
  },

  onRemove(map) {
    window.L.GridLayer.prototype.onRemove.call(this, map);
    this._group.remove();
    this._markers.clear();
  },

  /** New filters: every tile again. */
  setFilters(filters) {
    this.options.filters = filters;
    this._group.clearLayers();
    this._markers.clear();
    this.redraw();
  },

  /** The report markers drawn now (reference → marker). */
  reportMarkers() {
    const found = new Map();
    for (const markers of this._markers.values()) for (const m of markers) if (m.options.reference) found.set(m.options.reference, m);
    return found;
  },

  createTile(coords, done) {
    const tile = document.createElement("div");
    const key = this._tileCoordsToKey(coords);
    const url = `/api/v1/tiles/${coords.z - 1}/${coords.x}/${coords.y}.mvt${query(this.options.filters)}`;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/vnd.mapbox-vector-tile" } })
      .then((response) => {
        if (!response.ok) throw new Error(`tuile ${response.status}`);
        return response.arrayBuffer();
      })
      .then((buffer) => {
        if (!this._map || !this._tiles[key]) return done(null, tile); // gone meanwhile
        this._draw(key, coords, decodeTile(buffer));
        return done(null, tile);
      })
      .catch((error) => done(error, tile));
    return tile;
  },

  _latLng(coords, layer, feature) {
    const point = coords.scaleBy(this.getTileSize()).add(window.L.point(
      (feature.x / layer.extent) * TILE_SIZE, (feature.y / layer.extent) * TILE_SIZE));
    return this._map.unproject(point, coords.z);
  },

  _draw(key, coords, layers) {
    this._drop(key);
    const markers = [];
    for (const feature of layers.reports?.features || []) {
      const p = feature.properties;
      const latlng = this._latLng(coords, layers.reports, feature);
      const report = { reference: p.reference, status: p.status, overdue: Boolean(p.overdue),
        category: { code: p.category, label: this.options.categories.get(p.category) || p.category },
        lat: latlng.lat, lon: latlng.lng };
      const marker = statusMarker(report, { onSelect: this.options.onReport });
      if (this.options.popup) marker.bindPopup(() => this.options.popup(report));
      marker.options.reference = report.reference;
      markers.push(marker);
    }
    for (const feature of layers.clusters?.features || []) {
      const latlng = this._latLng(coords, layers.clusters, feature);
      const marker = groupMarker(latlng, feature.properties);
      marker.on("click", () => this._map.setView(latlng, Math.min(coords.z + 2, this._map.getMaxZoom())));
      markers.push(marker);
    }
    for (const marker of markers) this._group.addLayer(marker);
    this._markers.set(key, markers);
  },

  _drop(key) {
    for (const marker of this._markers.get(key) || []) this._group.removeLayer(marker);
    this._markers.delete(key);
  },
};
