// The citizen's pages: what the server rendered, filled with what the device key may
// read. Every value from the ledger goes into the page as text (textContent), never as
// markup.
import { loadKey, createKey, call, signedFetch, delegateFetch, signGrant, revokeGrant, cancelRecovery, forgetKey, unb64, approveRequest, declineRequest, requestDelegation, addDevice, removeKey, endDelegation } from "./citizen.js";

const data = JSON.parse(document.getElementById("portal-data").textContent);
const T = (k) => data.msgs[k] || k;
const lang = document.documentElement.lang === "en" ? "en" : "zh";
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function date(v) {
  if (!v) return "";
  const d = new Date(v);
  return lang === "zh" ? d.toLocaleString("zh-CN", { dateStyle: "long", timeStyle: "short" }) : d.toLocaleString("en-GB", { dateStyle: "long", timeStyle: "short" });
}

const typeName = (c) => data.types[c] || c;
const deptName = (c) => data.depts[c] || c;
const purposeName = (c) => data.purposes[c] || c;
const matterName = (c) => (data.matters && data.matters[c]) || c;
// acting is the subject the device's key acts for as a delegate ("?for=" on the page),
// "" for its own dossier.
const acting = new URL(location.href).searchParams.get("for") || "";
const ACTS = "edossier.actsFor"; // subject IDs this device asked to act for (not secret)
const actsFor = () => JSON.parse(localStorage.getItem(ACTS) || "[]");
const forQuery = () => (acting ? "?for=" + encodeURIComponent(acting) : "");
const open = (r) => r.status === "pending" && new Date(r.expiresAt) > new Date();

// showError shows a refusal as a sentence of the page's language and its code; a
// context (e.g. "citizen.creq.err.") may word a code for its page.
function showError(box, e, context) {
  const code = e.code || "internal";
  box.hidden = false;
  box.replaceChildren(el("p", (context && data.msgs[context + code]) || T("err." + code)), el("p", T("error.code") + " " + code, "code"));
  box.scrollIntoView({ block: "nearest" });
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) tr.append(c instanceof Node ? wrap(c) : el("td", c));
  return tr;
}

function wrap(node) {
  const td = el("td");
  td.append(node);
  return td;
}

async function home() {
  const rec = await loadKey();
  const err = $("citizen-error");
  if (!rec) {
    $("no-key").hidden = false;
    $("create-key").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const second = $("second-device").checked;
        const req = await createKey($("new-subject").value.trim(), second ? "edossier.key-add.v1" : "edossier.key-bind.v1");
        const resp = await fetch(`/${lang}/citizen/key-request`, { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ document: req.document, popSignature: req.popSignature }) });
        if (!resp.ok) {
          await forgetKey();
          throw await resp.json();
        }
        location.assign(`/${lang}/citizen/key/${req.keyId}` + (second ? "?second=1" : ""));
      } catch (e) {
        showError(err, e);
      }
    });
    return;
  }
  $("has-key").hidden = false;
  $("my-subject").textContent = rec.subjectId;
  $("my-key").textContent = rec.keyId.slice(0, 16).replace(/(.{4})/g, "$1 ").trim();
  $("key-link").href = `/${lang}/citizen/key/${rec.keyId}`;
  const S = acting || rec.subjectId;
  $("grant-link").href = `/${lang}/citizen/grant?subjectId=${encodeURIComponent(S)}` + (acting ? "&for=" + encodeURIComponent(acting) : "");
  $("forget-key").addEventListener("click", async () => {
    if (confirm(T("citizen.forget.confirm"))) {
      await forgetKey();
      location.reload();
    }
  });
  const s = encodeURIComponent(S);
  try {
    let keys = { recoveries: [] };
    let deleg = null; // the live delegation this device acts under
    if (acting) {
      // Only a live delegation of this device's subject lets it in (the gateway and
      // the chaincode check it again on every signed call).
      const dels = await call(rec, "GET", `/v1/dossiers/${s}/delegations`);
      const d = dels.delegations.find((x) => x.delegateId === rec.subjectId && x.status === "active" && new Date(x.endsAt) > new Date());
      if (!d) throw { code: "forbidden" };
      deleg = d;
      $("acting").hidden = false;
      $("acting-text").textContent = T("citizen.acting").replace("{who}", S).replace("{rel}", T("citizen.relation." + d.relation)).replace("{until}", date(d.endsAt));
      $("acting-back").href = `/${lang}/citizen`;
      $("has-key").querySelector("dl").hidden = true;
      for (const h of ["requests", "dossier", "grants", "timeline", "keyevents"]) $(h + "-h").textContent = T("citizen.acting." + h);
    } else {
      keys = await call(rec, "GET", `/v1/dossiers/${s}/keys`);
      devices(rec, keys);
      await delegates(rec);
      await actForList(rec);
    }
    $("bound").hidden = false;
    // A delegate's look at the list and each download carry a read statement signed
    // with the delegate's key: the subject's log shows them as the delegate's reads.
    let recs;
    if (acting) {
      $("records-delegate").hidden = false;
      const resp = await delegateFetch(rec, `/v1/dossiers/${s}/records`, S, deleg.delegationId, "list");
      recs = await resp.json().catch(() => ({}));
      if (!resp.ok) throw { code: recs.code || "internal", status: resp.status };
    } else {
      recs = await call(rec, "GET", `/v1/dossiers/${s}/records`);
    }
    const tbody = $("records").querySelector("tbody");
    for (const r of recs.records) {
      const dl = el("button", T("citizen.download"), "link");
      dl.type = "button";
      dl.addEventListener("click", () => download(rec, r, dl, deleg));
      tbody.append(row([typeName(r.type), deptName(r.issuer), date(r.issuedAt), T("status." + r.status), dl]));
    }
    $("records-empty").hidden = recs.records.length > 0;
    const reqs = await call(rec, "GET", `/v1/dossiers/${s}/consent-requests`);
    const rq = $("requests");
    for (const r of reqs.requests.filter(open)) {
      const li = el("li");
      li.dataset.request = r.requestId;
      const a = el("a", T("citizen.requests.open"));
      a.href = `/${lang}/citizen/requests/${encodeURIComponent(r.requestId)}` + forQuery();
      li.append(el("strong", deptName(r.requester)), el("span", " · " + r.reference + " · " + T("citizen.until") + " " + date(r.expiresAt) + " "), a);
      rq.append(li);
    }
    $("requests-none").hidden = rq.children.length > 0;
    const grants = await call(rec, "GET", `/v1/dossiers/${s}/grants`);
    const gl = $("grants");
    for (const g of grants.grants) {
      const li = el("li");
      const parts = g.grant.parts || [{ grantee: g.grant.grantee, scope: g.grant.scope, purpose: g.grant.purpose }];
      li.dataset.grant = g.grantId;
      li.dataset.signedBy = g.signedBy;
      li.append(el("strong", parts.map((p) => deptName(p.grantee)).join(", ")), el("span", " · " + parts.map((p) => p.scope.recordTypes.map(typeName).join(", ") + " (" + purposeName(p.purpose) + ")").join("; ") +
        " · " + T("citizen.until") + " " + date(g.grant.expiresAt) + " · " + T("grant.status." + g.status) +
        " · " + T("citizen.signedby") + " " + (g.signedBy === g.subjectId ? T("citizen.signedby.self") : g.signedBy === rec.subjectId ? T("citizen.you") : g.signedBy)), el("code", " " + g.grantId));
      if (g.status === "active") {
        const b = el("button", T("citizen.revoke"), "danger");
        b.type = "button";
        b.dataset.grant = g.grantId;
        b.addEventListener("click", async () => {
          b.disabled = true;
          try {
            await revokeGrant(rec, g.grantId, S);
            location.reload();
          } catch (e) {
            showError(err, e);
            b.disabled = false;
          }
        });
        li.append(" ", b);
      }
      gl.append(li);
    }
    const log = await call(rec, "GET", `/v1/dossiers/${s}/access-log`);
    const tl = $("timeline");
    for (const a of log.entries) {
      const li = el("li");
      li.dataset.kind = a.kind;
      li.dataset.record = a.recordId;
      const who = a.kind === "self" ? T(acting ? "citizen.signedby.self" : "citizen.you")
        : a.kind === "delegate" ? (a.delegateId === rec.subjectId ? T("citizen.you") : T("citizen.relation." + a.relation) + " " + a.delegateId)
        : deptName(a.org) + (a.user ? " (" + a.user + ")" : "");
      li.dataset.delegate = a.delegateId || "";
      li.append(el("time", date(a.time)), el("span", " " + who +
        " · " + T("access." + a.kind) + (a.recordType ? " · " + typeName(a.recordType) : "") + (a.purpose ? " · " + purposeName(a.purpose) : "")));
      if (a.grantId) li.append(el("code", " " + a.grantId));
      tl.append(li);
    }
    const events = await call(rec, "GET", `/v1/dossiers/${s}/key-events`);
    const ke = $("key-events");
    // by is "attestation:<MSP ID>", "key:<key ID>" or "recovery:<ID>": shown by name.
    const by = (b) => {
      const [kind, id] = [b.slice(0, b.indexOf(":")), b.slice(b.indexOf(":") + 1)];
      return T("keyevent.by." + kind) + (kind === "attestation" ? deptName(id) : id.slice(0, 16));
    };
    for (const k of events.events) ke.append(el("li", date(k.time) + " · " + T("keyevent." + k.type) + (k.keyId ? " · " + k.keyId.slice(0, 16) : "") + " · " + by(k.by)));
    const rl = $("recoveries");
    for (const r of keys.recoveries || []) {
      if (r.status !== "pending") continue;
      const li = el("li", T("citizen.recovery") + " " + date(r.effectiveAt) + " · " + r.attestedBy + " ");
      const b = el("button", T("citizen.cancel"), "danger");
      b.type = "button";
      b.addEventListener("click", async () => {
        try {
          await cancelRecovery(rec, r.recoveryId);
          location.reload();
        } catch (e) {
          showError(err, e);
        }
      });
      li.append(b);
      rl.append(li);
    }
    $("recoveries-box").hidden = rl.children.length === 0;
  } catch (e) {
    if (e.code === "unknown_key") {
      $("unbound").hidden = false;
      return;
    }
    showError(err, e);
  }
}

// devices lists the subject's device keys (this one marked; the others removable with
// this device's signature) and adds a second device: the fingerprint the new device
// shows finds its waiting key-add statement, which this device countersigns.
function devices(rec, keys) {
  const err = $("citizen-error");
  $("devices").hidden = false;
  const ul = $("device-list");
  for (const k of keys.keys) {
    const li = el("li");
    li.dataset.key = k.keyId;
    li.dataset.status = k.status;
    li.append(el("code", k.keyId.slice(0, 16).replace(/(.{4})/g, "$1 ").trim()), el("span", " · " + T("citizen.keystatus." + k.status) + " · " + date(k.addedAt)));
    if (k.keyId === rec.keyId) {
      li.append(el("strong", " · " + T("citizen.thisdevice")));
    } else if (k.status === "active") {
      const b = el("button", T("citizen.device.remove"), "danger");
      b.type = "button";
      b.addEventListener("click", async () => {
        if (!confirm(T("citizen.device.remove.confirm"))) return;
        b.disabled = true;
        try {
          await removeKey(rec, k.keyId);
          location.reload();
        } catch (e) {
          showError(err, e);
          b.disabled = false;
        }
      });
      li.append(" ", b);
    }
    ul.append(li);
  }
  $("add-device-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const found = $("add-device-found");
    found.replaceChildren();
    try {
      const fp = $("add-device-fp").value.replace(/\s+/g, "").toLowerCase();
      const resp = await fetch(`/${lang}/citizen/device-request?subjectId=${encodeURIComponent(rec.subjectId)}&fingerprint=${encodeURIComponent(fp)}`, { cache: "no-store" });
      const v = await resp.json();
      if (!resp.ok) throw v;
      if (v.requests.length === 0) throw { code: "not_found" };
      for (const q of v.requests) {
        const p = el("p");
        const b = el("button", T("citizen.device.sign"));
        b.type = "button";
        b.id = "add-device-sign";
        b.addEventListener("click", async () => {
          b.disabled = true;
          try {
            await addDevice(rec, q.document, q.popSignature);
            location.reload();
          } catch (e) {
            showError(err, e);
            b.disabled = false;
          }
        });
        p.append(el("span", T("citizen.device.found") + " "), el("code", q.keyId, "wrap"), " ", b);
        found.append(p);
      }
    } catch (e) {
      showError(err, e);
    }
  });
}

// endButton ends delegation d of subjectId with this device's signature (the subject's
// or the delegate's: either may end it).
function endButton(rec, subjectId, d) {
  const b = el("button", T("citizen.delegation.end"), "danger");
  b.type = "button";
  b.dataset.delegation = d.delegationId;
  b.addEventListener("click", async () => {
    if (!confirm(T("citizen.delegation.end.confirm"))) return;
    b.disabled = true;
    try {
      await endDelegation(rec, subjectId, d.delegationId);
      location.reload();
    } catch (e) {
      showError($("citizen-error"), e);
      b.disabled = false;
    }
  });
  return b;
}

// delegates lists who acts for this device's subject (a guardian, a legal
// representative), each live one with a button that ends it.
async function delegates(rec) {
  const dels = await call(rec, "GET", `/v1/dossiers/${encodeURIComponent(rec.subjectId)}/delegations`);
  const ul = $("delegate-list");
  for (const d of dels.delegations) {
    const live = d.status === "active" && new Date(d.endsAt) > new Date();
    const li = el("li");
    li.dataset.delegation = d.delegationId;
    li.append(el("code", d.delegateId), el("span", " · " + T("citizen.relation." + d.relation) + " · " + T("citizen.until") + " " + date(d.endsAt) +
      " · " + T(live ? "grant.status.active" : "citizen.delegation.ended") + " "));
    if (live) li.append(endButton(rec, rec.subjectId, d));
    ul.append(li);
  }
  $("delegates").hidden = ul.children.length === 0;
}

// actForList shows the subjects this device asked to act for: live delegations with a
// link that switches to them, the others as waiting for the counter; and the form that
// asks for a new one.
async function actForList(rec) {
  $("actfor").hidden = false;
  const ul = $("actfor-list");
  for (const x of actsFor()) {
    const li = el("li");
    li.dataset.subject = x.subjectId;
    let d;
    try {
      const dels = await call(rec, "GET", `/v1/dossiers/${encodeURIComponent(x.subjectId)}/delegations`);
      d = dels.delegations.find((v) => v.delegateId === rec.subjectId && v.status === "active" && new Date(v.endsAt) > new Date());
    } catch (e) {
      d = null;
    }
    li.append(el("code", x.subjectId));
    if (d) {
      const a = el("a", T("citizen.actfor.go"));
      a.href = `/${lang}/citizen?for=${encodeURIComponent(x.subjectId)}`;
      li.append(el("span", " · " + T("citizen.relation." + d.relation) + " · " + T("citizen.until") + " " + date(d.endsAt) + " "), a, " ", endButton(rec, x.subjectId, d));
    } else {
      li.append(el("span", " · " + T("citizen.actfor.waiting") + " · " + T("citizen.actfor.code") + " "), el("code", x.code || "", "big"));
    }
    ul.append(li);
  }
  $("actfor-none").hidden = ul.children.length > 0;
  $("actfor-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget.elements;
    const subjectId = f["actfor-subject"].value.trim();
    const ends = f["actfor-ends"].value;
    try {
      if (!ends) throw { code: "invalid" };
      const code = await requestDelegation(rec, subjectId, f["actfor-relation"].value, new Date(ends + "T00:00:00").toISOString(), lang);
      localStorage.setItem(ACTS, JSON.stringify([...actsFor().filter((v) => v.subjectId !== subjectId), { subjectId, code }]));
      location.reload();
    } catch (e) {
      showError($("citizen-error"), e);
    }
  });
}

async function download(rec, r, button, deleg) {
  const path = `/v1/records/${encodeURIComponent(r.recordId)}/content`;
  const resp = deleg ? await delegateFetch(rec, path, deleg.subjectId, deleg.delegationId, "content", r.recordId) : await signedFetch(rec, "GET", path);
  if (!resp.ok) {
    showError($("citizen-error"), await resp.json().catch(() => ({})));
    return;
  }
  const a = el("a", T("citizen.save"));
  a.href = URL.createObjectURL(await resp.blob());
  a.download = r.recordId;
  button.replaceWith(a);
}

async function grantPage() {
  const rec = await loadKey();
  const form = $("grant-form");
  if (rec && form.elements.subjectId && !form.elements.subjectId.value) form.elements.subjectId.value = rec.subjectId;
  const box = $("grant-doc");
  if (!box) return;
  // What is shown is decoded from the very bytes that are signed.
  const bytes = unb64(box.dataset.document);
  $("grant-json").textContent = JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
  $("sign-grant").addEventListener("click", async () => {
    const err = $("citizen-error");
    if (!rec) return showError(err, { code: "unknown_key" });
    try {
      const signature = await signGrant(rec, box.dataset.document);
      const subject = JSON.parse(new TextDecoder().decode(bytes)).subjectId;
      await call(rec, "POST", `/v1/dossiers/${encodeURIComponent(subject)}/grants`, { grant: box.dataset.document, signature });
      const g = JSON.parse(new TextDecoder().decode(bytes));
      location.assign(`/${lang}/citizen?granted=${encodeURIComponent(box.dataset.grant)}` + (g.subjectId !== rec.subjectId ? "&for=" + encodeURIComponent(g.subjectId) : ""));
    } catch (e) {
      showError(err, e);
    }
  });
}

// requestPage shows a consent request as exactly the grant that would be signed,
// decoded from the very bytes Approve signs, and answers it.
async function requestPage() {
  const err = $("citizen-error");
  const rec = await loadKey();
  if (!rec) return showError(err, { code: "unknown_key" });
  const box = $("creq");
  const id = box.dataset.request;
  let r;
  try {
    const list = await call(rec, "GET", `/v1/dossiers/${encodeURIComponent(acting || rec.subjectId)}/consent-requests`);
    r = list.requests.find((x) => x.requestId === id);
  } catch (e) {
    return showError(err, e);
  }
  if (!r) {
    $("creq-missing").hidden = false;
    return;
  }
  box.dataset.document = r.document;
  const g = JSON.parse(new TextDecoder().decode(unb64(r.document)));
  $("creq-from").textContent = deptName(r.requester);
  $("creq-ref").textContent = r.reference;
  $("creq-expires").textContent = date(r.expiresAt);
  $("creq-until").textContent = date(g.expiresAt);
  if (g.matter) {
    $("creq-matter").textContent = matterName(g.matter.code) + " (v" + g.matter.version + ")";
    $("creq-matter-dt").hidden = $("creq-matter").hidden = false;
  }
  const st = r.status === "pending" && !open(r) ? "expired" : r.status;
  $("creq-status").textContent = T("request.status." + st);
  $("creq-status").dataset.status = st;
  const tbody = $("creq-parts").querySelector("tbody");
  for (const p of g.parts || [{ grantee: g.grantee, scope: g.scope, purpose: g.purpose }]) {
    const tr = row([deptName(p.grantee), [...p.scope.recordTypes.map(typeName), ...p.scope.recordIds].join(", "), purposeName(p.purpose)]);
    tr.dataset.grantee = p.grantee;
    tbody.append(tr);
  }
  $("creq-json").textContent = JSON.stringify(g, null, 2);
  box.hidden = false;
  if (!open(r)) {
    $("creq-closed").hidden = false;
    return;
  }
  // A request that lapses while the page is open is refused by the ledger, shown as a
  // sentence with its code.
  $("creq-actions").hidden = false;
  const act = (f, done) => async (ev) => {
    const b = ev.currentTarget;
    b.disabled = true;
    try {
      await f();
      location.assign(`/${lang}/citizen?request=${encodeURIComponent(id)}&answer=${done}` + (acting ? "&for=" + encodeURIComponent(acting) : ""));
    } catch (e) {
      showError(err, e, "citizen.creq.err.");
      b.disabled = false;
    }
  };
  $("creq-approve").addEventListener("click", act(() => approveRequest(rec, id, box.dataset.document), "approved"));
  $("creq-decline").addEventListener("click", act(() => declineRequest(rec, id, r.subjectId), "declined"));
}

if ($("citizen-home")) {
  // Busy while the sections fill in one after another (each pushes the ones below it
  // down): assistive technology waits, and so does the browser test before it clicks.
  const box = $("citizen-home");
  box.setAttribute("aria-busy", "true");
  home().finally(() => box.setAttribute("aria-busy", "false"));
}
if ($("creq")) requestPage();
if ($("grant-form")) grantPage();
