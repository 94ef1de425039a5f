/* LoopDesk workbench behaviour: live SLA countdowns, action dialogs, keyboard shortcuts, the category
   type-ahead and small conveniences. Plain JavaScript; htmx does the server round trips. */
(function () {
  "use strict";

  function fmt(template, time) { return template.replace("%(time)s", time); }

  function span(ms) {
    var b = document.body.dataset, m = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (d > 0) return d + b.i18nD + " " + h + b.i18nH;
    if (h > 0) return h + b.i18nH + " " + mm + b.i18nM;
    return mm + b.i18nM;
  }

  function tick() {
    var now = Date.now(), b = document.body.dataset;
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = due - now;
      el.textContent = left >= 0 ? fmt(b.i18nLeft, span(left)) : fmt(b.i18nOver, span(left));
    });
  }

  function openDialog() {
    var dlg = document.getElementById("action-dialog");
    if (dlg && !dlg.open) dlg.showModal();
    var first = dlg && dlg.querySelector("[autofocus], textarea, select, input:not([type=hidden]), button");
    if (first) first.focus();
  }

  /* --- category type-ahead: filters the <select> it enhances, matching any part of the path --- */
  function enhanceCombo(select) {
    if (select.dataset.enhanced) return;
    select.dataset.enhanced = "1";
    var wrap = document.createElement("div");
    wrap.className = "combo";
    var input = document.createElement("input");
    input.type = "search";
    input.id = select.id + "_search";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", select.id + "_list");
    input.setAttribute("aria-autocomplete", "list");
    input.placeholder = select.dataset.placeholder || "";
    input.autocomplete = "off";
    var list = document.createElement("ul");
    list.className = "combo-list";
    list.id = select.id + "_list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(input);
    wrap.appendChild(list);
    select.classList.add("visually-hidden");
    select.tabIndex = -1;
    var options = Array.prototype.filter.call(select.options, function (o) { return o.value; }).map(function (o) {
      return { value: o.value, label: o.dataset.path || o.textContent.trim(), search: (o.dataset.search || o.textContent).toLowerCase() };
    });
    var active = -1, shown = [];
    if (select.hasAttribute("data-autofocus")) setTimeout(function () { input.focus(); }, 0);
    if (select.value) {
      var cur = options.find(function (o) { return o.value === select.value; });
      if (cur) input.value = cur.label;
    }
    function render() {
      var q = input.value.trim().toLowerCase();
      var terms = q.split(/\s+/).filter(Boolean);
      shown = options.filter(function (o) { return terms.every(function (t) { return o.search.indexOf(t) >= 0; }); }).slice(0, 40);
      list.innerHTML = "";
      shown.forEach(function (o, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = list.id + "_" + i;
        li.textContent = o.label;
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = shown.length === 0;
      input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
    }
    function choose(i) {
      var o = shown[i];
      if (!o) return;
      select.value = o.value;
      input.value = o.label;
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    input.addEventListener("input", function () { active = 0; render(); });
    input.addEventListener("focus", function () { if (!select.value) { active = 0; render(); } });
    input.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 100); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { active = Math.min(active + 1, shown.length - 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
      else if (e.key === "Enter") { if (!list.hidden && shown.length) { choose(Math.max(active, 0)); e.preventDefault(); } }
      else if (e.key === "Escape") { list.hidden = true; }
      if (active >= 0) input.setAttribute("aria-activedescendant", list.id + "_" + active);
    });
  }

  function enhance(root) {
    (root || document).querySelectorAll("select[data-combobox]").forEach(enhanceCombo);
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    setInterval(tick, 30000);

    document.addEventListener("change", function (e) {
      if (e.target.matches("[data-autosubmit]")) e.target.form.submit();
      if (e.target.matches("[data-select-all]")) {
        var table = e.target.closest("table");
        table.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = e.target.checked; });
      }
    });

    document.addEventListener("keydown", function (e) {
      // Alt+<key> presses the page's button with that accesskey (Alt+S: "create and dispatch" on the desk) in every
      // browser: Firefox wants Alt+Shift and a headless Chromium none; when the browser handled it, it is done.
      if (e.altKey && !e.ctrlKey && !e.metaKey && !e.defaultPrevented && e.key && e.key.length === 1) {
        var target = document.querySelector('[accesskey="' + e.key.toLowerCase() + '"]');
        if (target && (target.matches("button, input[type=submit]"))) {
          e.preventDefault();
          target.click();
          return;
        }
      }
      var typing = /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
      if (e.key === "/" && !typing) {
        var q = document.getElementById("jump-q");
        if (q) { q.focus(); e.preventDefault(); }
      }
    });

    var dlg = document.getElementById("action-dialog");
    if (dlg) {
      dlg.addEventListener("click", function (e) {
        if (e.target === dlg || e.target.matches("[data-close-dialog]")) dlg.close();
      });
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    enhance(e.target);
    if (e.target.id === "dialog-body") openDialog();
  });

  // An htmx request answered 403, 404 or 5xx (not swapped: see the htmx-config meta) or not answered at all: say so,
  // in the user's language (data-i18n-error-* on <body>), where the user is looking. From a dialog or for a dialog,
  // inside the dialog; otherwise as a message at the top of the page.
  function showError(e, key) {
    var b = document.body.dataset, text = b["i18nError" + key] || b.i18nErrorFailed;
    var dlg = document.getElementById("action-dialog"), body = document.getElementById("dialog-body");
    var origin = e.detail && e.detail.elt, target = e.detail && e.detail.target;
    var inDialog = (dlg && origin && dlg.contains(origin)) || (target && target.id === "dialog-body");
    if (inDialog && body) {
      var box = body.querySelector(".htmx-error");
      if (!box) {
        box = document.createElement("div");
        box.className = "error htmx-error";
        box.setAttribute("role", "alert");
        body.insertBefore(box, body.firstChild);
      }
      box.textContent = text;
      if (!body.querySelector("[data-close-dialog]")) {
        var close = document.createElement("button");
        close.type = "button";
        close.setAttribute("data-close-dialog", "");
        close.textContent = b.i18nClose;
        box.appendChild(document.createTextNode(" "));
        box.appendChild(close);
      }
      openDialog();
      return;
    }
    var main = document.getElementById("main") || document.body, list = main.querySelector("ul.messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "status");
      main.insertBefore(list, main.firstChild);
    }
    var item = list.querySelector("li.htmx-error");
    if (!item) {
      item = document.createElement("li");
      item.className = "msg-error htmx-error";
      item.setAttribute("role", "alert");
      list.appendChild(item);
    }
    item.textContent = text;
  }

  document.addEventListener("htmx:responseError", function (e) {
    var status = e.detail && e.detail.xhr ? e.detail.xhr.status : 500;
    showError(e, status === 403 ? "Forbidden" : status === 404 ? "Missing" : "Failed");
  });
  document.addEventListener("htmx:sendError", function (e) { showError(e, "Network"); });
})();
