/* shop-ai browser snippet: sends product views and basket additions in batches, and shows each
 * shopper the image drawn for their persona. No dependencies, no cookies.
 *
 *   <script src="https://YOUR-SHOP-AI/snippet/shop-ai.js"></script>
 *   <script>ShopAI.init({key: "pk_…", consent: true}); ShopAI.view("fan-1");</script>
 *
 * Sends nothing until consent is given (init option or ShopAI.consent(true)) and never when the
 * browser asks not to be tracked (Do Not Track, Global Privacy Control). Unsent events wait in
 * localStorage and are retried with the same ids, so a retry is deduplicated, never counted twice.
 */
(function (window, document) {
  "use strict";
  var PREFIX = "shopai:";
  var MAX_BATCH = 20;
  var FLUSH_DELAY_MS = 1000;
  var MAX_QUEUE = 500;
  var MAX_BACKOFF_MS = 60000;
  var script = document.currentScript;

  var state = {
    key: null,
    endpoint: script && script.src ? new URL(script.src).origin : "",
    customerId: null,
    consent: false,
    queue: [],
    timer: null,
    sending: false,
    failures: 0
  };

  function doNotTrack() {
    return navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  }

  function allowed() {
    return Boolean(state.key) && state.consent && !doNotTrack();
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (blocked) {
      return null;
    }
  }

  function read(name, fallback) {
    var store = storage();
    try {
      var text = store && store.getItem(PREFIX + name);
      return text ? JSON.parse(text) : fallback;
    } catch (broken) {
      return fallback;
    }
  }

  function write(name, value) {
    var store = storage();
    try {
      if (store) {
        if (value === null) store.removeItem(PREFIX + name);
        else store.setItem(PREFIX + name, JSON.stringify(value));
      }
    } catch (full) { /* private mode or full: the queue lives in memory only */ }
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function visitorId() {
    if (state.customerId) return state.customerId;
    var id = read("visitor", null);
    if (!id) {
      id = "anon-" + newId();
      write("visitor", id);
    }
    return id;
  }

  function saveQueue() {
    write("queue:" + state.key, state.queue);
  }

  function schedule(delay) {
    if (state.timer) return;
    state.timer = window.setTimeout(function () {
      state.timer = null;
      flush();
    }, delay);
  }

  function batchBody(batch) {
    return JSON.stringify({ key: state.key, sent_at: new Date().toISOString(), events: batch });
  }

  function forget(batch) {
    var sent = {};
    batch.forEach(function (event) { sent[event.event_id] = true; });
    state.queue = state.queue.filter(function (event) { return !sent[event.event_id]; });
    saveQueue();
  }

  function retryLater() {
    state.failures += 1;
    schedule(Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.failures)));
  }

  function flush() {
    if (!allowed() || state.sending || !state.queue.length) return;
    var batch = state.queue.slice(0, MAX_BATCH);
    state.sending = true;
    // text/plain keeps this a "simple" request: no CORS preflight before every batch.
    window.fetch(state.endpoint + "/api/v1/browser/events", {
      method: "POST", body: batchBody(batch), headers: { "Content-Type": "text/plain" },
      keepalive: true, credentials: "omit", mode: "cors"
    }).then(function (response) {
      state.sending = false;
      var refused = response.status >= 400 && response.status < 500 && response.status !== 429;
      if (response.ok || refused) {  // a refusal would be refused again: shop-ai kept it as a failed event
        state.failures = 0;
        forget(batch);
        if (state.queue.length) schedule(0);
      } else {
        retryLater();
      }
    }, function () {
      state.sending = false;
      retryLater();
    });
  }

  function leaving() {
    // The page is going away: hand the queue to the browser. It stays stored as well, because a
    // beacon's fate is unknown; the next page sends it again and shop-ai drops the duplicates.
    if (allowed() && state.queue.length && navigator.sendBeacon) {
      navigator.sendBeacon(state.endpoint + "/api/v1/browser/events", batchBody(state.queue.slice(0, MAX_BATCH)));
    }
  }

  function track(type, productId, extra) {
    if (!allowed() || productId === undefined || productId === null) return false;
    var event = { event_id: "web-" + newId(), type: type, customer_id: visitorId(), product_id: String(productId),
                  occurred_at: new Date().toISOString() };
    Object.keys(extra).forEach(function (name) { event[name] = extra[name]; });
    state.queue.push(event);
    if (state.queue.length > MAX_QUEUE) state.queue.splice(0, state.queue.length - MAX_QUEUE);
    saveQueue();
    schedule(state.queue.length >= MAX_BATCH ? 0 : FLUSH_DELAY_MS);
    return true;
  }

  function swapImages(root) {
    if (!allowed()) return;  // without consent the page keeps its own images and asks nothing
    var images = (root || document).querySelectorAll("img[data-shop-ai-product]");
    Array.prototype.forEach.call(images, function (image) {
      var url = state.endpoint + "/api/v1/browser/products/" +
        encodeURIComponent(image.getAttribute("data-shop-ai-product")) + "?key=" + encodeURIComponent(state.key) +
        "&customer_id=" + encodeURIComponent(visitorId());
      window.fetch(url, { credentials: "omit", mode: "cors" }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer) return;
        if (answer.variant !== "original" && answer.image_url) image.src = answer.image_url;
        image.setAttribute("data-shop-ai-variant", answer.variant);
      }, function () { /* shop-ai unreachable: the original image stays */ });
    });
  }

  function whenReady(callback) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", callback);
    else callback();
  }

  function start() {
    if (!allowed()) return;
    var stored = read("queue:" + state.key, []);
    var known = {};
    state.queue.forEach(function (event) { known[event.event_id] = true; });
    state.queue = stored.filter(function (event) { return !known[event.event_id]; }).concat(state.queue);
    if (state.queue.length) schedule(0);
  }

  var ShopAI = {
    init: function (options) {
      options = options || {};
      state.key = options.key || null;
      if (options.endpoint) state.endpoint = String(options.endpoint).replace(/\/+$/, "");
      state.customerId = options.customerId ? String(options.customerId) : null;
      state.consent = options.consent === true;
      start();
      if (options.swapImages !== false) whenReady(function () { swapImages(); });
      return ShopAI;
    },
    consent: function (given) {
      state.consent = given === true;
      if (state.consent) {
        start();
        whenReady(function () { swapImages(); });
      } else {  // withdrawn: forget what waits to be sent and the anonymous id
        state.queue = [];
        write("queue:" + state.key, null);
        write("visitor", null);
      }
    },
    identify: function (customerId) { state.customerId = customerId ? String(customerId) : null; },
    view: function (productId, properties) {
      return track("view", productId, properties ? { properties: properties } : {});
    },
    addToCart: function (productId, quantity, properties) {
      var extra = { quantity: quantity || 1 };
      if (properties) extra.properties = properties;
      return track("add_to_cart", productId, extra);
    },
    swapImages: swapImages,
    flush: flush,
    pending: function () { return state.queue.length; }
  };

  window.addEventListener("pagehide", leaving);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leaving();
  });
  window.ShopAI = ShopAI;
})(window, document);
