// The build or publish the producer started: its stages as they pass, the segment being mixed, the summary.
const box = document.getElementById("job");

function show(s) {
  const line = document.getElementById("job-line");
  line.textContent = !s.what ? "Nothing running." : s.running ? `${s.what} of ${s.week}: running`
    : s.error ? `${s.what} of ${s.week} failed: ${s.error}` : `${s.what} of ${s.week}: done`;
  line.className = s.error ? "notice error" : "meta";
  document.getElementById("job-stages").replaceChildren(...s.stages.map(([ed, name, state]) => {
    const li = document.createElement("li");
    li.textContent = `${ed}: ${name} ${state}`;
    return li;
  }));
  document.getElementById("job-item").textContent = s.item;
  const summary = document.getElementById("job-summary");
  summary.textContent = s.summary.join("\n");
  summary.hidden = !s.summary.length;
  box.dataset.running = s.running ? "yes" : "no";
  box.dataset.done = s.what && !s.running ? (s.error ? "failed" : "ok") : "";
}

async function tick() {
  try {
    const r = await fetch(box.dataset.state, { credentials: "same-origin", cache: "no-store" });
    if (r.ok) show(await r.json());
  } catch (e) {
    // the desk may be restarting
  }
}

tick();
setInterval(() => { if (!document.hidden) tick(); }, 1000);
