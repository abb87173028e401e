#!/usr/bin/env python3
"""Independent sops (JSON, age) verifier used by fleet's tests.

Written from the sops sources' behaviour (aes/cipher.go, sops.go), not from fleet's Swift code:
recovers the data key with pyrage, decrypts every leaf with AES-256-GCM (AAD = key path with a
trailing ':' per key, array elements add nothing), recomputes the MAC (uppercase hex SHA-512 over
the plaintext of every non-null leaf in document order) and compares it with sops.mac decrypted
with AAD = lastmodified.

usage: sops_mac.py SECRET_FILE AGE_KEY_FILE
prints a JSON object {"mac_ok": bool, "data_hex": hex of the top-level "data" value or null}
exit status 0 only if the MAC verifies.
"""
import base64, hashlib, json, re, sys

import pyrage
from pyrage import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")


def gcm_open(key, value, aad):
    m = ENC.match(value)
    if not m:
        raise ValueError("not an ENC value: %r" % value[:40])
    data, iv, tag = (base64.b64decode(m.group(i)) for i in (1, 2, 3))
    # sops uses 32-byte IVs, which AESGCM (12..) accepts via the generic GCM mode.
    dec = Cipher(algorithms.AES(key), modes.GCM(iv, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(data) + dec.finalize(), m.group(4)


def mac_bytes(plain, typ):
    if typ == "bool":
        return b"True" if plain in (b"1", b"t", b"T", b"TRUE", b"true", b"True") else b"False"
    if typ == "int":
        return str(int(plain)).encode()
    return plain


def main():
    doc = json.load(open(sys.argv[1], "rb"))
    idents = [x25519.Identity.from_str(l.strip()) for l in open(sys.argv[2]).read().splitlines()
              if l.strip() and not l.startswith("#")]
    meta = doc.pop("sops")
    key = None
    for entry in meta.get("age") or []:
        try:
            key = pyrage.decrypt(entry["enc"].encode(), idents)
            break
        except Exception:
            continue
    if key is None or len(key) != 32:
        print(json.dumps({"mac_ok": False, "error": "no data key"}))
        sys.exit(2)
    suffix = meta.get("unencrypted_suffix") or "_unencrypted"
    h = hashlib.sha512()
    out = {}

    def walk(v, path):
        if isinstance(v, dict):
            for k, c in v.items():
                walk(c, path + [k])
        elif isinstance(v, list):
            for c in v:
                walk(c, path)
        elif v is None:
            return
        else:
            encrypted = not any(p.endswith(suffix) for p in path)
            if encrypted and isinstance(v, str) and v.startswith("ENC["):
                plain, typ = gcm_open(key, v, ("".join(p + ":" for p in path)).encode())
                h.update(mac_bytes(plain, typ))
                if path == ["data"]:
                    out["data"] = plain
            else:
                if isinstance(v, bool):
                    h.update(b"True" if v else b"False")
                elif isinstance(v, str):
                    h.update(v.encode())
                else:
                    h.update(str(v).encode())
                if path == ["data"]:
                    out["data"] = v.encode()

    walk(doc, [])
    computed = h.hexdigest().upper().encode()
    stored, _ = gcm_open(key, meta["mac"], meta["lastmodified"].encode())
    ok = stored == computed
    print(json.dumps({"mac_ok": ok, "data_hex": out["data"].hex() if "data" in out else None}))
    sys.exit(0 if ok else 1)


main()
