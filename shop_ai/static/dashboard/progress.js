// Live progress of generation jobs: every 2 s, ask the dashboard for the jobs on this page that are
// still queued or running, and update their status and progress bar. Without JavaScript the page
// still shows the state it was rendered with.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.url;
  var ACTIVE = ["queued", "running"];
  var LABELS = {queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed",
                cancelled: "Cancelled", superseded: "Superseded"};

  function activeElements() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-job]"), function (el) {
      return ACTIVE.indexOf(el.dataset.status) !== -1;
    });
  }

  function update(el, job) {
    var wasActive = ACTIVE.indexOf(el.dataset.status) !== -1;
    el.dataset.status = job.status;
    var status = el.querySelector("[data-role=status]");
    if (status) {
      status.textContent = LABELS[job.status] || job.status;
      status.className = "status status-" + job.status;
    }
    var bar = el.querySelector("progress");
    if (bar) { bar.value = job.progress; bar.textContent = job.progress + " %"; }
    var text = el.querySelector("[data-role=progress]");
    if (text) { text.textContent = job.progress + " %"; }
    var listing = el.querySelector("[data-role=listing]");
    if (listing && job.listing_status) {
      listing.innerHTML = "";
      var badge = document.createElement("span");
      badge.className = "status status-" + job.listing_status;
      badge.textContent = job.listing_status;
      listing.appendChild(badge);
    }
    var error = el.querySelector("[data-role=error]");
    if (error) { error.textContent = job.error; }
    if (wasActive && ACTIVE.indexOf(job.status) === -1 && el.hasAttribute("data-reload-when-done")) {
      window.location.reload();  // the job page then shows the images and the listing buttons
    }
  }

  function poll() {
    var elements = activeElements();
    if (!url || elements.length === 0) { return; }
    var ids = elements.map(function (el) { return el.dataset.job; });
    fetch(url + "?ids=" + ids.join(","), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {jobs: []}; })
      .then(function (body) {
        body.jobs.forEach(function (job) {
          document.querySelectorAll('[data-job="' + job.id + '"]').forEach(function (el) { update(el, job); });
        });
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }

  window.setTimeout(poll, 2000);
})();
