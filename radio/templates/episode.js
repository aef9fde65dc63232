(function () {
  var NOW = {{ _("Now: ")|tojson }};
  var player = document.getElementById("player");
  var box = document.getElementById("cues");
  var follow = document.getElementById("follow");
  var nowChapter = document.getElementById("now-chapter");
  var cues = Array.prototype.slice.call(document.querySelectorAll("ol.transcript button"));
  var chapters = Array.prototype.slice.call(document.querySelectorAll("ol.chapters button"));
  var following = true, oursUntil = 0, currentCue = null, currentChapter = null;

  function play() { var p = player.play(); if (p && p.catch) { p.catch(function () {}); } }
  function seek(t) {
    if (player.readyState >= 1) { player.currentTime = t; play(); }
    else { player.addEventListener("loadedmetadata", function once() { player.removeEventListener("loadedmetadata", once); player.currentTime = t; play(); }); player.load(); }
  }
  function clock(s) {
    s = Math.floor(s); var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") + m : m) + ":" + (r < 10 ? "0" : "") + r;
  }
  function fromHash() {
    var m = /^#t=(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$/.exec(location.hash);
    if (!m) { return; }
    var parts = [m[1], m[2], m[3]].filter(function (x) { return x !== undefined; }).map(parseFloat), t = 0;
    parts.forEach(function (x) { t = t * 60 + x; });
    seek(t);
  }
  function inside(b, t) { return t >= parseFloat(b.dataset.start) && t < parseFloat(b.dataset.end); }
  function mark(list, old, t) {
    var found = null;
    for (var i = 0; i < list.length; i++) { if (inside(list[i], t)) { found = list[i]; break; } }
    if (found !== old) {
      if (old) { old.removeAttribute("aria-current"); }
      if (found) { found.setAttribute("aria-current", "true"); }
    }
    return found;
  }
  function scrollToCue(c) {
    var top = box.scrollTop + c.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 3;
    top = Math.max(0, Math.round(top));
    if (Math.abs(box.scrollTop - top) > 2) { oursUntil = Date.now() + 250; box.scrollTop = top; }
  }

  document.querySelectorAll("[data-start]").forEach(function (b) {
    b.addEventListener("click", function () { seek(parseFloat(b.dataset.start)); });
  });
  player.addEventListener("timeupdate", function () {
    var t = player.currentTime;
    var cue = mark(cues, currentCue, t);
    if (cue !== currentCue) { currentCue = cue; if (cue && following) { scrollToCue(cue); } }
    var ch = mark(chapters, currentChapter, t);
    if (ch !== currentChapter) { currentChapter = ch; nowChapter.textContent = ch ? NOW + ch.querySelector(".title").textContent : ""; }
  });
  player.addEventListener("loadedmetadata", function () {
    if (isFinite(player.duration)) { document.getElementById("duration").textContent = clock(player.duration); }
  });
  box.addEventListener("scroll", function () {
    if (Date.now() < oursUntil) { return; }
    if (following) { following = false; follow.hidden = false; }
  });
  follow.addEventListener("click", function () {
    following = true; follow.hidden = true;
    if (currentCue) { scrollToCue(currentCue); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || tag === "audio" || e.target.isContentEditable) { return; }
    if (e.key === " " && tag !== "button" && tag !== "a") {
      e.preventDefault(); if (player.paused) { play(); } else { player.pause(); }
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      var d = e.key === "ArrowLeft" ? -10 : 10;
      player.currentTime = Math.max(0, Math.min((player.duration || 0), player.currentTime + d));
    }
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
