/*
 * The lesson player: resumes where the learner stopped (on any device) and reports
 * progress with heartbeats. No dependencies, no CDN.
 *
 * Videos: a heartbeat every ~15 s while playing, and one on pause, seek, end and when the
 * page is hidden. Each carries the playback position and this device's clock; the server
 * credits at most the real time since the previous heartbeat, so skipping ahead or a
 * fast playback rate never counts more than was really watched.
 *
 * Documents (PDF/PPTX): a reading clock advances while the page is visible, focused and
 * the reader has been active in the last few minutes; it is the "position" sent.
 */
(function () {
  "use strict";

  var root = document.getElementById("lesson-player");
  if (!root) return;

  var kind = root.dataset.kind;
  var startUrl = root.dataset.startUrl;
  var heartbeatUrl = root.dataset.heartbeatUrl;
  var heartbeatToken = "";
  var duration = parseInt(root.dataset.duration, 10) || 0;
  var video = root.querySelector("video");
  var ui = {
    bar: root.querySelector('[data-role="bar"]'),
    percent: root.querySelector('[data-role="percent"]'),
    status: root.querySelector('[data-role="status"]'),
    clock: root.querySelector('[data-role="clock"]'),
    courseDone: root.querySelector('[data-role="course-done"]')
  };

  var intervalMs = 15000;
  var timer = null;
  var started = false;
  var sending = false;
  var readingSeconds = 0;
  var lastActivity = Date.now();
  var IDLE_MS = 5 * 60 * 1000;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // `start` is an ordinary logged-in call (session cookie + CSRF header). Heartbeats carry
  // the signed token that `start` returned instead, and no cookies: the server then needs
  // no session or user lookup for them.
  function post(url, body, keepalive, token) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (token) headers["X-Heartbeat-Token"] = token; else headers["X-CSRFToken"] = csrfToken();
    return fetch(url, {
      method: "POST",
      credentials: token ? "omit" : "same-origin",
      keepalive: !!keepalive,
      headers: headers,
      body: body ? JSON.stringify(body) : "{}"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function formatClock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function showProgress(watched, total, done) {
    var pct = total ? Math.min(100, Math.floor((watched * 100) / total)) : 0;
    if (ui.bar) ui.bar.style.width = pct + "%";
    if (ui.percent) ui.percent.textContent = pct;
    if (done && ui.status) ui.status.textContent = root.dataset.msgDone;
  }

  function position() {
    if (video) return video.currentTime || 0;
    return readingSeconds;
  }

  function start() {
    return post(startUrl).then(function (result) {
      if (!result.ok) {
        if (ui.status) ui.status.textContent = result.data.detail || root.dataset.msgOffline;
        return;
      }
      started = true;
      intervalMs = (result.data.heartbeat_seconds || 15) * 1000;
      heartbeatUrl = result.data.heartbeat_url || heartbeatUrl;
      heartbeatToken = result.data.heartbeat_token || "";
      var resume = result.data.position_seconds || 0;
      showProgress(result.data.watched_seconds || 0, duration, !!result.data.completed_at);
      if (video) {
        var seek = function () {
          if (resume > 0 && resume < (video.duration || duration) - 3) video.currentTime = resume;
        };
        if (video.readyState >= 1) seek(); else video.addEventListener("loadedmetadata", seek, { once: true });
      } else {
        readingSeconds = Math.min(resume, duration);
        if (ui.clock) ui.clock.textContent = formatClock(readingSeconds);
        startTimer();
      }
    }).catch(function () {
      if (ui.status) ui.status.textContent = root.dataset.msgOffline;
    });
  }

  function heartbeat(keepalive) {
    if (!started || sending) return;
    sending = true;
    post(heartbeatUrl, { position: Math.round(position() * 10) / 10, client_time: new Date().toISOString() }, keepalive, heartbeatToken)
      .then(function (result) {
        if (result.ok) {
          showProgress(result.data.watched_seconds, result.data.duration, result.data.lesson_done);
          if (result.data.course_completed && ui.courseDone) {
            ui.courseDone.textContent = root.dataset.msgCourseDone;
            ui.courseDone.classList.remove("d-none");
          }
        } else if ((result.status === 400 && result.data.client_time) || result.status === 403) {
          // Our clock and the server's disagree (sleep, clock change), or the token expired:
          // start counting afresh.
          start();
        } else if (ui.status) {
          ui.status.textContent = result.data.detail || root.dataset.msgOffline;
        }
      })
      .catch(function () {
        if (ui.status) ui.status.textContent = root.dataset.msgOffline;
      })
      .then(function () { sending = false; });
  }

  function startTimer() {
    if (timer) return;
    timer = window.setInterval(function () {
      if (!video) tickReading();
      if (!video || !video.paused) {
        if (Date.now() - (startTimer.last || 0) >= intervalMs) {
          startTimer.last = Date.now();
          heartbeat(false);
        }
      }
    }, 1000);
  }

  function stopTimer() {
    if (timer) window.clearInterval(timer);
    timer = null;
  }

  function readingActive() {
    return document.visibilityState === "visible" && document.hasFocus() && Date.now() - lastActivity < IDLE_MS;
  }

  function tickReading() {
    if (readingActive()) {
      if (readingSeconds < duration) readingSeconds += 1;
      if (ui.clock) ui.clock.textContent = formatClock(readingSeconds);
    } else if (ui.status) {
      ui.status.textContent = root.dataset.msgPaused;
    }
  }

  if (video) {
    video.addEventListener("play", function () { startTimer.last = Date.now(); startTimer(); });
    video.addEventListener("pause", function () { heartbeat(false); stopTimer(); });
    video.addEventListener("seeked", function () { heartbeat(false); });
    video.addEventListener("ended", function () { heartbeat(false); stopTimer(); });
  } else {
    ["mousemove", "scroll", "keydown", "touchstart", "click"].forEach(function (name) {
      window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") heartbeat(true);
  });
  window.addEventListener("pagehide", function () { heartbeat(true); });

  start();
})();
