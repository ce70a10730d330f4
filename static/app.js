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
  // fetch() callers get the CSRF token from the page: window.plotcareCsrf()
  window.plotcareCsrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
})();
