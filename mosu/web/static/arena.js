/* mosu arena: vote with the keyboard (1/A, 2/B, 3/T tie, 4/D both bad; N next battle). */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) { return; }
    var key = (event.key || "").toLowerCase();
    var next = document.getElementById("next-battle");
    if (next && (key === "n" || key === "enter")) {
      event.preventDefault();
      window.location.href = next.getAttribute("href");
      return;
    }
    var form = document.getElementById("vote-form");
    if (!form || form.dataset.sent) { return; }
    var buttons = form.querySelectorAll("button[data-keys]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute("data-keys").split(" ").indexOf(key) >= 0) {
        event.preventDefault();
        form.dataset.sent = "1";
        form.requestSubmit(buttons[i]);
        return;
      }
    }
  });
})();

/* The rate-limit page: count the seconds down, then go back to voting (without JavaScript
   the page shows the seconds, refreshes itself when they are up, and has a link). */
(function () {
  "use strict";
  var counter = document.getElementById("countdown");
  var back = document.getElementById("back-to-voting");
  if (!counter || !back) { return; }
  var left = parseInt(counter.getAttribute("data-seconds"), 10) || 0;
  var timer = window.setInterval(function () {
    left -= 1;
    counter.textContent = String(Math.max(left, 0));
    if (left <= 0) {
      window.clearInterval(timer);
      window.location.href = back.getAttribute("href");
    }
  }, 1000);
})();
