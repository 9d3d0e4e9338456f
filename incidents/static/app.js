// The only script: every page works without it. It adds, where the page has the parts:
// the warning before the idle sign-out, a quick exit that leaves no history entry, and
// the report form's autosave and double-tap guard. It stores nothing in the browser.
(function () {
  "use strict";

  // Quick exit: sign out in the background and replace this page in the history with a
  // neutral one, so that "back" does not return here.
  var exit = document.getElementById("quick-exit");
  if (exit) {
    exit.addEventListener("submit", function (event) {
      event.preventDefault();
      if (navigator.sendBeacon) {
        navigator.sendBeacon(exit.action, new FormData(exit));
      }
      window.location.replace(exit.getAttribute("data-exit-url"));
    });
  }

  // The idle-timeout warning: shown shortly before the server ends a session that has seen
  // no request; "Stay signed in" is sent in the background, so nothing typed is lost.
  var box = document.getElementById("session-warning");
  var ended = document.getElementById("session-ended");
  var rearm = function () {};
  if (box && window.fetch) {
    var idle = Number(box.getAttribute("data-idle")) * 1000;
    var warn = Number(box.getAttribute("data-warn")) * 1000;
    var keepAlive = box.querySelector("form");
    var warning, end;
    rearm = function () {
      box.hidden = true;
      clearTimeout(warning);
      clearTimeout(end);
      warning = setTimeout(function () { box.hidden = false; }, Math.max(idle - warn, 0));
      end = setTimeout(function () {
        // The server has ended the session: take what the page shows off the screen too.
        box.hidden = true;
        ended.hidden = false;
        window.location.replace(box.getAttribute("data-login"));
      }, idle);
    };
    keepAlive.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(keepAlive.action, { method: "POST", body: new FormData(keepAlive), credentials: "same-origin" })
        .then(function (response) { if (response.ok) { rearm(); } });
    });
    rearm();
  }

  // The report form: saved as a draft every 30 seconds while something changed (which also
  // keeps the session alive), and sent only once however often the button is tapped.
  var report = document.getElementById("report-form");
  if (report && window.fetch && window.FormData) {
    var status = document.getElementById("autosave-status");
    var draftField = report.querySelector("input[name=draft_id]");
    var changed = false;
    var sending = false;
    report.addEventListener("input", function () { changed = true; });
    report.addEventListener("change", function () { changed = true; });
    setInterval(function () {
      if (!changed || sending) {
        return;
      }
      changed = false;
      var data = new FormData(report);
      data.set("action", "autosave");
      fetch(report.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer && answer.saved) {
          draftField.value = answer.draft;
          status.textContent = status.getAttribute("data-saved") + " " + answer.at;
          status.hidden = false;
          rearm();
        } else {
          changed = true;
        }
      }).catch(function () { changed = true; });
    }, 30000);
    // Questions that apply only to some reports (trafficking, a child victim) show only
    // then; without JavaScript they are always there, headed "only for ...".
    var conditional = report.querySelectorAll("[data-when-field]");
    var applies = function (section) {
      var values = section.getAttribute("data-when-values").split(" ");
      var inputs = report.querySelectorAll("[name=" + section.getAttribute("data-when-field") + "]");
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        var chosen = input.type === "checkbox" || input.type === "radio" ? input.checked : true;
        if (chosen && values.indexOf(input.value) !== -1) {
          return true;
        }
      }
      return false;
    };
    var toggle = function () {
      for (var i = 0; i < conditional.length; i++) {
        conditional[i].hidden = !applies(conditional[i]);
      }
    };
    report.addEventListener("change", toggle);
    toggle();

    report.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.value === "draft") {
        return;
      }
      if (sending) {
        event.preventDefault();
        return;
      }
      sending = true;
    });
  }
})();
