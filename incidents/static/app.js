// The only script: every page works without it. It adds, where the page has the parts:
// the warning before the idle sign-out, a quick exit that leaves no history entry, and
// the report form's autosave and double-tap guard. It stores nothing in the browser.
(function () {
  "use strict";

  // Quick exit: sign out in the background and replace this page in the history with a
  // neutral one, so that "back" does not return here.
  // A form's own "action" property is shadowed by a control of that name (the report
  // form's buttons are named "action"): read the attribute, always.
  var target = function (form) { return form.getAttribute("action"); };

  var exit = document.getElementById("quick-exit");
  if (exit) {
    exit.addEventListener("submit", function (event) {
      event.preventDefault();
      if (navigator.sendBeacon) {
        navigator.sendBeacon(target(exit), new FormData(exit));
      }
      window.location.replace(exit.getAttribute("data-exit-url"));
    });
  }

  // The idle-timeout warning: shown shortly before the server ends a session that has seen
  // no request; "Stay signed in" is sent in the background, so nothing typed is lost.
  // What the report form below does when the warning shows and when the session ends;
  // other pages have none.
  var onWarning = function () {};
  var onEnd = null;
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
      warning = setTimeout(function () { box.hidden = false; onWarning(); }, Math.max(idle - warn, 0));
      end = setTimeout(function () {
        // The server has ended the session: take what the page shows off the screen too,
        // and keep what was typed on the report form (the server keeps it as a draft).
        box.hidden = true;
        ended.hidden = false;
        if (onEnd) {
          onEnd();
        } else {
          window.location.replace(box.getAttribute("data-login"));
        }
      }, idle);
    };
    keepAlive.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(target(keepAlive), { method: "POST", body: new FormData(keepAlive), credentials: "same-origin" })
        .then(function (response) { if (response.ok) { rearm(); } });
    });
    rearm();
  }

  // The report form: saved as a draft every 30 seconds while something changed (saving is
  // activity, so a leader who is typing stays signed in), and sent only once however often
  // the button is tapped. If the session ends all the same, the form is sent as a draft:
  // the server keeps it for its owner, who finds it after signing in again.
  var report = document.getElementById("report-form");
  if (report && window.fetch && window.FormData) {
    var status = document.getElementById("autosave-status");
    var draftField = report.querySelector("input[name=draft_id]");
    var draftButton = report.querySelector("button[value=draft]");
    var changed = false;
    var touched = draftField.value !== "";
    var sending = false;
    var saving = null;  // the autosave under way, if any
    var leaving = false;  // the page is on its way to the sign-in page already
    var edited = function () { changed = touched = true; };
    report.addEventListener("input", edited);
    report.addEventListener("change", edited);
    var autosave = function () {
      if (!changed || sending) {
        return;
      }
      changed = false;
      var data = new FormData(report);
      data.set("action", "autosave");
      saving = fetch(target(report), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer && answer.signed_out) {
          // Kept as a draft after the session ended elsewhere: sign in to find it.
          sending = leaving = true;
          window.location.replace(answer.login);
        } else if (answer && answer.saved) {
          draftField.value = answer.draft;
          status.textContent = status.getAttribute("data-saved") + " " + answer.at;
          status.hidden = false;
          rearm();
        } else {
          changed = true;
        }
      }).catch(function () { changed = true; }).then(function () { saving = null; });
    };
    setInterval(autosave, 30000);
    onWarning = autosave;
    onEnd = function () {
      if (!touched || sending) {
        window.location.replace(box.getAttribute("data-login"));
        return;
      }
      sending = true;
      // Once the autosave under way (if any) has said which draft this is, the form is
      // sent as that draft, ending the session (were it still alive on the server, the
      // save would otherwise count as activity and keep the page open for good).
      (saving || Promise.resolve()).then(sendAsDraft, sendAsDraft);
    };
    var sendAsDraft = function () {
      if (leaving) {
        return;
      }
      var hidden = function (name, value) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        report.appendChild(input);
      };
      hidden("idle", "1");
      if (report.requestSubmit) {
        report.requestSubmit(draftButton);
      } else {
        hidden("action", "draft");
        report.submit();
      }
    };
    // Questions that apply only to some reports (trafficking, a child victim) show only
    // then, unfolded; without JavaScript they are there, folded, headed "only for ...".
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
        var shown = applies(conditional[i]);
        conditional[i].hidden = !shown;
        if (shown && "open" in conditional[i]) {
          conditional[i].open = true;
        }
      }
    };
    report.addEventListener("change", toggle);
    toggle();

    report.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.value === "draft") {
        sending = true;
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
