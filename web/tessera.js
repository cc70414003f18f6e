// Tessera browser module: passkey ceremonies against Tessera's public API from a web page.
// No dependencies, no build step: `import { TesseraClient } from "https://<tessera>/tessera.js"` or copy the file.
//
// - `TesseraClient#login()` runs a whole login (modal or passkey autofill) against the public endpoints.
// - `TesseraClient#register(options)` finishes a registration whose options your backend got with its API key.
// - `createCredential(options)` / `getCredential(options)` run one browser ceremony and return the credential as
//   JSON, for ceremonies your backend finalizes (MFA, transactions, user-bound logins).
// - `creationOptionsFromJSON`, `requestOptionsFromJSON` and `credentialToJSON` use the browser's own
//   WebAuthn Level 3 JSON methods where they exist and fall back to base64url conversion for older browsers.

/** An error response of Tessera's API: `status`, stable `code`, `title` and `details`. */
export class TesseraError extends Error {
  constructor(status, body) {
    super(body?.title ? `${body.title}${body.details ? `: ${body.details}` : ""}` : `HTTP ${status}`);
    this.name = "TesseraError";
    this.status = status;
    this.code = body?.code ?? "http_error";
    this.title = body?.title ?? "";
    this.details = body?.details ?? "";
  }
}

/** base64url (padded or not) to an ArrayBuffer. */
export function base64urlToBuffer(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** An ArrayBuffer or view to unpadded base64url. */
export function bufferToBase64url(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const unwrap = (json) => json?.publicKey ?? json;
const withIds = (list) => (list ?? []).map((c) => ({ ...c, id: base64urlToBuffer(c.id) }));
const hasJSONMethods = () => typeof PublicKeyCredential !== "undefined" && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

/** Creation options (Tessera's `{publicKey}` or the bare options) for `navigator.credentials.create()`. */
export function creationOptionsFromJSON(json) {
  const options = unwrap(json);
  if (hasJSONMethods()) return PublicKeyCredential.parseCreationOptionsFromJSON(options);
  return {
    ...options,
    challenge: base64urlToBuffer(options.challenge),
    user: { ...options.user, id: base64urlToBuffer(options.user.id) },
    excludeCredentials: withIds(options.excludeCredentials),
  };
}

/** Request options (Tessera's `{publicKey}` or the bare options) for `navigator.credentials.get()`. */
export function requestOptionsFromJSON(json) {
  const options = unwrap(json);
  if (hasJSONMethods()) return PublicKeyCredential.parseRequestOptionsFromJSON(options);
  return { ...options, challenge: base64urlToBuffer(options.challenge), allowCredentials: withIds(options.allowCredentials) };
}

function extensionResultsToJSON(results) {
  const out = {};
  for (const [key, value] of Object.entries(results ?? {})) {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) out[key] = bufferToBase64url(value);
    else if (value && typeof value === "object") out[key] = extensionResultsToJSON(value);
    else out[key] = value;
  }
  return out;
}

/** A `PublicKeyCredential` as JSON (the WebAuthn Level 3 `toJSON()` shape), which Tessera's finalize takes. */
export function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") {
    try {
      return credential.toJSON();
    } catch {
      // Some browser builds throw on extension results they cannot serialize: fall through.
    }
  }
  const r = credential.response;
  const response = { clientDataJSON: bufferToBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bufferToBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    const data = typeof r.getAuthenticatorData === "function" ? r.getAuthenticatorData() : null;
    if (data) response.authenticatorData = bufferToBase64url(data);
    const key = typeof r.getPublicKey === "function" ? r.getPublicKey() : null;
    if (key) response.publicKey = bufferToBase64url(key);
    if (typeof r.getPublicKeyAlgorithm === "function") response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
  } else {
    response.authenticatorData = bufferToBase64url(r.authenticatorData);
    response.signature = bufferToBase64url(r.signature);
    if (r.userHandle) response.userHandle = bufferToBase64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: extensionResultsToJSON(credential.getClientExtensionResults?.()),
    response,
  };
}

/** Runs `navigator.credentials.create()` with Tessera's creation options; returns the credential JSON. */
export async function createCredential(options, { signal } = {}) {
  const credential = await navigator.credentials.create({ publicKey: creationOptionsFromJSON(options), signal });
  return credentialToJSON(credential);
}

/** Runs `navigator.credentials.get()` with Tessera's request options; `mediation: "conditional"` for autofill. */
export async function getCredential(options, { signal, mediation } = {}) {
  const request = { publicKey: requestOptionsFromJSON(options), signal };
  if (mediation) request.mediation = mediation;
  return credentialToJSON(await navigator.credentials.get(request));
}

/** Whether the browser offers passkeys in autofill (conditional mediation). */
export async function isAutofillAvailable() {
  return typeof PublicKeyCredential !== "undefined" && typeof PublicKeyCredential.isConditionalMediationAvailable === "function" && (await PublicKeyCredential.isConditionalMediationAvailable());
}

/** The claims of a token, decoded for display only: verify tokens on your server against the tenant's JWKS. */
export function decodeToken(token) {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(new TextDecoder().decode(base64urlToBuffer(payload)));
}

/** A client of one tenant's public endpoints. */
export class TesseraClient {
  /** `baseUrl`: Tessera's public URL; `tenantId`: the tenant's id. */
  constructor({ baseUrl, tenantId, fetch: fetchImpl } = {}) {
    if (!baseUrl || !tenantId) throw new TypeError("TesseraClient needs baseUrl and tenantId");
    this.base = `${baseUrl.replace(/\/+$/, "")}/${tenantId}`;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  }

  /** POSTs `body` to a path of the tenant; returns the JSON answer or throws a `TesseraError`. */
  async post(path, body, { signal } = {}) {
    const resp = await this.fetch(`${this.base}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
      signal,
    });
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!resp.ok) throw new TesseraError(resp.status, json);
    return json;
  }

  /** Finishes a registration: creates the passkey with `options` (from your backend) and returns `{token}`. */
  async register(options, { signal } = {}) {
    const credential = await createCredential(options, { signal });
    return this.post("registration/finalize", credential, { signal });
  }

  /** A discoverable login: returns `{token}`. `mediation: "conditional"` offers passkeys in autofill. */
  async login({ signal, mediation } = {}) {
    const options = await this.post("login/initialize", {}, { signal });
    const credential = await getCredential(options, { signal, mediation });
    return this.post("login/finalize", credential, { signal });
  }
}
