/*
 * Redraws parts of an admin page from the server without reloading it (the queue dashboard).
 *
 * Contract with the page:
 *  - #pd-page-refresh carries data-interval-ms;
 *  - every element to redraw has an id and the attribute data-pd-refresh.
 * Every interval the page's own URL is fetched (one request at a time, not while the tab is
 * hidden) and each such element is replaced by the element of the same id in the answer.
 * A round is skipped while the user is typing in a field of one of them, so nothing is lost.
 * <html data-pd-refreshes="N"> counts the redraws; a 4xx answer (logged out, no longer
 * allowed) stops them and sets <html data-pd-refresh="stopped">.
 */
(function () {
  "use strict";

  const root = document.documentElement;

  function typingInside() {
    const active = document.activeElement;
    if (!active || !/^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
      return false;
    }
    return active.closest("[data-pd-refresh]") !== null;
  }

  function redraw(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-pd-refresh][id]").forEach(function (section) {
      const replacement = fresh.getElementById(section.id);
      if (replacement) {
        section.replaceWith(document.importNode(replacement, true));
      }
    });
    root.dataset.pdRefreshes = String(parseInt(root.dataset.pdRefreshes || "0", 10) + 1);
  }

  function start(config) {
    const interval = parseInt(config.dataset.intervalMs || "5000", 10);
    root.dataset.pdRefresh = "active";

    function round() {
      if (document.hidden || typingInside()) {
        window.setTimeout(round, interval);
        return;
      }
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) {
            root.dataset.pdRefresh = "stopped";
            return undefined;
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.text().then(redraw);
        })
        .catch(function () { /* transient (server restart, network): try again next time */ })
        .finally(function () {
          if (root.dataset.pdRefresh !== "stopped") {
            window.setTimeout(round, interval);
          }
        });
    }

    window.setTimeout(round, interval);
  }

  function init() {
    const config = document.getElementById("pd-page-refresh");
    if (config) {
      start(config);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
