#!/usr/bin/env python3
"""Independent decryption of a clan sops secret with the real `age` CLI.

usage: sops_age_decrypt.py SECRET_FILE AGE_KEY_FILE
Unwraps the sops data key by running `age -d -i AGE_KEY_FILE` on each `sops.age[].enc` until one
opens, then AES-256-GCM-decrypts `data` (AAD "data:") with pyca/cryptography and writes the raw
plaintext to stdout. Exit 1 when no stanza opens with this key, 2 on any other failure."""
import base64, json, re, subprocess, sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

secret_path, key_path = sys.argv[1], sys.argv[2]
doc = json.load(open(secret_path))
data_key = None
for entry in doc["sops"]["age"]:
    r = subprocess.run(["age", "-d", "-i", key_path], input=entry["enc"].encode(), capture_output=True)
    if r.returncode == 0:
        data_key = r.stdout
        break
if data_key is None:
    sys.exit(1)
if len(data_key) != 32:
    print(f"data key has {len(data_key)} bytes", file=sys.stderr)
    sys.exit(2)
m = re.fullmatch(r"ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:str\]", doc["data"])
if not m:
    print("data is not an ENC[...] string", file=sys.stderr)
    sys.exit(2)
ct, iv, tag = (base64.b64decode(x) for x in m.groups())
plain = AESGCM(data_key).decrypt(iv, ct + tag, b"data:") if iv else b""
sys.stdout.buffer.write(plain)
