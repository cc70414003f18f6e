// The unchanged Hanko Passkey SDK (@teamhanko/passkeys-sdk 0.2.1) against a real Tessera process: register,
// log in, list and remove credentials, and verify the token against the JWKS with node:crypto.

import { spawn } from "node:child_process";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createInterface } from "node:readline";

import { tenant } from "@teamhanko/passkeys-sdk";
import { SoftwareAuthenticator } from "./authenticator.mjs";

const ORIGIN = "http://localhost:8000";
const ADMIN_KEY = randomBytes(24).toString("hex");
const bin = process.env.TESSERA_BIN ?? resolve(import.meta.dirname, "../../target/debug/tessera");

let server;
let dir;
let publicUrl;
let adminUrl;
let sdk;
let tenantId;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-sdk-"));
  server = spawn(bin, ["serve"], {
    env: {
      PATH: process.env.PATH,
      TESSERA_DATABASE_URL: `sqlite://${join(dir, "t.db")}?mode=rwc`,
      TESSERA_SECRET_KEY: randomBytes(32).toString("hex"),
      TESSERA_ADMIN_API_KEY: ADMIN_KEY,
      TESSERA_PUBLIC_ADDR: "127.0.0.1:0",
      TESSERA_ADMIN_ADDR: "127.0.0.1:0",
      TESSERA_LOG_FORMAT: "json",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  // The ready line in the JSON log names both listeners.
  const ready = await new Promise((resolveReady, reject) => {
    server.on("exit", (code) => reject(new Error(`tessera exited with ${code}`)));
    createInterface({ input: server.stderr }).on("line", (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.message === "tessera is ready") resolveReady(entry);
      } catch {
        // not a JSON line
      }
    });
  });
  publicUrl = `http://${ready.public}`;
  adminUrl = `http://${ready.admin}`;

  const created = await fetch(`${adminUrl}/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({
      display_name: "SDK test",
      create_api_key: true,
      config: {
        cors: { allowed_origins: [ORIGIN], allow_unsafe_wildcard: false },
        webauthn: {
          relying_party: { id: "localhost", display_name: "SDK test", origins: [ORIGIN] },
          timeout: 60000,
          user_verification: "preferred",
          attestation_preference: "none",
        },
      },
    }),
  });
  assert.equal(created.status, 201);
  const body = await created.json();
  tenantId = body.id;
  sdk = tenant({ baseUrl: publicUrl, apiKey: body.api_key.secret, tenantId });
});

after(() => {
  server?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function verifyToken(token) {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const jwks = await sdk.jwks();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, "the signing key is in the JWKS");
  assert.equal(header.alg, "ES256");
  const ok = verify(
    "sha256",
    Buffer.from(`${h}.${p}`),
    { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" },
    Buffer.from(s, "base64url"),
  );
  assert.ok(ok, "the token signature verifies");
  return JSON.parse(Buffer.from(p, "base64url"));
}

test("the Hanko SDK registers, logs in, lists and removes a passkey", async () => {
  const authenticator = new SoftwareAuthenticator();
  const userId = "sdk-user-42";

  const creation = await sdk.registration.initialize({ userId, username: "sdk@example.com" });
  assert.equal(creation.publicKey.rp.id, "localhost");
  const registered = await sdk.registration.finalize(authenticator.create(creation.publicKey, ORIGIN));
  const regClaims = await verifyToken(registered.token);
  assert.equal(regClaims.sub, userId);

  const request = await sdk.login.initialize();
  assert.equal(request.publicKey.allowCredentials, undefined, "discoverable login");
  const loggedIn = await sdk.login.finalize(authenticator.get(request.publicKey, ORIGIN));
  const claims = await verifyToken(loggedIn.token);
  assert.equal(claims.sub, userId);
  assert.deepEqual(claims.aud, ["localhost"]);

  const credentials = await sdk.user(userId).credentials();
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].user_id, userId);

  const removed = await sdk.credential(credentials[0].id).remove();
  assert.deepEqual(removed, {});
  assert.deepEqual(await sdk.user(userId).credentials(), []);

  // A removed passkey no longer logs in, and the SDK surfaces the JSON error.
  const again = await sdk.login.initialize();
  await assert.rejects(sdk.login.finalize(authenticator.get(again.publicKey, ORIGIN)), /credential_not_found/);
});

test("the Hanko SDK sees errors as JSON", async () => {
  await assert.rejects(sdk.login.finalize({ id: "x" }), /Request failed: \{"title"/);
});

test("the Hanko SDK's MFA methods register a security key and step up", async () => {
  const authenticator = new SoftwareAuthenticator();
  const user = sdk.user("sdk-mfa-user");
  const creation = await user.mfa.registration.initialize({ username: "mfa@example.com" });
  assert.equal(creation.publicKey.authenticatorSelection.residentKey, "discouraged");
  await user.mfa.registration.finalize(authenticator.create(creation.publicKey, ORIGIN));

  const request = await user.mfa.login.initialize();
  assert.equal(request.publicKey.allowCredentials.length, 1, "step-up is bound to the user");
  const { token } = await user.mfa.login.finalize(authenticator.get(request.publicKey, ORIGIN));
  const claims = await verifyToken(token);
  assert.equal(claims.sub, "sdk-mfa-user");
  assert.equal(claims.acr, "step-up");
  assert.ok(claims.amr.includes("mfa"));

  const credentials = await user.credentials();
  assert.equal(credentials[0].is_mfa, true);
});
