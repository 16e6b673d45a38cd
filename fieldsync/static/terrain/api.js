/* HTTP calls to the platform: the session probe and the sync API (docs/sync-protocol.md).
 * Every failure becomes a Terrain.api.Failure with a message in the page's language and a kind the
 * app acts on:
 * "offline" (no answer: network off or server down), "session" (logged out), "http" (a 4xx/5xx
 * answer of the API, with its detail and reasons).
 */
(function (Terrain) {
  "use strict";
  const config = () => Terrain.config;
  const t = Terrain.t;

  class Failure extends Error {
    constructor(kind, message, extra) {
      super(message);
      this.kind = kind;
      Object.assign(this, extra || {});
    }
  }

  let csrfToken = null;

  async function call(url, options) {
    let response;
    try {
      response = await fetch(url, {credentials: "same-origin", cache: "no-store",
                                   redirect: "manual", ...options});
    } catch (error) {
      throw new Failure("offline", t("noNetwork"));
    }
    if (response.type === "opaqueredirect" || response.status === 401 ||
        response.status === 403 && !(await isApiRefusal(response.clone()))) {
      throw sessionExpired();
    }
    return response;
  }

  // The API answers 403 "not_authenticated" when the session cookie is gone; its own refusals
  // (device disabled…) come as {"detail", "reasons", "code"}.
  const SESSION_CODES = ["not_authenticated", "authentication_failed"];

  async function isApiRefusal(response) {
    try {
      const body = await response.json();
      return Array.isArray(body.reasons) && !SESSION_CODES.includes(body.code);
    } catch (error) {
      return false;
    }
  }

  function sessionExpired() {
    return new Failure("session", t("sessionExpired"));
  }

  async function json(url, options) {
    return read(await call(url, options));
  }

  async function read(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.detail ? body.detail
        : t("serverError", {status: String(response.status)});
      throw new Failure("http", detail, {status: response.status, body,
                                         reasons: (body && body.reasons) || []});
    }
    return body;
  }

  function writeHeaders(extra) {
    return {"X-CSRFToken": csrfToken || "", ...(extra || {})};
  }

  const api = {
    Failure,
    async session() {
      const body = await json(config().urls.session);
      if (!body.authenticated) {
        throw sessionExpired();
      }
      if (!body.allowed) {
        throw new Failure("session", t("noSyncAccess"));
      }
      csrfToken = body.csrf_token;
      return body;
    },
    registerDevice(id, name) {
      return json(config().urls.devices, {
        method: "POST", headers: writeHeaders({"Content-Type": "application/json"}),
        body: JSON.stringify({id, name}),
      });
    },
    package(deviceId) {
      return json(config().urls.package + "?device=" + encodeURIComponent(deviceId));
    },
    changes(since, deviceId) {
      return json(config().urls.changes + "?since=" + encodeURIComponent(since) +
                  "&device=" + encodeURIComponent(deviceId));
    },
    // A batch of ASYNC_FROM changes or more is sent with "Prefer: respond-async": the server
    // stores it, answers 202 at once and applies it in the background, so a large push never
    // holds one of the web workers that also serve the maps (docs/sync-protocol.md § 4.3); the
    // answer is then read at its Location until it is complete. A smaller batch is answered in
    // the request, without the wait between two readings.
    async push(bodyText, changeCount) {
      const extra = {"Content-Type": "application/json"};
      if (changeCount >= api.ASYNC_FROM) {
        extra.Prefer = "respond-async";
      }
      let response = await call(config().urls.push, {
        method: "POST", headers: writeHeaders(extra), body: bodyText,
      });
      while (response.status === 202) {
        const location = response.headers.get("Location");
        const seconds = Math.min(10, Math.max(1, Number(response.headers.get("Retry-After")) || 1));
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        response = await call(location);
      }
      return read(response);
    },
    ASYNC_FROM: 20,
    photoUrl(sha256) {
      return config().urls.photo.replace("SHA256", sha256);
    },
    photoStatus(sha256) {
      return json(api.photoUrl(sha256));
    },
    putPhotoChunk(sha256, blob, start, total) {
      const end = start + blob.size - 1;
      return json(api.photoUrl(sha256), {
        method: "PUT", body: blob,
        headers: writeHeaders({"Content-Type": "application/octet-stream",
                               "Content-Range": `bytes ${start}-${end}/${total}`}),
      });
    },
  };

  Terrain.api = api;
})(window.Terrain = window.Terrain || {});
