/*
 * Live sync-run progress for the admin's sync run pages, without reloading the page.
 *
 * Contract with the server (promidata_sync/admin/display.py):
 *  - #pd-run-progress carries data-url (the progress endpoint) and data-interval-ms;
 *  - every run on the page has one state badge [data-run-field="state"][data-run-active];
 *  - progress bars are .pd-progress[data-run-field="families"|"images"], durations
 *    [data-run-field="duration"], rate and ETA [data-run-field="eta"], all tagged with
 *    data-run-id.
 * While a run is active the endpoint is polled (one request at a time) for the active runs
 * only; when none is left, polling stops and <html data-pd-polling="stopped"> is set.
 */
(function () {
  "use strict";

  const root = document.documentElement;

  function fields(runId, field) {
    return document.querySelectorAll(
      '[data-run-id="' + runId + '"][data-run-field="' + field + '"]'
    );
  }

  function activeIds() {
    const ids = [];
    document
      .querySelectorAll('[data-run-field="state"][data-run-active="true"]')
      .forEach(function (badge) {
        if (!ids.includes(badge.dataset.runId)) {
          ids.push(badge.dataset.runId);
        }
      });
    return ids;
  }

  function updateBar(bar, numbers) {
    bar.dataset.percent = String(numbers.percent);
    bar.setAttribute("aria-valuenow", String(numbers.percent));
    bar.querySelector(".pd-progress-done").style.width = numbers.done_width + "%";
    bar.querySelector(".pd-progress-failed").style.width = numbers.failed_width + "%";
    bar.querySelector(".pd-progress-label").textContent = numbers.label;
  }

  function update(run) {
    fields(run.id, "state").forEach(function (badge) {
      badge.className = "pd-badge pd-badge-" + run.state;
      badge.textContent = run.state_label;
      badge.dataset.runActive = run.active ? "true" : "false";
    });
    fields(run.id, "families").forEach(function (bar) { updateBar(bar, run.families); });
    fields(run.id, "images").forEach(function (bar) { updateBar(bar, run.images); });
    fields(run.id, "duration").forEach(function (cell) { cell.textContent = run.duration; });
    fields(run.id, "eta").forEach(function (cell) { cell.textContent = run.eta; });
    if (!run.active) {
      document
        .querySelectorAll('[data-run-finished-notice="' + run.id + '"]')
        .forEach(function (notice) { notice.hidden = false; });
    }
  }

  function markGone(ids, seen) {
    // A run that is gone (deleted) is no longer active either.
    ids.filter(function (id) { return !seen.includes(id); }).forEach(function (id) {
      fields(id, "state").forEach(function (badge) { badge.dataset.runActive = "false"; });
    });
  }

  function start(config) {
    const url = config.dataset.url;
    const interval = parseInt(config.dataset.intervalMs || "1500", 10);

    function poll() {
      const ids = activeIds();
      if (ids.length === 0) {
        root.dataset.pdPolling = "stopped";
        return;
      }
      root.dataset.pdPolling = "active";
      fetch(url + "?ids=" + ids.join(","), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) {
            // Logged out or no longer allowed: asking again will not help.
            root.dataset.pdPolling = "stopped";
            return undefined;
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json().then(function (data) {
            data.runs.forEach(update);
            markGone(ids, data.runs.map(function (run) { return String(run.id); }));
          });
        })
        .catch(function () { /* transient (server restart, network): try again next time */ })
        .finally(function () {
          if (root.dataset.pdPolling !== "stopped") {
            window.setTimeout(poll, interval);
          }
        });
    }

    if (activeIds().length === 0) {
      root.dataset.pdPolling = "stopped";
      return;
    }
    root.dataset.pdPolling = "active";
    window.setTimeout(poll, interval);
  }

  function init() {
    const config = document.getElementById("pd-run-progress");
    if (config) {
      start(config);
    }
  }

  // Loaded from <head> (the admin's {{ media }}): wait for the page's elements.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
