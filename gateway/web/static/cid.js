// Content IDs exactly as chaincode/wire/cid.go writes them: CIDv1, raw codec (0x55),
// sha2-256 multihash (0x12, 32 bytes), multibase base32 lower case without padding
// ("b" prefix), so a file hashed here names the same record the gateway would find.

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

// base32 encodes bytes with the RFC 4648 alphabet in lower case, no padding.
export function base32(bytes) {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

// cidFromDigest wraps a 32-byte SHA-256 digest into the CID string.
export function cidFromDigest(digest) {
  const d = new Uint8Array(digest);
  if (d.length !== 32) throw new Error("sha2-256 digest must be 32 bytes");
  const bytes = new Uint8Array(4 + 32);
  bytes.set([0x01, 0x55, 0x12, 0x20]);
  bytes.set(d, 4);
  return "b" + base32(bytes);
}

// cidOfFile hashes a File (or Blob) with WebCrypto on this device.
export async function cidOfFile(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return cidFromDigest(digest);
}
