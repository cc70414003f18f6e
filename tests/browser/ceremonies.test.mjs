// Real WebAuthn ceremonies in headless Chromium against a real Tessera process. The page runs on its own
// origin and calls Tessera's public endpoints directly (CORS); its backend holds the API key.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  PROFILES,
  createTenant,
  credentialsOf,
  flow,
  launchBrowser,
  openPage,
  startApp,
  startTessera,
  verifyToken,
} from "./harness.mjs";

let tessera;
let browser;
const apps = [];

before(async () => {
  tessera = await startTessera({ env: { TESSERA_RATE_LIMIT: "off" } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const app of apps) await app.close();
  await tessera?.stop();
});

/** An app and a tenant that allows its origin; `options` as for `createTenant`. */
async function appWithTenant(options = {}) {
  const app = await startApp(tessera);
  apps.push(app);
  const tenant = await createTenant(tessera, { origins: [app.url], ...options });
  app.tenant = tenant;
  return { app, tenant };
}

const user = (name) => ({ user_id: `${name}-${Date.now()}`, username: name });

test("a platform passkey registers, signs in discoverably and by user id, and its tokens verify", async () => {
  const { app, tenant } = await appWithTenant();
  const browserPage = await openPage(browser, app.url, PROFILES.platform);
  const { page } = browserPage;
  try {
    const alice = user("alice");
    const reg = await flow(page, "register", alice);
    assert.ok(reg.ok, JSON.stringify(reg.error));
    const regClaims = await verifyToken(tessera, tenant, reg.ok.token);
    assert.equal(regClaims.sub, alice.user_id);
    assert.equal(regClaims.uv, true);

    const stored = await credentialsOf(tessera, tenant, alice.user_id);
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0].transports, ["internal"]);
    assert.equal(stored[0].backup_eligible, false);

    const discoverable = await flow(page, "login");
    assert.ok(discoverable.ok, JSON.stringify(discoverable.error));
    const claims = await verifyToken(tessera, tenant, discoverable.ok.token);
    assert.equal(claims.sub, alice.user_id);
    assert.equal(claims.acr, "passkey");
    assert.deepEqual(claims.aud, ["localhost"]);

    const bound = await flow(page, "loginAs", alice.user_id);
    assert.ok(bound.ok, JSON.stringify(bound.error));
    assert.equal((await verifyToken(tessera, tenant, bound.ok.token)).cred, stored[0].id);
  } finally {
    await browserPage.close();
  }
});

test("a roaming security key registers, signs in, and serves as a second factor", async () => {
  const { app, tenant } = await appWithTenant({
    mfa: { user_verification: "preferred", attachment: "cross-platform", resident_key_requirement: "discouraged" },
  });
  const browserPage = await openPage(browser, app.url, PROFILES.securityKey);
  const { page } = browserPage;
  try {
    const bob = user("bob");
    const reg = await flow(page, "register", bob);
    assert.ok(reg.ok, JSON.stringify(reg.error));
    const login = await flow(page, "loginAs", bob.user_id);
    assert.ok(login.ok, JSON.stringify(login.error));

    const carol = user("carol");
    const mfaReg = await flow(page, "mfaRegister", carol);
    assert.ok(mfaReg.ok, JSON.stringify(mfaReg.error));
    const [key] = await credentialsOf(tessera, tenant, carol.user_id);
    assert.equal(key.is_mfa, true);
    assert.deepEqual(key.transports, ["usb"]);

    const stepUp = await flow(page, "mfaLogin", carol.user_id);
    assert.ok(stepUp.ok, JSON.stringify(stepUp.error));
    const claims = await verifyToken(tessera, tenant, stepUp.ok.token);
    assert.equal(claims.acr, "step-up");
    assert.equal(claims.sub, carol.user_id);

    // A second factor is not a passkey: a passkey login by user id does not offer it.
    const asPasskey = await flow(page, "loginAs", carol.user_id);
    assert.ok(asPasskey.error, "an MFA-only user has no passkey to sign in with");
  } finally {
    await browserPage.close();
  }
});

test("a U2F key without user verification registers, signs in and steps up where the tenant allows it", async () => {
  const { app, tenant } = await appWithTenant({
    webauthn: { user_verification: "discouraged", resident_key_requirement: "discouraged" },
    mfa: { user_verification: "discouraged", resident_key_requirement: "discouraged" },
    policy: { mfa_require_user_verification: false },
  });
  const browserPage = await openPage(browser, app.url, PROFILES.u2f);
  const { page } = browserPage;
  try {
    const dave = user("dave");
    const reg = await flow(page, "register", dave);
    assert.ok(reg.ok, JSON.stringify(reg.error));
    const login = await flow(page, "loginAs", dave.user_id);
    assert.ok(login.ok, JSON.stringify(login.error));
    const claims = await verifyToken(tessera, tenant, login.ok.token);
    assert.equal(claims.uv, false);
    assert.deepEqual(claims.amr, ["pop"]);

    const erin = user("erin");
    assert.ok((await flow(page, "mfaRegister", erin)).ok);
    const stepUp = await flow(page, "mfaLogin", erin.user_id);
    assert.ok(stepUp.ok, JSON.stringify(stepUp.error));
    assert.equal((await verifyToken(tessera, tenant, stepUp.ok.token)).uv, false);
  } finally {
    await browserPage.close();
  }
});

test("a failed user verification stores nothing, and an assertion without it is refused", async () => {
  const { app, tenant } = await appWithTenant();
  const browserPage = await openPage(browser, app.url, PROFILES.platform);
  const { page } = browserPage;
  try {
    const frank = user("frank");
    await browserPage.setUserVerified(false);
    const refused = await flow(page, "register", frank);
    assert.equal(refused.error?.name, "NotAllowedError", JSON.stringify(refused));
    assert.equal((await credentialsOf(tessera, tenant, frank.user_id)).length, 0);

    await browserPage.setUserVerified(true);
    assert.ok((await flow(page, "register", frank)).ok);

    // A page that asks the authenticator not to verify the user gets an assertion with UV=0: the tenant
    // requires UV, and the server does not take the page's word for it.
    await browserPage.setUserVerified(false);
    const downgraded = await flow(page, "loginAsDowngraded", frank.user_id);
    assert.equal(downgraded.error?.status, 401, JSON.stringify(downgraded));
    assert.equal(downgraded.error?.code, "user_verification_required");
  } finally {
    await browserPage.close();
  }
});

test("a transaction is signed in the browser and the token is bound to its data", async () => {
  const { app, tenant } = await appWithTenant();
  const browserPage = await openPage(browser, app.url, PROFILES.platform);
  const { page } = browserPage;
  try {
    const grace = user("grace");
    assert.ok((await flow(page, "register", grace)).ok);
    const transaction = {
      user_id: grace.user_id,
      transaction_id: `payment-${Date.now()}`,
      transaction_data: { amount: "125.00", currency: "EUR", payee: "ACME GmbH" },
    };
    const signed = await flow(page, "transaction", transaction);
    assert.ok(signed.ok, JSON.stringify(signed.error));
    const claims = await verifyToken(tessera, tenant, signed.ok.token);
    assert.equal(claims.acr, "transaction");
    assert.equal(claims.trans, transaction.transaction_id);
    assert.ok(claims.trans_hash);

    const replay = await flow(page, "transaction", transaction);
    assert.equal(replay.error?.status, 409, JSON.stringify(replay));
  } finally {
    await browserPage.close();
  }
});

test("a ceremony from an origin the tenant does not allow fails and stores nothing", async () => {
  const app = await startApp(tessera);
  apps.push(app);
  // CORS lets the page call Tessera, but the WebAuthn origin list names another port.
  const tenant = await createTenant(tessera, { origins: ["http://localhost:1"], corsOrigins: [app.url] });
  app.tenant = tenant;
  const browserPage = await openPage(browser, app.url, PROFILES.platform);
  try {
    const heidi = user("heidi");
    const reg = await flow(browserPage.page, "register", heidi);
    assert.equal(reg.error?.code, "origin_not_allowed", JSON.stringify(reg));
    assert.equal((await credentialsOf(tessera, tenant, heidi.user_id)).length, 0);
  } finally {
    await browserPage.close();
  }
});

test("a page on an origin outside the tenant's CORS list cannot call the public API", async () => {
  const app = await startApp(tessera);
  apps.push(app);
  const tenant = await createTenant(tessera, { origins: [app.url], corsOrigins: ["http://localhost:1"] });
  app.tenant = tenant;
  const browserPage = await openPage(browser, app.url, PROFILES.platform);
  try {
    const login = await flow(browserPage.page, "login");
    assert.equal(login.error?.name, "TypeError", JSON.stringify(login));
  } finally {
    await browserPage.close();
  }
});
