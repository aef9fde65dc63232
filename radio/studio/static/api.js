// Talking to the studio server: same origin, the access token travels as a cookie. Inside the desk, every
// change also carries the session's CSRF token (the radio-csrf cookie, sent back as a header).
function csrf() {
  const m = document.cookie.match(/(?:^|; )radio-csrf=([^;]*)/);
  return m ? { "X-CSRF-Token": decodeURIComponent(m[1]) } : {};
}

export async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  return { ok: r.ok, status: r.status, body };
}

export async function postJSON(url, data) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", ...csrf() }, body: JSON.stringify(data),
  });
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  return { ok: r.ok, status: r.status, body };
}

export async function postBlob(url, blob) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": blob.type || "audio/webm", ...csrf() }, body: blob,
  });
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  return { ok: r.ok, status: r.status, body };
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) e.append(c);
  return e;
}

export function typing(ev) {
  const t = ev.target;
  return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}
