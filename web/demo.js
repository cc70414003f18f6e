// The demo page's logic, built on the browser module at /tessera.js.
import { TesseraClient, TesseraError, createCredential, decodeToken, isAutofillAvailable } from "/tessera.js";

const $ = (id) => document.getElementById(id);
let client;
let token = sessionStorage.getItem("tessera-demo-token");
let autofill;

function status(text, state = "idle") {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function explain(err) {
  if (err instanceof TesseraError) return `${err.code}: ${err.title}${err.details ? ` (${err.details})` : ""}`;
  if (err?.name === "NotAllowedError") return "the browser or the user cancelled the ceremony";
  return err?.message ?? String(err);
}

async function backend(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(`/demo/api/${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (resp.status === 204) return null;
  const json = await resp.json().catch(() => null);
  if (!resp.ok) throw new TesseraError(resp.status, json);
  return json;
}

function stopAutofill() {
  autofill?.abort();
  autofill = undefined;
}

async function signedIn(newToken, how) {
  token = newToken;
  sessionStorage.setItem("tessera-demo-token", token);
  stopAutofill();
  await render();
  status(how, "ok");
}

async function render() {
  if (!token) {
    $("signed-in").hidden = true;
    $("signed-out").hidden = false;
    return;
  }
  let me;
  try {
    me = await backend("GET", "me");
  } catch (err) {
    token = null;
    sessionStorage.removeItem("tessera-demo-token");
    $("signed-in").hidden = true;
    $("signed-out").hidden = false;
    status(`Signed out: ${explain(err)}`, "error");
    return;
  }
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("who").textContent = me.claims.sub;
  $("claims").textContent = JSON.stringify(decodeToken(token), null, 2);
  const rows = $("credentials");
  rows.replaceChildren();
  for (const c of me.credentials) {
    const tr = document.createElement("tr");
    tr.dataset.credentialId = c.id;
    const name = document.createElement("input");
    name.value = c.name ?? "";
    name.setAttribute("aria-label", "passkey name");
    const rename = document.createElement("button");
    rename.textContent = "Rename";
    rename.className = "rename";
    rename.onclick = () => act(() => backend("PATCH", `credentials/${encodeURIComponent(c.id)}`, { name: name.value }), "Passkey renamed");
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.className = "delete";
    del.onclick = () => act(() => backend("DELETE", `credentials/${encodeURIComponent(c.id)}`), "Passkey deleted");
    const cells = [name, c.created_at, c.last_used_at ?? "never", [rename, del]];
    for (const cell of cells) {
      const td = document.createElement("td");
      if (Array.isArray(cell)) td.append(...cell);
      else if (cell instanceof Node) td.append(cell);
      else td.textContent = cell;
      tr.append(td);
    }
    rows.append(tr);
  }
}

async function act(fn, done) {
  try {
    await fn();
    await render();
    status(done, "ok");
  } catch (err) {
    status(explain(err), "error");
  }
}

async function register() {
  const username = $("username").value.trim() || $("who").textContent || "demo user";
  stopAutofill();
  status("Creating a passkey…");
  try {
    const options = await backend("POST", "register", { username });
    const { token: t } = await client.register(options);
    await signedIn(t, `Registered a passkey for ${username}`);
  } catch (err) {
    status(`Registration failed: ${explain(err)}`, "error");
    startAutofill();
  }
}

async function login() {
  stopAutofill();
  status("Signing in…");
  try {
    const { token: t } = await client.login();
    await signedIn(t, "Signed in with a passkey");
  } catch (err) {
    status(`Sign-in failed: ${explain(err)}`, "error");
    startAutofill();
  }
}

async function startAutofill() {
  if (token || !(await isAutofillAvailable())) return;
  autofill = new AbortController();
  const signal = autofill.signal;
  try {
    const { token: t } = await client.login({ mediation: "conditional", signal });
    await signedIn(t, "Signed in with a passkey from autofill");
  } catch (err) {
    // An aborted autofill is the normal way out; other failures are shown.
    if (!signal.aborted && err?.name !== "AbortError" && err?.name !== "NotAllowedError") {
      status(`Autofill sign-in failed: ${explain(err)}`, "error");
    }
  }
}

async function main() {
  try {
    const config = await backend("GET", "config");
    $("tenant").textContent = config.tenant_id;
    client = new TesseraClient({ baseUrl: location.origin, tenantId: config.tenant_id });
  } catch (err) {
    status(`The demo is not available: ${explain(err)}`, "error");
    return;
  }
  $("register").onclick = register;
  $("add").onclick = register;
  $("login").onclick = login;
  $("logout").onclick = () => {
    token = null;
    sessionStorage.removeItem("tessera-demo-token");
    render().then(() => status("Signed out"));
    startAutofill();
  };
  await render();
  status(token ? "Signed in" : "Ready");
  startAutofill();
}

main();
