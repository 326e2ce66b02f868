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
