// Shared parts of the browser tests: a real Tessera process, an application server on localhost whose backend
// holds the tenant's API key, Chromium with a virtual authenticator per test, and token verification against
// the tenant's JWKS with Node's own crypto (an independent verifier).

import { spawn } from "node:child_process";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

import { chromium } from "playwright-core";

export const BIN = process.env.TESSERA_BIN ?? resolve(import.meta.dirname, "../../target/debug/tessera");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** Starts `tessera serve` with `env` on free ports; resolves once it logs that it is ready. */
/** The database is `TESSERA_TEST_DATABASE_URL` when set (CI's PostgreSQL pass), else a new SQLite file;
 * `sqlite: true` insists on a new SQLite file (for a process that must start on an empty database). */
export async function startTessera({ env = {}, args = [], sqlite = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tessera-browser-"));
  const adminKey = randomBytes(24).toString("hex");
  const sqliteUrl = `sqlite://${join(dir, "t.db")}?mode=rwc`;
  const databaseUrl = sqlite ? sqliteUrl : (process.env.TESSERA_TEST_DATABASE_URL ?? sqliteUrl);
  const proc = spawn(BIN, ["serve", ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      TESSERA_DATABASE_URL: databaseUrl,
      TESSERA_SECRET_KEY: randomBytes(32).toString("hex"),
      TESSERA_ADMIN_API_KEY: adminKey,
      TESSERA_PUBLIC_ADDR: "127.0.0.1:0",
      TESSERA_ADMIN_ADDR: "127.0.0.1:0",
      TESSERA_LOG_FORMAT: "json",
      TESSERA_LOG_LEVEL: "warn,tessera=info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  const ready = await new Promise((resolveReady, reject) => {
    proc.on("exit", (code) => reject(new Error(`tessera exited with ${code}:\n${log.join("\n")}`)));
    createInterface({ input: proc.stderr }).on("line", (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.message === "tessera is ready") resolveReady(entry);
      } catch {
        // not a JSON line
      }
    });
  });
  const port = Number(ready.public.split(":").pop());
  return {
    proc,
    log,
    adminKey,
    // Browsers treat localhost, never 127.0.0.1, as a WebAuthn-capable origin.
    publicUrl: `http://localhost:${port}`,
    adminUrl: `http://${ready.admin}`,
    async stop() {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a tenant through the admin API; `webauthn`, `mfa` and `policy` are merged into the defaults. */
export async function createTenant(tessera, { origins, corsOrigins, webauthn = {}, mfa, policy } = {}) {
  const resp = await fetch(`${tessera.adminUrl}/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${tessera.adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      display_name: "Browser test",
      create_api_key: true,
      config: {
        cors: { allowed_origins: corsOrigins ?? origins, allow_unsafe_wildcard: false },
        webauthn: {
          relying_party: { id: "localhost", display_name: "Browser test", origins },
          timeout: 10000,
          user_verification: "required",
          attestation_preference: "none",
          resident_key_requirement: "required",
          ...webauthn,
        },
        ...(mfa ? { mfa } : {}),
        ...(policy ? { policy } : {}),
      },
    }),
  });
  const body = await resp.json();
  if (resp.status !== 201) throw new Error(`tenant not created: ${resp.status} ${JSON.stringify(body)}`);
  return { id: body.id, apiKey: body.api_key.secret };
}

/** Lists a user's credentials through the public API with the tenant's key. */
export async function credentialsOf(tessera, tenant, userId) {
  const resp = await fetch(`${tessera.publicUrl}/${tenant.id}/credentials?user_id=${encodeURIComponent(userId)}`, {
    headers: { apikey: tenant.apiKey },
  });
  if (!resp.ok) throw new Error(`credentials: ${resp.status}`);
  return resp.json();
}

/** The application's page: loads Tessera's browser module from Tessera and offers each flow as a function. */
function appPage(tesseraUrl, tenantId) {
  return `<!doctype html><meta charset="utf-8"><title>app</title>
<input id="username" autocomplete="username webauthn">
<script type="module">
import * as T from "${tesseraUrl}/tessera.js";
const client = new T.TesseraClient({ baseUrl: "${tesseraUrl}", tenantId: "${tenantId}" });
async function app(path, body) {
  const r = await fetch("/api/" + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new T.TesseraError(r.status, j);
  return j;
}
const wrap = (f) => async (...a) => {
  try { return { ok: await f(...a) }; }
  catch (e) { return { error: { name: e.name, code: e.code, status: e.status, message: e.message } }; }
};
const downgrade = (o) => ({ publicKey: { ...o.publicKey, userVerification: "discouraged" } });
window.flows = {
  register: wrap(async (user) => client.register(await app("registration/initialize", user))),
  login: wrap(async () => client.login()),
  loginAs: wrap(async (user_id) => client.post("login/finalize", await T.getCredential(await app("login/initialize", { user_id })))),
  loginAsDowngraded: wrap(async (user_id) => client.post("login/finalize", await T.getCredential(downgrade(await app("login/initialize", { user_id }))))),
  mfaRegister: wrap(async (user) => app("mfa/registration/finalize", await T.createCredential(await app("mfa/registration/initialize", user)))),
  mfaLogin: wrap(async (user_id) => app("mfa/login/finalize", await T.getCredential(await app("mfa/login/initialize", { user_id })))),
  transaction: wrap(async (body) => app("transaction/finalize", await T.getCredential(await app("transaction/initialize", body)))),
};
window.ready = true;
</script>`;
}

/** An application on http://localhost:<port>: serves its page, and its backend forwards `/api/<path>` to the
 * tenant's `<path>` with the API key, as an application's server would. Set `app.tenant` before use (the
 * tenant's allowed origins need the app's URL first). */
export async function startApp(tessera) {
  let tenant;
  const server = createServer(async (req, res) => {
    if (req.method === "GET" && req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(appPage(tessera.publicUrl, tenant.id));
      return;
    }
    if (req.method === "POST" && req.url.startsWith("/api/")) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const upstream = await fetch(`${tessera.publicUrl}/${tenant.id}/${req.url.slice(5)}`, {
        method: "POST",
        headers: { apikey: tenant.apiKey, "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { "content-type": "application/json" });
      res.end(await upstream.text());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://localhost:${server.address().port}`,
    set tenant(t) {
      tenant = t;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Debian's Chromium, headless, with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/** Authenticator profiles of the CDP virtual authenticator. */
export const PROFILES = {
  platform: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  securityKey: { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  u2f: { protocol: "u2f", transport: "usb", hasResidentKey: false, hasUserVerification: false },
};

/** A fresh page (own context) at `url` with one virtual authenticator of `profile`. */
export async function openPage(browser, url, profile) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { ...profile, automaticPresenceSimulation: true },
  });
  await page.goto(url);
  return {
    page,
    async setUserVerified(isUserVerified) {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified });
    },
    async storedCredentials() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    },
    close: () => context.close(),
  };
}

/** Runs `window.flows[name](arg)` in the app page; resolves to `{ok}` or `{error}`. */
export async function flow(page, name, arg) {
  await page.waitForFunction(() => window.ready === true);
  return page.evaluate(([n, a]) => window.flows[n](a), [name, arg]);
}

/** Verifies a token's signature against the tenant's JWKS and returns its claims. */
export async function verifyToken(tessera, tenant, token) {
  const jwks = await (await fetch(`${tessera.publicUrl}/${tenant.id}/.well-known/jwks.json`)).json();
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, "base64url");
  const ok =
    header.alg === "ES256"
      ? verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig)
      : header.alg === "EdDSA"
        ? verify(null, data, key, sig)
        : verify("sha256", data, key, sig);
  if (!ok) throw new Error("token signature does not verify");
  return JSON.parse(Buffer.from(p, "base64url"));
}
