/* mosu corpus upload: the form is sent by XHR with a progress bar, the answer replaces the page.
   Messages come from the form's data-msg-* attributes (in the page's language). */
(function () {
  "use strict";
  var form = document.getElementById("corpus-upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  form.addEventListener("submit", function (event) {
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
    var total = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      for (var i = 0; i < input.files.length; i++) { total += input.files[i].size; }
    });
    if (limit && total > limit) {
      event.preventDefault();
      status.textContent = form.getAttribute("data-msg-too-big");
      return;
    }
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(100 * e.loaded / e.total);
        status.textContent = bar.value + "%";
      }
    });
    xhr.upload.addEventListener("load", function () { status.textContent = form.getAttribute("data-msg-uploaded"); });
    xhr.addEventListener("load", function () {
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { status.textContent = form.getAttribute("data-msg-failed"); bar.hidden = true; });
    xhr.send(new FormData(form));
  });
})();
