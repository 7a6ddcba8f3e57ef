// Exam attempt page: a countdown to the server's deadline, saving each answer as it is
// chosen (PUT to the API), and handing the paper in when time is up. The server enforces
// the deadline on its own; this script only spares the person a lost answer.
(function () {
  "use strict";
  var form = document.getElementById("exam-form");
  var timer = document.getElementById("exam-timer");
  if (!form || !timer) { return; }
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var url = form.dataset.answersUrl;
  var endsAt = Date.now() + parseInt(timer.dataset.secondsLeft, 10) * 1000;
  var submitted = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    timer.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
    if (left <= 60) { timer.classList.replace("text-bg-dark", "text-bg-danger"); }
    if (left === 0 && !submitted) {
      submitted = true;
      window.alert(form.dataset.timeUp);
      form.submit();
      return;
    }
    window.setTimeout(tick, 1000);
  }

  function save(fieldset) {
    var qid = fieldset.dataset.question;
    var chosen = Array.prototype.map.call(
      fieldset.querySelectorAll("input:checked"), function (input) { return parseInt(input.value, 10); }
    );
    var answers = {};
    answers[qid] = chosen;
    var state = fieldset.querySelector(".save-state");
    fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ answers: answers })
    }).then(function (response) {
      state.textContent = response.ok ? form.dataset.saved : form.dataset.saveFailed;
    }).catch(function () { state.textContent = form.dataset.saveFailed; });
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-question]");
    if (fieldset) { save(fieldset); }
  });
  form.addEventListener("submit", function () { submitted = true; });
  tick();
})();
