// The booth: a prompter paced at the host's reading rate, a recorder with count-in and level meter, and the
// takes of this item. Each take is uploaded when recording stops; the server numbers it, measures it and says
// whether it is usable and whether the show still fits; Keep makes it the item's recording.
import { getJSON, postJSON, postBlob, el, typing } from "./api.js";

const main = document.getElementById("booth");
const itemId = main.dataset.item;
const $ = (id) => document.getElementById(id);
const text = $("text"), prompter = $("prompter"), verdict = $("verdict"), takesList = $("takes");
const recordBtn = $("record"), playBtn = $("play"), keepBtn = $("keep"), player = $("player");
let item = null;
let lastTake = null;  // the take Play and Keep act on
let recorder = null, stream = null, audioCtx = null, meterTimer = null, clockTimer = null, startedAt = 0;
let counting = false;
let scroll = { on: false, speed: 1, last: 0, pos: 0 };
let size = Number(localStorage.getItem("prompter-size") || 40);

async function load() {
  const r = await getJSON(`/api/items/${encodeURIComponent(itemId)}`);
  if (!r.ok) { verdict.textContent = r.body.error; return; }
  item = r.body;
  $("title").textContent = `${item.number}. ${item.title}`;
  $("meta").textContent = `${item.host} · target ${item.target} (${item.words} words at ${Math.round(item.wpm)} wpm` +
    `${item.wpm_measured ? ", measured" : ""}) · ${item.state}${item.actual ? ` ${item.actual}` : ""}`;
  $("cues").textContent = `IN: “${item.in_words}” · OUT: “${item.out_words}”`;
  text.replaceChildren(...item.paragraphs.map((p) => el("p", { text: p })), el("p", { class: "end", text: "— END —" }));
  $("prev").disabled = !item.prev;
  $("next").disabled = !item.next;
  showTiming(item.show.total, item.show.over_under, item.show.over);
  renderTakes();
  applySize();
}

function showTiming(total, overUnder, over) {
  const t = $("timing");
  t.textContent = `show: ${total}, ${overUnder}`;
  t.className = `timing ${over ? "over" : "fits"}`;
}

function renderTakes() {
  takesList.replaceChildren(...item.takes.map((t) => el("li", { "data-take": t.n, class: t.n === item.kept ? "kept" : "" },
    `take ${t.n} · ${t.length}${t.n === item.kept ? " · kept" : ""} `,
    el("button", { type: "button", onclick: () => { lastTake = t.n; togglePlay(); }, text: "play" }),
    t.n === item.kept ? "" : el("button", { type: "button", onclick: () => { lastTake = t.n; keep(); }, text: "keep" }))));
  if (lastTake === null && item.takes.length) lastTake = item.takes[item.takes.length - 1].n;
  playBtn.disabled = keepBtn.disabled = lastTake === null;
}

// --- prompter ---------------------------------------------------------------------------------------
function applySize() {
  text.style.fontSize = `${size}px`;
  localStorage.setItem("prompter-size", String(size));
}

function pxPerSecond() {
  // the whole text scrolls past in the time the host needs to read it, at the measured (or configured) rate
  const seconds = Math.max(5, (item.words / item.wpm) * 60);
  return (Math.max(0, text.scrollHeight - prompter.clientHeight * 0.5) / seconds) * scroll.speed;
}

function tick(now) {
  if (!scroll.on) return;
  const dt = scroll.last ? (now - scroll.last) / 1000 : 0;
  scroll.last = now;
  scroll.pos = Math.min(scroll.pos + pxPerSecond() * dt, prompter.scrollHeight);
  prompter.scrollTop = scroll.pos;
  requestAnimationFrame(tick);
}

function setScroll(on) {
  scroll.on = on;
  scroll.last = 0;
  scroll.pos = prompter.scrollTop;
  if (on) requestAnimationFrame(tick);
}

function setSpeed(by) {
  scroll.speed = Math.max(0.25, Math.min(3, Math.round((scroll.speed + by) * 100) / 100));
  $("speed").textContent = `speed ×${scroll.speed.toFixed(2)}`;
}

// --- recorder ---------------------------------------------------------------------------------------
function mimeType() {
  for (const t of ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(t)) return t;
  }
  return "";
}

async function microphone() {
  if (stream) return stream;
  stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
  });
  audioCtx = new AudioContext();
  const analyser = audioCtx.createAnalyser();
  analyser.fftSize = 2048;
  audioCtx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let clipUntil = 0;
  meterTimer = setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let peak = 0;
    for (const v of buf) peak = Math.max(peak, Math.abs(v));
    $("level").value = peak;
    if (peak >= 0.99) clipUntil = performance.now() + 1500;
    $("clip").hidden = performance.now() > clipUntil;
  }, 50);
  return stream;
}

async function countIn() {
  counting = true;
  try {
    for (const n of ["3", "2", "1"]) {
      $("countin").textContent = n;
      await new Promise((res) => setTimeout(res, 1000));
    }
  } finally {
    $("countin").textContent = "";
    counting = false;
  }
}

async function record() {
  if (recorder || counting) return;
  try {
    await microphone();
  } catch (e) {
    verdict.replaceChildren(el("p", { class: "bad", text: `No microphone: ${e.message}. Allow the microphone for this page.` }));
    return;
  }
  await countIn();
  const chunks = [];
  const type = mimeType();
  recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  recorder.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
  recorder.onstop = () => upload(new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" }));
  recorder.start(1000);
  startedAt = performance.now();
  main.dataset.recording = "true";
  recordBtn.textContent = "■ Stop R";
  recordBtn.classList.add("on");
  clockTimer = setInterval(() => { $("clock").textContent = clock(performance.now() - startedAt); }, 200);
  prompter.scrollTop = 0;
  setScroll(true);
}

function stop() {
  if (!recorder || recorder.state !== "recording") return;
  main.dataset.recordedMs = String(Math.round(performance.now() - startedAt));
  clearInterval(clockTimer);
  setScroll(false);
  recorder.stop();
  recordBtn.textContent = "● Record R";
  recordBtn.classList.remove("on");
  delete main.dataset.recording;
}

function clock(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function upload(blob) {
  const rec = recorder;
  verdict.replaceChildren(el("p", { text: `Saving the take (${Math.round(blob.size / 1024)} KB)…` }));
  const r = await postBlob(`/api/items/${encodeURIComponent(itemId)}/takes`, blob);
  recorder = null;
  if (!r.ok) {
    verdict.replaceChildren(el("p", { class: "bad", text: `Not saved: ${r.body.error || r.status}` }));
    return;
  }
  const v = r.body;
  lastTake = v.take;
  main.dataset.lastTake = String(v.take);
  const lines = [
    el("p", { class: v.usable ? "good" : "bad", text: `Take ${v.take}: ${v.length} (${v.speech} of speech, target ${v.estimated}), ` +
      `${v.loudness === null ? "silent" : `${v.loudness} LUFS`}: ${v.usable ? "usable" : "not usable"}.` }),
    ...v.problems.map((p) => el("p", { class: "bad", text: p })),
    ...v.warnings.map((p) => el("p", { class: "warn", text: p })),
    el("p", { class: v.if_kept.fits ? "good" : "bad", text: `If kept, the show is ${v.if_kept.total}: ${v.if_kept.over_under}` +
      `${v.if_kept.fits ? ", it still fits." : ", it does not fit."} K keeps it; R records another take.` }),
  ];
  verdict.replaceChildren(...lines);
  verdict.dataset.take = String(v.take);
  await load();
}

async function keep() {
  if (lastTake === null) return;
  const r = await postJSON(`/api/items/${encodeURIComponent(itemId)}/keep`, { take: lastTake });
  if (!r.ok) {
    verdict.replaceChildren(el("p", { class: "bad", text: r.body.error || `error ${r.status}` }));
    return;
  }
  main.dataset.kept = String(r.body.kept);
  const it = r.body.state.items.find((x) => x.id === itemId);
  verdict.replaceChildren(el("p", { class: "good", text: `Kept take ${r.body.kept} as ${r.body.file}: ${it.actual}. ` +
    `The show is now ${r.body.state.total}, ${r.body.state.over_under}.` }));
  await load();
}

function togglePlay() {
  if (lastTake === null) return;
  const src = `/takes/${encodeURIComponent(itemId)}/${lastTake}`;
  if (!player.src.endsWith(src)) { player.src = src; player.play(); return; }
  if (player.paused) player.play(); else player.pause();
}

function go(id) { if (id && !recorder) location.href = `/booth/${encodeURIComponent(id)}`; }

recordBtn.addEventListener("click", () => (recorder ? stop() : record()));
playBtn.addEventListener("click", togglePlay);
keepBtn.addEventListener("click", keep);
$("prev").addEventListener("click", () => go(item?.prev));
$("next").addEventListener("click", () => go(item?.next));
$("scroll").addEventListener("click", () => setScroll(!scroll.on));
$("slower").addEventListener("click", () => setSpeed(-0.1));
$("faster").addEventListener("click", () => setSpeed(0.1));
$("smaller").addEventListener("click", () => { size = Math.max(16, size - 4); applySize(); });
$("bigger").addEventListener("click", () => { size = Math.min(120, size + 4); applySize(); });
$("mirror").addEventListener("click", () => {
  const on = prompter.classList.toggle("mirror");
  $("mirror").setAttribute("aria-pressed", String(on));
});
$("top").addEventListener("click", () => { prompter.scrollTop = 0; scroll.pos = 0; });

document.addEventListener("keydown", (ev) => {
  if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = ev.key;
  const actions = {
    r: () => (recorder ? stop() : record()), R: () => (recorder ? stop() : record()),
    " ": togglePlay, k: keep, K: keep, n: () => go(item?.next), N: () => go(item?.next),
    ArrowLeft: () => go(item?.prev), ArrowRight: () => go(item?.next),
    p: () => setScroll(!scroll.on), P: () => setScroll(!scroll.on),
    "+": () => setSpeed(0.1), "=": () => setSpeed(0.1), "-": () => setSpeed(-0.1),
    ArrowUp: () => setSpeed(0.1), ArrowDown: () => setSpeed(-0.1),
    "[": () => $("smaller").click(), "]": () => $("bigger").click(), m: () => $("mirror").click(), M: () => $("mirror").click(),
    Home: () => $("top").click(),
  };
  if (actions[k]) { ev.preventDefault(); actions[k](); }
});

setSpeed(0);
load();
setInterval(async () => {  // the show's timing, live: other hosts' takes change it too
  if (recorder) return;
  const r = await getJSON("/api/state");
  if (r.ok && !r.body.error) showTiming(r.body.total, r.body.over_under, r.body.over);
}, 3000);
