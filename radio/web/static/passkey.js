// Passkeys (WebAuthn): adding one on the Passkeys page, and logging in with the password and a passkey.
// The browser's own JSON forms of the options and answers are used as they are; the page's CSRF token goes
// with every request (the radio-csrf cookie, sent back as a header).
function token() {
  const m = document.cookie.match(/(?:^|; )radio-csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function post(url, data) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": token() }, body: JSON.stringify(data),
  });
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  return { ok: r.ok, body };
}

function say(text) {
  const p = document.getElementById("passkey-status");
  p.textContent = text;
  p.hidden = false;
}

const login = document.getElementById("passkey-login");
if (login) {
  login.addEventListener("click", async () => {
    const form = login.form;
    const asked = await post("/api/login/passkey/options", {
      username: form.username.value, password: form.password.value, passphrase: form.passphrase.value,
    });
    if (!asked.ok) return say(asked.body.error);
    let credential;
    try {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(asked.body.options),
      });
    } catch (e) {
      return say(`The passkey was not used (${e.name}). Try again, or log in with the code.`);
    }
    const done = await post("/api/login/passkey", {
      nonce: asked.body.nonce, credential: credential.toJSON(), next: form.next.value,
    });
    if (!done.ok) return say(done.body.error);
    location.assign(done.body.next);
  });
}

const add = document.getElementById("passkey-add");
if (add) {
  add.addEventListener("click", async () => {
    const asked = await post("/api/passkeys/options", {});
    if (!asked.ok) return say(asked.body.error);
    let credential;
    try {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(asked.body),
      });
    } catch (e) {
      return say(`No passkey was made (${e.name}).`);
    }
    const done = await post("/api/passkeys", { credential: credential.toJSON() });
    if (!done.ok) return say(done.body.error);
    say("Passkey added.");
    location.reload();
  });
}
