#!/usr/bin/env python3
"""Independent decryption of a clan sops secret with the real `age` CLI.

usage: sops_age_decrypt.py SECRET_FILE AGE_KEY_FILE
       sops_age_decrypt.py --batch AGE_KEY_FILE SECRET_FILE...   (prints "ok|denied|error <file>" per file)
Unwraps the sops data key by running `age -d -i AGE_KEY_FILE` on each `sops.age[].enc` until one
opens, then AES-256-GCM-decrypts `data` (AAD "data:") with pyca/cryptography and writes the raw
plaintext to stdout. Exit 1 when no stanza opens with this key, 2 on any other failure."""
import base64, json, re, subprocess, sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM



class Denied(Exception):
    pass


def decrypt(secret_path, key_path):
    doc = json.load(open(secret_path))
    data_key = None
    for entry in doc["sops"]["age"]:
        r = subprocess.run(["age", "-d", "-i", key_path], input=entry["enc"].encode(), capture_output=True)
        if r.returncode == 0:
            data_key = r.stdout
            break
    if data_key is None:
        raise Denied()
    if len(data_key) != 32:
        raise ValueError(f"data key has {len(data_key)} bytes")
    m = re.fullmatch(r"ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:str\]", doc["data"])
    if not m:
        raise ValueError("data is not an ENC[...] string")
    ct, iv, tag = (base64.b64decode(x) for x in m.groups())
    return AESGCM(data_key).decrypt(iv, ct + tag, b"data:")


if sys.argv[1] == "--batch":
    key_path = sys.argv[2]
    for f in sys.argv[3:]:
        try:
            decrypt(f, key_path)
            print("ok", f)
        except Denied:
            print("denied", f)
        except Exception as e:  # noqa: BLE001 - reported per file
            print("error", f, e)
    sys.exit(0)
try:
    sys.stdout.buffer.write(decrypt(sys.argv[1], sys.argv[2]))
except Denied:
    sys.exit(1)
except Exception as e:  # noqa: BLE001
    print(e, file=sys.stderr)
    sys.exit(2)
