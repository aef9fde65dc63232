// Changes made elsewhere (a terminal, another browser) show without a reload: the page asks the desk for its
// data's digest every two seconds and, when it differs, fetches the page again and swaps its content in,
// unless something is being typed (then it says so, and the desk refuses a stale change anyway).
function typing() {
  return [...document.querySelectorAll("main input:not([type=hidden]), main textarea")].some(
    (e) => e.value && e.value !== e.defaultValue);
}

async function check() {
  const watched = document.querySelector("[data-watch]");
  if (!watched) return;
  const r = await fetch(watched.dataset.watch, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) return;
  const { digest } = await r.json();
  if (digest === watched.dataset.digest) return;
  const note = () => document.getElementById("live");
  if (typing()) {
    note().textContent = "This changed meanwhile: reload the page before you change it.";
    note().hidden = false;
    return;
  }
  const page = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
  if (!page.ok) return;
  const fresh = new DOMParser().parseFromString(await page.text(), "text/html").getElementById("main");
  if (!fresh) return;
  document.getElementById("main").replaceChildren(...fresh.childNodes);
  note().textContent = "Updated: this changed meanwhile.";
  note().hidden = false;
}

setInterval(() => { if (!document.hidden) check().catch(() => {}); }, 2000);
