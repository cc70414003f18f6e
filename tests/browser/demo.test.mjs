// The demo page, driven like a person would: `serve --dev` on an empty database, a platform passkey.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { PROFILES, launchBrowser, openPage, startTessera } from "./harness.mjs";

let tessera;
let browser;

before(async () => {
  tessera = await startTessera({ args: ["--dev"], sqlite: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await tessera?.stop();
});

/** Waits until the status line is in `state` with text matching `pattern`; fails with the text seen. */
async function expectStatus(page, state, pattern) {
  try {
    await page.waitForFunction(
      ([s, source]) => {
        const el = document.getElementById("status");
        return el.dataset.state === s && new RegExp(source).test(el.textContent);
      },
      [state, pattern.source],
      { timeout: 10000 },
    );
  } catch (err) {
    const el = await page.$eval("#status", (e) => `${e.dataset.state}: ${e.textContent}`);
    assert.fail(`expected status ${state} ${pattern}, saw ${el} (${err.message.split("\n")[0]})`);
  }
}

test("the demo page registers a passkey, signs in with autofill, renames and deletes it", async () => {
  const { page, storedCredentials, close } = await openPage(browser, `${tessera.publicUrl}/demo`, PROFILES.platform);
  try {
    await page.waitForFunction(() => document.getElementById("status").textContent === "Ready");
    await page.fill("#username", "ada");
    await page.click("#register");
    await expectStatus(page, "ok", /Registered a passkey for ada/);
    assert.equal((await storedCredentials()).length, 1);

    const claims = JSON.parse(await page.textContent("#claims"));
    assert.equal(claims.acr, "passkey");
    assert.equal(claims.uv, true);
    assert.equal(await page.locator("#credentials tr").count(), 1);

    // After signing out the page offers passkeys in autofill (conditional mediation), and the virtual
    // authenticator, which needs no click, answers at once.
    await page.click("#logout");
    await expectStatus(page, "ok", /autofill/);
    const again = JSON.parse(await page.textContent("#claims"));
    assert.equal(again.sub, claims.sub);
    assert.notEqual(again.jti, claims.jti);

    await page.fill("#credentials tr input", "Laptop");
    await page.click("#credentials tr .rename");
    await expectStatus(page, "ok", /renamed/);
    assert.equal(await page.inputValue("#credentials tr input"), "Laptop");

    await page.click("#credentials tr .delete");
    await expectStatus(page, "ok", /deleted/);
    assert.equal(await page.locator("#credentials tr").count(), 0);

    // The deleted passkey no longer signs in.
    await page.click("#logout");
    await page.click("#login");
    await expectStatus(page, "error", /credential_not_found/);
  } finally {
    await close();
  }
});

test("the demo backend refuses requests without a valid token", async () => {
  const me = await fetch(`${tessera.publicUrl}/demo/api/me`, { headers: { authorization: "Bearer not.a.token" } });
  assert.equal(me.status, 401);
  assert.equal((await me.json()).code, "invalid_token");
  const del = await fetch(`${tessera.publicUrl}/demo/api/credentials/abc`, { method: "DELETE" });
  assert.equal(del.status, 401);
});
