#!/usr/bin/env python3
"""Writes inventory/generators.json: the demo fleet's vars generators (seed-fleet.md, §"Vars generators")
with working scripts (bash + coreutils + openssl + ssh-keygen, all present on Debian).
Usage: tools/demo-generators.py [--build] > inventory/generators.json
--build writes the definitions the demo's vars were first generated with (tools/make-demo-vars): the
since-removed machine gcp-vm (its vars are now orphans) and scheelite not yet in user-tara (so its access to
the shared user-password-tara is missing in the final state)."""
import json, sys

ZT_IDENTITY = r'''nodeid=$(openssl rand -hex 5)
printf '%s:0:%s:%s' "$nodeid" "$(openssl rand -hex 64)" "$(openssl rand -hex 64)" > "$out"/zerotier-identity-secret
'''
# ZeroTier's RFC 4193 address: fd + network id (8 bytes) + 99:93 + node id (5 bytes).
ZT_IP = r'''printf 'fd%s9993%s' "$nwid" "$nodeid" | sed 's/.\{4\}/&:/g; s/:$//' > "$out"/zerotier-ip
'''
SSH_KEY = lambda f: f'ssh-keygen -q -t ed25519 -N "" -C "" -f "$out"/{f}\n'
PASSWORD = r'''openssl rand -base64 24 | tr -d '\n' > "$out"/{pw}
openssl passwd -6 -stdin < "$out"/{pw} | tr -d '\n' > "$out"/{hash}
'''
TOR = r'''openssl genpkey -algorithm ed25519 -outform DER -out /tmp/k.der
tail -c 32 /tmp/k.der > /tmp/seed
openssl pkey -inform DER -in /tmp/k.der -pubout -outform DER | tail -c 32 > /tmp/pub
openssl dgst -sha512 -binary /tmp/seed > /tmp/h
b0=$(od -An -tu1 -N1 /tmp/h | tr -d ' '); b31=$(od -An -tu1 -j31 -N1 /tmp/h | tr -d ' ')
{ printf '== ed25519v1-secret: type0 ==\0\0\0'; printf "\\$(printf %o $((b0 & 248)))"; head -c 31 /tmp/h | tail -c 30
  printf "\\$(printf %o $(((b31 & 127) | 64)))"; tail -c 32 /tmp/h; } > "$out"/hs_ed25519_secret_key
{ printf '.onion checksum'; cat /tmp/pub; printf '\003'; } | openssl dgst -sha3-256 -binary | head -c 2 > /tmp/ck
printf '%s.onion\n' "$({ cat /tmp/pub /tmp/ck; printf '\003'; } | base32 | tr 'A-Z' 'a-z' | tr -d '=\n')" > "$out"/hostname
'''
PUBLIC = {"secret": False}
USERS_ONLY = {"deploy": False}

templates = {
    # shared, users only (crs58): the controller's identity and the network it defines
    "zerotier-controller": {
        "share": True,
        "files": {"zerotier-identity-secret": USERS_ONLY, "zerotier-ip": PUBLIC, "zerotier-network-id": PUBLIC},
        "script": ZT_IDENTITY + 'nwid="$nodeid"$(openssl rand -hex 3)\nprintf %s "$nwid" > "$out"/zerotier-network-id\n' + ZT_IP,
    },
    "zerotier-peer": {
        "dependencies": ["zerotier-controller"],
        "files": {"zerotier-identity-secret": {}, "zerotier-ip": PUBLIC},
        "script": 'nwid=$(cat "$in"/zerotier-controller/zerotier-network-id)\n' + ZT_IDENTITY + ZT_IP,
    },
    "emergency-access": {
        "files": {"password": USERS_ONLY, "password-hash": PUBLIC},
        "script": PASSWORD.format(pw="password", hash="password-hash"),
    },
    "initrd-ssh": {
        "files": {"id_ed25519": {"neededFor": "activation"}, "id_ed25519.pub": PUBLIC},
        "script": SSH_KEY("id_ed25519"),
    },
    "openssh": {
        "files": {"ssh.id_ed25519": {}, "ssh.id_ed25519.pub": PUBLIC},
        "script": SSH_KEY("ssh.id_ed25519"),
    },
    # clanServices/sshd: shared CA (users only), per-machine host certificate
    "openssh-ca": {
        "share": True,
        "files": {"id_ed25519": USERS_ONLY, "id_ed25519.pub": {"secret": False, "deploy": False}},
        "script": SSH_KEY("id_ed25519"),
    },
    "openssh-cert": {
        "dependencies": ["openssh", "openssh-ca"],
        "files": {"ssh.id_ed25519-cert.pub": PUBLIC},
        "validation": {"name": "@machine@", "domains": {"zt": "zt"}},
        "script": 'ssh-keygen -q -s "$in"/openssh-ca/id_ed25519 -I @machine@ -h -n @machine@.zt "$in"/openssh/ssh.id_ed25519.pub\n'
                  'mv "$in"/openssh/ssh.id_ed25519-cert.pub "$out"/ssh.id_ed25519-cert.pub\n',
    },
    "state-version": {"files": {"version": PUBLIC}, "script": 'printf 25.05 > "$out"/version\n'},
    "tor_tor": {"files": {"hostname": {}, "hs_ed25519_secret_key": {}}, "script": TOR},
    # clanServices/users with prompt = true: a masked, persisted prompt; empty answer = generate one
    "user-password-root": {
        "prompts": {"user-password": {"description": "Password of root (leave empty to generate one)", "type": "hidden", "persist": True}},
        "files": {"user-password": USERS_ONLY, "user-password-hash": {"neededFor": "users"}},
        "script": 'if [ -s "$prompts"/user-password ]; then tr -d "\\n" < "$prompts"/user-password > "$out"/user-password\n'
                  'else openssl rand -base64 18 | tr -d "\\n" > "$out"/user-password; fi\n'
                  'openssl passwd -6 -stdin < "$out"/user-password | tr -d "\\n" > "$out"/user-password-hash\n',
    },
    "user-password-shared": {
        "share": True,
        "files": {"user-password": USERS_ONLY, "user-password-hash": {"neededFor": "users"}},
        "script": PASSWORD.format(pw="user-password", hash="user-password-hash"),
    },
}

def gens(machine, names, extra=None):
    out = {n: {"template": t} for n, t in names.items()}
    out.update(extra or {})
    return {"generators": out}

peer = {"zerotier": "zerotier-peer", "zerotier-controller": "zerotier-controller", "emergency-access": "emergency-access",
        "initrd-ssh": "initrd-ssh", "openssh": "openssh", "openssh-cert": "openssh-cert", "openssh-ca": "openssh-ca",
        "state-version": "state-version", "tor_tor": "tor_tor", "user-password-cameron": "user-password-shared"}
machines = {
    "cinnabar": gens("cinnabar", {**peer, "user-password-root": "user-password-root"}, {
        # the controller: its zerotier generator also publishes the network id
        "zerotier": {"template": "zerotier-peer",
                     "files": {"zerotier-identity-secret": {}, "zerotier-ip": PUBLIC, "zerotier-network-id": PUBLIC},
                     "script": 'nwid=$(cat "$in"/zerotier-controller/zerotier-network-id)\nprintf %s "$nwid" > "$out"/zerotier-network-id\n'
                               + ZT_IDENTITY + ZT_IP},
        "radicle": {"files": {"ssh-private-key": {}, "ssh-public-key": PUBLIC},
                    "script": SSH_KEY("ssh-private-key") + 'mv "$out"/ssh-private-key.pub "$out"/ssh-public-key\n'},
        "matrix-password-cameron": {"files": {"password": {}}, "script": 'openssl rand -hex 24 | tr -d "\\n" > "$out"/password\n'},
        "matrix-password-clawd": {"files": {"password": {}}, "script": 'openssl rand -hex 24 | tr -d "\\n" > "$out"/password\n'},
        "synapse-registration-shared-secret": {
            "files": {"shared-secret.yaml": {"owner": "matrix-synapse", "group": "matrix-synapse"}},
            "script": 'printf "registration_shared_secret: %s\\n" "$(openssl rand -hex 32)" > "$out"/shared-secret.yaml\n'},
        "clawdbot-claude-oauth": {
            "prompts": {"token": {"description": "Claude OAuth token (paste, end with Ctrl-D)", "type": "multiline-hidden", "persist": True}},
            "files": {"token": {}}, "script": 'true\n'},
        "clawdbot-gateway-token": {"files": {"token": {}}, "script": 'openssl rand -hex 32 | tr -d "\\n" > "$out"/token\n'},
        "clawdbot-zai-coding-api": {
            "prompts": {"api-key": {"description": "Z.ai coding API key", "type": "line", "persist": True}},
            "files": {"api-key": {}}, "script": 'true\n'},
    }),
    "electrum": gens("electrum", {**peer, "user-password-root": "user-password-root"}, {
        "luks-password": {"files": {"key": {"deploy": False, "neededFor": "partitioning"}},
                          "script": 'openssl rand -base64 32 | tr -d "\\n" > "$out"/key\n'},
        "zfs": {"files": {"key": {"deploy": False, "neededFor": "partitioning"}},
                "script": 'openssl rand -hex 32 | tr -d "\\n" > "$out"/key\n'},
    }),
    "galena": gens("galena", {**peer, "user-password-tara": "user-password-shared"}),
    "scheelite": gens("scheelite", {**peer, "user-password-tara": "user-password-shared"}),
}
if "--build" in sys.argv:
    del machines["scheelite"]["generators"]["user-password-tara"]
    machines["gcp-vm"] = gens("gcp-vm", {k: peer[k] for k in ["zerotier", "zerotier-controller", "emergency-access", "initrd-ssh",
                                                          "state-version", "tor_tor"]}, {"user-password-root": {"template": "user-password-root"}})

doc = {"version": 1, "templates": templates, "machines": machines}
print(json.dumps(doc, indent=2))
