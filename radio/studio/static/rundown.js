// The rundown view: every item with its status and times, the show's over/under, kept live by polling;
// the producer moves items (keys or drag) and sets them aside; rundown.yaml is written by the server.
import { getJSON, postJSON, el, typing } from "./api.js";

const tbody = document.querySelector("#items tbody");
const timing = document.getElementById("timing");
const notice = document.getElementById("notice");
const title = document.getElementById("title");
let current = null;  // the state as shown: its digest is what an edit says it saw
let busy = false;
let generation = 0;  // bumped by every edit: a poll that started before one is stale
let dragId = null;

function say(text, kind = "info") {
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = !text;
}

function render(state) {
  const focused = document.activeElement?.closest?.("tr[data-id]")?.dataset.id;
  current = state;
  document.body.dataset.digest = state.digest;
  if (state.error) {
    timing.textContent = "";
    say(state.error, "error");
    tbody.replaceChildren();
    return;
  }
  title.textContent = `${state.title} (${state.week})`;
  timing.textContent = `total ${state.total} of ${state.slot}: ${state.over_under}`;
  timing.className = `timing ${state.over ? "over" : "fits"}`;
  const rows = state.items.map((it) => {
    const tr = el("tr", {
      "data-id": it.id, tabindex: "0", draggable: "true",
      class: [it.skipped ? "skipped" : "", it.cut ? "cut" : "", `state-${it.state.replace(" ", "-")}`].join(" ").trim(),
      "aria-label": `${it.number}. ${it.title}, ${it.state}`,
    },
      el("td", { class: "t", text: it.number }),
      el("td", { class: "t hit", text: it.hit }),
      el("td", {}, el("span", { class: "slug", text: it.id }), el("br"), el("span", { class: "title", text: it.title })),
      el("td", { class: "lo", text: it.host }),
      el("td", { class: "lo", text: it.type }),
      el("td", { class: "state", text: it.state + (it.cut ? " · cut?" : "") }),
      el("td", { class: "t", text: it.estimated }),
      el("td", { class: "t", text: it.actual }),
      el("td", { class: "t lo", text: it.front }),
      el("td", { class: "t", text: it.back }),
      el("td", { class: "lo", text: it.takes.length ? `${it.takes.length}${it.kept ? ` (kept ${it.kept})` : ""}` : "" }),
      el("td", { class: "actions" },
        el("button", { type: "button", title: "move up", "aria-label": `move ${it.id} up`, onclick: () => move(it.id, -1), text: "▲" }),
        el("button", { type: "button", title: "move down", "aria-label": `move ${it.id} down`, onclick: () => move(it.id, 1), text: "▼" }),
        el("button", { type: "button", class: "skip", onclick: () => skip(it.id, !it.skipped), text: it.skipped ? "restore" : "set aside" }),
        it.speech ? el("a", { href: `/booth/${encodeURIComponent(it.id)}`, class: "button", text: "booth" }) : ""),
    );
    tr.addEventListener("dragstart", (ev) => { dragId = it.id; ev.dataTransfer.effectAllowed = "move"; });
    tr.addEventListener("dragover", (ev) => { ev.preventDefault(); });
    tr.addEventListener("drop", (ev) => {
      ev.preventDefault();
      const ids = current.items.map((x) => x.id);
      if (dragId && dragId !== it.id) move(dragId, ids.indexOf(it.id) - ids.indexOf(dragId));
      dragId = null;
    });
    return tr;
  });
  tbody.replaceChildren(...rows);
  if (focused) tbody.querySelector(`tr[data-id="${CSS.escape(focused)}"]`)?.focus();
}

async function edit(change) {
  if (busy || !current) return;
  busy = true;
  generation += 1;
  try {
    const r = await postJSON("/api/rundown", { ...change, digest: current.digest });
    if (r.ok) {
      say("");
      render(r.body);
    } else if (r.body.conflict) {
      render(r.body.state);
      say("rundown.yaml changed on disk since this page loaded, so nothing was written. " +
          "The page now shows the file as it is: make the change again.", "warn");
    } else {
      say(r.body.error || `error ${r.status}`, "error");
    }
  } finally {
    busy = false;
  }
}

function move(id, by) { return edit({ op: "move", id, by }); }
function skip(id, value) { return edit({ op: "skip", id, skip: value }); }

async function poll() {
  if (busy) return;
  const seen = generation;
  const r = await getJSON("/api/state");
  if (!r.ok || busy || seen !== generation) return;
  const changedOnDisk = current && r.body.digest !== current.digest;
  if (!current || JSON.stringify(r.body) !== JSON.stringify(current)) {
    render(r.body);
    if (changedOnDisk) say("rundown.yaml changed on disk; the page shows it as it is now.", "warn");
  }
}

document.addEventListener("keydown", (ev) => {
  if (typing(ev)) return;
  const tr = document.activeElement?.closest?.("tr[data-id]");
  const rows = [...tbody.querySelectorAll("tr[data-id]")];
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    const by = ev.key === "ArrowDown" ? 1 : -1;
    ev.preventDefault();
    if (tr && (ev.altKey || ev.shiftKey)) move(tr.dataset.id, by);
    else (tr ? rows[rows.indexOf(tr) + by] : rows[0])?.focus();
  } else if (tr && (ev.key === "s" || ev.key === "S")) {
    const it = current.items.find((x) => x.id === tr.dataset.id);
    skip(it.id, !it.skipped);
  } else if (tr && ev.key === "Enter") {
    const it = current.items.find((x) => x.id === tr.dataset.id);
    if (it?.speech) location.href = `/booth/${encodeURIComponent(it.id)}`;
  }
});

poll();
setInterval(poll, 2000);
