// Submits the one-tap check-in form at once: the scanned code is only valid for a short time.
(function () {
  var form = document.getElementById("lectures-checkin-form");
  if (form && !form.dataset.sent) {
    form.dataset.sent = "1";
    form.submit();
  }
})();
