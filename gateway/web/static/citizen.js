// The citizen's device key and signed requests.
//
// The key is a WebCrypto ECDSA P-256 key made non-extractable and kept in IndexedDB:
// no script, not even this one, can read the private key out of the browser. Every call
// for the citizen is an RFC 9421 request signature over @method, @path, @query,
// content-digest and content-type, exactly as gateway/httpsig verifies it (keyid
// "<subjectId>/<keyId>"). Documents (key statements, grants, revocations) are signed
// over their exact bytes, with the signature converted to ASN.1 DER as the ledger wants.

const DB = "edossier";
const STORE = "keys";
const enc = new TextEncoder();

export function b64(buf) {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function unb64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function nonce() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return b64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// derFromRaw turns WebCrypto's r||s (64 bytes) into an ASN.1 DER ECDSA signature.
export function derFromRaw(raw) {
  const int = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    b = b.slice(i);
    if (b[0] & 0x80) b = Uint8Array.of(0, ...b);
    return [0x02, b.length, ...b];
  };
  const r = new Uint8Array(raw);
  const body = [...int(r.slice(0, 32)), ...int(r.slice(32))];
  return Uint8Array.of(0x30, body.length, ...body);
}

function db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "slot" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(mode, f) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const r = f(d.transaction(STORE, mode).objectStore(STORE));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export const loadKey = () => store("readonly", (s) => s.get("device")).then((v) => v || null);
const saveKey = (rec) => store("readwrite", (s) => s.put({ slot: "device", ...rec }));
export const forgetKey = () => store("readwrite", (s) => s.delete("device"));

function pem(spki) {
  const lines = b64(spki).match(/.{1,64}/g).join("\n");
  return "-----BEGIN PUBLIC KEY-----\n" + lines + "\n-----END PUBLIC KEY-----\n";
}

async function signDoc(key, bytes) {
  const raw = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, bytes);
  return b64(derFromRaw(raw));
}

// createKey makes the device key for subjectId and its statement signed by the new
// key: a bind statement (the proof of possession the counter submits) or, for a
// second device, a key-add statement an active key of the subject countersigns.
export async function createKey(subjectId, kind = "edossier.key-bind.v1") {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
  const keyId = hex(await crypto.subtle.digest("SHA-256", spki));
  const publicKeyPem = pem(spki);
  const doc = enc.encode(JSON.stringify({ kind, subjectId, publicKeyPem, issuedAt: new Date().toISOString(), nonce: nonce() }));
  const popSignature = await signDoc(pair.privateKey, doc);
  await saveKey({ subjectId, keyId, privateKey: pair.privateKey, publicKeyPem });
  return { keyId, document: b64(doc), popSignature };
}

// signedFetch sends a request signed with the device key (extra: more headers).
export async function signedFetch(rec, method, path, body, extra = {}) {
  const url = new URL(path, location.origin);
  const headers = { ...extra };
  const comps = ["@method", "@path", "@query"];
  const values = [method, url.pathname, "?" + url.search.slice(1)];
  let bytes;
  if (body !== undefined) {
    bytes = enc.encode(JSON.stringify(body));
    headers["Content-Digest"] = "sha-256=:" + b64(await crypto.subtle.digest("SHA-256", bytes)) + ":";
    headers["Content-Type"] = "application/json";
    comps.push("content-digest", "content-type");
    values.push(headers["Content-Digest"], headers["Content-Type"]);
  }
  const params = "(" + comps.map((c) => `"${c}"`).join(" ") + `);created=${Math.floor(Date.now() / 1000)}` +
    `;keyid="${rec.subjectId}/${rec.keyId}";alg="ecdsa-p256-sha256";nonce="${nonce()}"`;
  const base = comps.map((c, i) => `"${c}": ${values[i]}`).join("\n") + `\n"@signature-params": ${params}`;
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, rec.privateKey, enc.encode(base));
  headers["Signature-Input"] = "sig1=" + params;
  headers["Signature"] = "sig1=:" + b64(sig) + ":";
  return fetch(url, { method, headers, body: bytes, credentials: "omit", cache: "no-store" });
}

// call is signedFetch that answers the JSON or throws {code, message}.
export async function call(rec, method, path, body) {
  const resp = await signedFetch(rec, method, path, body);
  const v = await resp.json().catch(() => ({}));
  if (!resp.ok) throw { code: v.code || "internal", status: resp.status };
  return v;
}

// delegateFetch is a delegate's read (GET) of the dossier of the subject it acts for
// under delegationId: the request carries a read statement signed for exactly this read
// (action "list" or "content" of recordId), which the ledger checks against the live
// delegation before it logs the read in the subject's log as this device's subject's.
export async function delegateFetch(rec, path, subjectId, delegationId, action, recordId = "") {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.delegate-read.v1", subjectId, delegateId: rec.subjectId, delegationId, action, recordId,
    issuedAt: new Date().toISOString(), nonce: nonce() }));
  return signedFetch(rec, "GET", path, undefined, { "Edossier-Delegate-Read": b64(doc), "Edossier-Delegate-Signature": await signDoc(rec.privateKey, doc) });
}

export async function signGrant(rec, documentB64) {
  return signDoc(rec.privateKey, unb64(documentB64));
}

// revokeGrant revokes a grant of subjectId (the device's own subject, or one it acts
// for as a delegate), signed with the device key.
export async function revokeGrant(rec, grantId, subjectId = rec.subjectId) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.grant-revocation.v1", grantId, subjectId, issuedAt: new Date().toISOString() }));
  return call(rec, "POST", `/v1/grants/${encodeURIComponent(grantId)}/revoke`, { revocation: b64(doc), signature: await signDoc(rec.privateKey, doc) });
}

export async function cancelRecovery(rec, recoveryId) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.key-recovery-cancel.v1", subjectId: rec.subjectId, recoveryId, issuedAt: new Date().toISOString(), nonce: nonce() }));
  return call(rec, "POST", `/v1/dossiers/${rec.subjectId}/recoveries/${encodeURIComponent(recoveryId)}/cancel`,
    { document: b64(doc), signature: await signDoc(rec.privateKey, doc) });
}

// approveRequest signs exactly the request's grant document (base64, as the ledger
// stored it) and submits it; any other bytes are refused by the chaincode.
export async function approveRequest(rec, requestId, documentB64) {
  return call(rec, "POST", `/v1/consent-requests/${encodeURIComponent(requestId)}/approve`,
    { document: documentB64, signature: await signDoc(rec.privateKey, unb64(documentB64)) });
}

export async function declineRequest(rec, requestId, subjectId) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.consent-decline.v1", requestId, subjectId, issuedAt: new Date().toISOString(), nonce: nonce() }));
  return call(rec, "POST", `/v1/consent-requests/${encodeURIComponent(requestId)}/decline`, { document: b64(doc), signature: await signDoc(rec.privateKey, doc) });
}

// requestDelegation signs the statement that the device's subject acts for subjectId
// (relation "guardian" or "legal-representative") until endsAt, and leaves it for the
// authority's counter; it answers the code the counter types.
export async function requestDelegation(rec, subjectId, relation, endsAt, lang) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.delegation.v1", subjectId, delegateId: rec.subjectId, relation, endsAt, issuedAt: new Date().toISOString(), nonce: nonce() }));
  const resp = await fetch(`/${lang}/citizen/delegation-request`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ document: b64(doc), signature: await signDoc(rec.privateKey, doc) }) });
  const v = await resp.json().catch(() => ({}));
  if (!resp.ok) throw { code: v.code || "internal" };
  return v.code;
}

// addDevice countersigns a second device's key-add statement with this device's key
// and submits it with the new key's own signature.
export async function addDevice(rec, documentB64, popSignature) {
  return call(rec, "POST", `/v1/dossiers/${rec.subjectId}/keys`,
    { document: documentB64, signature: await signDoc(rec.privateKey, unb64(documentB64)), popSignature });
}

// removeKey retires keyId of the device's subject, signed with this device's key.
export async function removeKey(rec, keyId) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.key-remove.v1", subjectId: rec.subjectId, keyId, issuedAt: new Date().toISOString(), nonce: nonce() }));
  return call(rec, "POST", `/v1/dossiers/${rec.subjectId}/keys/${keyId}/remove`, { document: b64(doc), signature: await signDoc(rec.privateKey, doc) });
}

// endDelegation revokes delegationId of subjectId (signed by the subject or by the
// delegate, with this device's key).
export async function endDelegation(rec, subjectId, delegationId) {
  const doc = enc.encode(JSON.stringify({ kind: "edossier.delegation-revocation.v1", subjectId, delegationId, issuedAt: new Date().toISOString(), nonce: nonce() }));
  return call(rec, "POST", `/v1/dossiers/${encodeURIComponent(subjectId)}/delegations/${encodeURIComponent(delegationId)}/revoke`,
    { document: b64(doc), signature: await signDoc(rec.privateKey, doc) });
}
