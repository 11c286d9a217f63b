/**
 * Secrets at rest: AES-256-GCM under `SHLYUZ_SECRET_KEY`, a fresh 96-bit IV
 * per value, and the owner (organization id + field) as additional data so a
 * sealed value copied to another organization or field does not open.
 */

const PREFIX = "v1:";

export class SecretBox {
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Builds a box from a 32-byte raw key. */
  static async fromRawKey(raw: Uint8Array): Promise<SecretBox> {
    if (raw.length !== 32) throw new Error("Cannot use secret key: it must be 32 bytes");
    const key = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]);
    return new SecretBox(key);
  }

  /** Builds a box from base64 (the form of `SHLYUZ_SECRET_KEY`). */
  static fromBase64(b64: string): Promise<SecretBox> {
    return SecretBox.fromRawKey(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }

  /** Seals `plain`; `aad` binds it to its owner, e.g. `${org}:dadata.apiKey`. */
  async seal(plain: string, aad: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) },
        this.#key,
        new TextEncoder().encode(plain),
      ),
    );
    const all = new Uint8Array(iv.length + ct.length);
    all.set(iv);
    all.set(ct, iv.length);
    return PREFIX + toBase64(all);
  }

  /** Opens a sealed value; throws when the key or the owner does not match. */
  async open(sealed: string, aad: string): Promise<string> {
    if (!sealed.startsWith(PREFIX)) throw new Error("Cannot open secret: unknown format");
    const all = Uint8Array.from(atob(sealed.slice(PREFIX.length)), (c) => c.charCodeAt(0));
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: all.slice(0, 12), additionalData: new TextEncoder().encode(aad) },
        this.#key,
        all.slice(12),
      );
      return new TextDecoder().decode(plain);
    } catch {
      throw new Error("Cannot open secret: wrong SHLYUZ_SECRET_KEY or the value was tampered with");
    }
  }

  static isSealed(value: unknown): value is string {
    return typeof value === "string" && value.startsWith(PREFIX);
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * The key for development: `SHLYUZ_SECRET_KEY` when set, otherwise a key
 * generated once into the data folder (with a warning the caller prints).
 */
export async function loadOrCreateDevKey(dataDir: string): Promise<{ key: string; created: boolean }> {
  const path = `${dataDir}/secret.key`;
  try {
    return { key: (await Deno.readTextFile(path)).trim(), created: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const key = toBase64(crypto.getRandomValues(new Uint8Array(32)));
  await Deno.writeTextFile(path, key + "\n", { mode: 0o600, createNew: true });
  return { key, created: true };
}
