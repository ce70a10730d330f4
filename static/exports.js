// The Exports page: rows still being made poll their progress and update in place.
(function () {
  "use strict";
  var POLL_MS = 1000;

  function poll(row) {
    var url = row.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        var bar = row.querySelector("[data-export-progress]");
        var count = row.querySelector("[data-export-count]");
        var badge = row.querySelector("[data-export-status]");
        var unit = count ? count.textContent.split(" ").pop() : "rows";
        if (bar) { bar.max = Math.max(p.rows_total, 1); bar.value = p.rows_done; }
        if (count) { count.textContent = p.rows_done + " of " + p.rows_total + " " + unit; }
        if (badge) { badge.textContent = p.status_label; badge.className = "badge " + p.badge; }
        if (p.status === "done") {
          row.removeAttribute("data-progress-url");
          row.querySelector("[data-export-size]").textContent = p.size;
          var links = row.querySelector("[data-export-links]");
          links.textContent = "";
          p.links.forEach(function (link) {
            var a = document.createElement("a");
            a.className = "button";
            a.href = link.href;
            a.textContent = link.label;
            links.appendChild(a);
            links.appendChild(document.createTextNode(" "));
          });
        } else if (p.status === "failed") {
          // The reason and the Retry button come with the page.
          window.location.reload();
        }
      })
      .catch(function () {})
      .then(function () {
        if (row.hasAttribute("data-progress-url")) { window.setTimeout(function () { poll(row); }, POLL_MS); }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("tr[data-progress-url]").forEach(function (row) {
      window.setTimeout(function () { poll(row); }, POLL_MS);
    });
  });
})();
