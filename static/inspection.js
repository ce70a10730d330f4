// The inspection form: saves each answer as it is given, and keeps answers
// that could not be sent (no connection) in localStorage until they are.
// Loaded only on the inspection page. Without it, the form still works by a normal submit.
(function () {
  "use strict";
  var form = document.getElementById("inspection-form");
  if (!form || !window.fetch) return;
  var id = form.getAttribute("data-inspection");
  var storeKey = "plotcare-inspection-" + id;
  var status = document.getElementById("save-status");
  var pending = load();
  var sending = false;
  var timers = {};

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { return {}; }
  }
  function persist() {
    try {
      if (Object.keys(pending).length) window.localStorage.setItem(storeKey, JSON.stringify(pending));
      else window.localStorage.removeItem(storeKey);
    } catch (e) { /* storage full or disabled: answers are still sent while online */ }
  }
  function show(text, kind) {
    if (!status) return;
    status.textContent = text;
    status.setAttribute("data-state", kind);
  }
  function itemOf(el) { return el.closest(".inspection-item"); }
  function valueOf(item) {
    var key = item.getAttribute("data-key");
    var answer = "";
    var checked = item.querySelector('input[type=radio][name="answer_' + key + '"]:checked');
    if (checked) answer = checked.value;
    else {
      var field = item.querySelector('[name="answer_' + key + '"]:not([type=radio])');
      if (field) answer = field.value;
    }
    var notes = item.querySelector('[name="notes_' + key + '"]');
    return { answer: answer, notes: notes ? notes.value : "" };
  }
  function apply(item, value) {
    var key = item.getAttribute("data-key");
    var radios = item.querySelectorAll('input[type=radio][name="answer_' + key + '"]');
    for (var i = 0; i < radios.length; i++) radios[i].checked = radios[i].value === value.answer;
    var field = item.querySelector('[name="answer_' + key + '"]:not([type=radio])');
    if (field) field.value = value.answer;
    var notes = item.querySelector('[name="notes_' + key + '"]');
    if (notes) notes.value = value.notes;
    reflect(item, value);
  }
  function reflect(item, value) {
    item.classList.toggle("failed", value.answer === "fail");
    var raise = item.querySelector("[data-raise]");
    if (raise) raise.hidden = value.answer !== "fail";
  }
  function message(item, text) {
    var el = item.querySelector("[data-message]");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }
  function queue(item) {
    var value = valueOf(item);
    reflect(item, value);
    pending[item.getAttribute("data-key")] = value;
    persist();
    flush();
  }
  function same(a, b) { return a && b && a.answer === b.answer && a.notes === b.notes; }

  function flush() {
    if (sending) return;
    var keys = Object.keys(pending);
    if (!keys.length) return;
    if (navigator.onLine === false) { show("Offline – will send when back online", "offline"); return; }
    sending = true;
    show("Saving…", "saving");
    var key = keys[0];
    var value = pending[key];
    fetch("/inspections/" + id + "/items/" + encodeURIComponent(key), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(value)
    }).then(function (response) {
      var item = document.getElementById("item-" + key);
      if (response.ok || (response.status >= 400 && response.status < 500)) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (same(pending[key], value)) delete pending[key];
          persist();
          if (item) message(item, response.ok ? "" : (body.message || "This answer was not saved."));
          sending = false;
          if (Object.keys(pending).length) flush();
          else show(response.ok ? "Saved" : "Not saved: see the message on the item", response.ok ? "saved" : "error");
        });
      }
      throw new Error("server " + response.status);
    }).catch(function () {
      sending = false;
      show("Offline – will send when back online", "offline");
      window.setTimeout(flush, 15000);
    });
  }

  form.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute("data-photo-input")) { upload(el); return; }
    var item = itemOf(el);
    if (item && el.name && (el.name.indexOf("answer_") === 0 || el.name.indexOf("notes_") === 0)) queue(item);
  });
  form.addEventListener("input", function (event) {
    var el = event.target;
    var item = itemOf(el);
    if (!item || el.type === "radio" || !el.name) return;
    var key = item.getAttribute("data-key");
    window.clearTimeout(timers[key]);
    timers[key] = window.setTimeout(function () { queue(item); }, 800);
  });

  function upload(input) {
    var item = itemOf(input);
    if (!item || !input.files || !input.files.length) return;
    var data = new FormData();
    data.append("photo", input.files[0]);
    show("Saving…", "saving");
    fetch("/inspections/" + id + "/items/" + encodeURIComponent(item.getAttribute("data-key")) + "/photos", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: data
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) { message(item, body.message || "The photo was not saved."); show("Not saved: see the message on the item", "error"); return; }
        var list = item.querySelector("[data-photos]");
        if (list && body.photo) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = body.photo.href;
          a.target = "_blank";
          a.rel = "noopener";
          a.textContent = body.photo.name;
          li.appendChild(a);
          list.appendChild(li);
        }
        input.value = "";
        message(item, "");
        show("Saved", "saved");
      });
    }).catch(function () {
      // Kept in the file field: "Save answers" sends it with the rest when back online.
      show("Offline – the photo will go with “Save answers” when back online", "offline");
    });
  }

  // Answers kept from an earlier visit (sent while offline) win over the page's saved ones, then go out.
  Object.keys(pending).forEach(function (key) {
    var item = document.getElementById("item-" + key);
    if (item) apply(item, pending[key]); else delete pending[key];
  });
  persist();
  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { show("Offline – will send when back online", "offline"); });
  flush();
})();
