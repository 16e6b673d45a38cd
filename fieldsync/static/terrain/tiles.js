/* Map tiles of the assignment area, for the map to work offline.
 *
 * Tiles are GetMap requests to the platform's own WMS in EPSG:3857 on the usual XYZ grid (256 px).
 * The map (map.js) and the prefetch below build the URL with the same function, so the tile the
 * map asks for offline is exactly the one the service worker keeps in the "terrain-tiles" cache.
 */
(function (Terrain) {
  "use strict";
  const HALF = 20037508.342789244;
  const TILE_CACHE = "terrain-tiles";
  const MAX_TILES = 400;      // a few zoom levels of a commune-sized area; bounded for storage
  const PARALLEL = 4;

  function url(z, x, y) {
    const size = (2 * HALF) / Math.pow(2, z);
    const minx = -HALF + x * size;
    const maxy = HALF - y * size;
    const bbox = [minx, maxy - size, minx + size, maxy].map((v) => v.toFixed(2)).join(",");
    const params = new URLSearchParams({
      SERVICE: "WMS", VERSION: "1.3.0", REQUEST: "GetMap",
      LAYERS: Terrain.config.basemapLayers, STYLES: "", CRS: "EPSG:3857", BBOX: bbox,
      WIDTH: "256", HEIGHT: "256", FORMAT: "image/png", TRANSPARENT: "TRUE",
    });
    return Terrain.config.urls.ows + "?" + params.toString();
  }

  function tileX(lon, z) {
    return Math.floor(((lon + 180) / 360) * Math.pow(2, z));
  }

  function tileY(lat, z) {
    const rad = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) *
                      Math.pow(2, z));
  }

  /* Tiles covering the WGS84 box, zoom by zoom from the first level, while under MAX_TILES. */
  function plan(bbox, zooms) {
    const [west, south, east, north] = bbox;
    const tiles = [];
    let lastZoom = null;
    for (let z = zooms[0]; z <= zooms[zooms.length - 1]; z++) {
      const level = [];
      for (let x = tileX(west, z); x <= tileX(east, z); x++) {
        for (let y = tileY(north, z); y <= tileY(south, z); y++) {
          level.push([z, x, y]);
        }
      }
      if (tiles.length + level.length > MAX_TILES && lastZoom !== null) {
        break;
      }
      tiles.push(...level);
      lastZoom = z;
    }
    return {tiles, minZoom: zooms[0], maxZoom: lastZoom};
  }

  async function prefetch(bbox, zooms, onProgress) {
    const {tiles, minZoom, maxZoom} = plan(bbox, zooms);
    const cache = await caches.open(TILE_CACHE);
    let done = 0;
    let failed = 0;
    const queue = tiles.slice();
    async function worker() {
      while (queue.length) {
        const [z, x, y] = queue.shift();
        const tileUrl = url(z, x, y);
        try {
          if (!(await cache.match(tileUrl))) {
            const response = await fetch(tileUrl, {credentials: "same-origin"});
            if (!response.ok) {
              throw new Error(String(response.status));
            }
            await cache.put(tileUrl, response);
          }
        } catch (error) {
          failed += 1;
        }
        done += 1;
        onProgress(done, tiles.length);
      }
    }
    await Promise.all(Array.from({length: PARALLEL}, worker));
    return {count: tiles.length - failed, failed, minZoom, maxZoom};
  }

  Terrain.tiles = {url, plan, prefetch, TILE_CACHE};
})(window.Terrain = window.Terrain || {});
