// The verifier's page: the chosen or dropped file is hashed here and only its content
// ID goes into the form, which is sent with GET (the file field has no name, so a
// browser never sends its bytes, with or without this script).
import { cidOfFile } from "./cid.js";

const form = document.getElementById("verify-form");
const input = document.getElementById("file");
const drop = document.getElementById("drop");
const cidField = document.getElementById("cid");
const status = document.getElementById("hash-status");

async function verify(file) {
  if (!globalThis.crypto || !crypto.subtle) {
    status.textContent = form.dataset.nocrypto;
    return;
  }
  status.textContent = form.dataset.hashing;
  try {
    const t0 = performance.now();
    const cid = await cidOfFile(file);
    const ms = performance.now() - t0;
    // Kept for the browser test's hash-rate report (bytes, milliseconds).
    form.dataset.hashBytes = String(file.size);
    form.dataset.hashMs = ms.toFixed(1);
    cidField.value = cid;
    status.textContent = form.dataset.hashed;
    form.submit();
  } catch (e) {
    status.textContent = form.dataset.failed;
  }
}

if (form && input) {
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) verify(input.files[0]);
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) verify(f);
  });
}
