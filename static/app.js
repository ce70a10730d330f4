// Plotcare's few behaviours. No inline script anywhere (CSP): pages opt in with data- attributes.
(function () {
  "use strict";
  // Buttons that ask before acting: <button data-confirm="Disable this user?">
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // Copy-to-clipboard for values shown once: <button data-copy="#token">
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy]");
    if (!el) return;
    var source = document.querySelector(el.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim());
      el.textContent = "Copied";
    }
  });
  // Quick find: results as you type under the header's box (the form works without this).
  var findBox = document.querySelector("[data-quick-find]");
  if (findBox) {
    var results = document.getElementById("quick-find-results");
    var timer = null;
    var asked = "";
    findBox.addEventListener("input", function () {
      clearTimeout(timer);
      var q = findBox.value.trim();
      if (q.length < 2) { results.innerHTML = ""; return; }
      timer = setTimeout(function () {
        asked = q;
        fetch("/find?partial=1&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { if (asked === q) results.innerHTML = html; })
          .catch(function () { results.innerHTML = ""; });
      }, 200);
    });
    findBox.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { results.innerHTML = ""; }
    });
  }
  // The header's Menu: folded away on a phone, open on a wide screen (where the
  // stylesheet shows its links even without this script).
  var menu = document.getElementById("site-menu");
  if (menu && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 64rem)");
    var fit = function () { menu.open = wide.matches; };
    fit();
    wide.addEventListener("change", fit);
  }
  // fetch() callers get the CSRF token from the page: window.plotcareCsrf()
  window.plotcareCsrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
})();
