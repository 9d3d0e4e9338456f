// The idle-timeout warning: shown shortly before the server ends a session that has seen
// no request. "Stay signed in" is sent in the background, so nothing typed is lost.
// Without JavaScript the footer still says how long a session lasts.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  var ended = document.getElementById("session-ended");
  if (!box || !window.fetch) {
    return;
  }
  var idle = Number(box.getAttribute("data-idle")) * 1000;
  var warn = Number(box.getAttribute("data-warn")) * 1000;
  var form = box.querySelector("form");
  var warning, end;

  function arm() {
    box.hidden = true;
    clearTimeout(warning);
    clearTimeout(end);
    warning = setTimeout(function () { box.hidden = false; }, Math.max(idle - warn, 0));
    end = setTimeout(function () {
      box.hidden = true;
      ended.hidden = false;
    }, idle);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) {
          arm();
        }
      });
  });
  arm();
})();
