#!/usr/bin/env bash
# Self-test of the testbed with real components: namespaces, sshd, the Debian nix.
# Brings up 2 hosts, deploys with exactly the commands a NixOS deploy uses
# (nix copy --to ssh-ng://, nix-env --set, switch-to-configuration switch), checks isolation,
# rollback, every fault mode, ssh connection counts, and that `down` leaves nothing behind.
# Runs as root. Exit 0 only if every check passed.
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TB=$HERE/testbed
NIX=(nix --extra-experimental-features nix-command)
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND... : passes if the command succeeds
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
eq() { # eq DESCRIPTION ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
    case "$2" in *"$3"*) ok "$1" ;; *) bad "$1: '$3' not in: $2" ;; esac
}
fatal() { echo "selftest: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

[ "$(id -u)" = 0 ] || fatal "must run as root (network and mount namespaces)"
for t in ip unshare nsenter setsid tc ssh ssh-keygen /usr/sbin/sshd nix nix-build nix-env nix-daemon python3 timeout; do
    command -v "$t" >/dev/null 2>&1 || fatal "required tool '$t' is missing"
done

DIR=$(mktemp -d /tmp/fleet-testbed-selftest.XXXXXX)
export TESTBED_DIR=$DIR
cleanup() { "$TB" down >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT

jget() { # jget PYTHON-EXPR-over-d  (reads `testbed status --json`)
    "$TB" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print("" if v is None else v)' "$1"
}

# ------------------------------------------------------------------ up
t0=$(now)
"$TB" up 2 || fatal "testbed up 2 failed"
T_UP=$(since "$t0")
eval "$("$TB" env)"
CFG=$TESTBED_SSH_CONFIG
SSH=(ssh -F "$CFG")
SLOT=$(jget 'd["slot"]')
A1=$(jget 'd["hosts"][0]["address"]')
A2=$(jget 'd["hosts"][1]["address"]')
HOLDERS="$(jget 'd["hosts"][0]["pid"]') $(jget 'd["hosts"][1]["pid"]')"
SSHDS="$(jget 'd["hosts"][0]["sshd_pid"]') $(jget 'd["hosts"][1]["sshd_pid"]')"

check "status --json is valid JSON" sh -c "'$TB' status --json | python3 -m json.tool >/dev/null"
eq "2 hosts listed" "$(jget 'len(d["hosts"])')" 2
eq "tb1 state up" "$(jget 'd["hosts"][0]["state"]')" up
eq "tb2 state up" "$(jget 'd["hosts"][1]["state"]')" up
check "hosts have distinct addresses" test "$A1" != "$A2"
eq "ssh tb1 reaches tb1 (uts namespace)" "$("${SSH[@]}" tb1 hostname)" tb1
eq "ssh by address reaches tb2" "$("${SSH[@]}" "root@$A2" hostname)" tb2
A6=$(jget 'd["hosts"][1]["address6"]')
eq "ssh by IPv6 address, known_hosts + key only (no -F)" \
    "$(ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TESTBED_KNOWN_HOSTS" \
        -o IdentitiesOnly=yes -i "$TESTBED_IDENTITY" "root@$A6" hostname)" tb2
eq "guest store starts empty" "$("$TB" exec tb1 ls -A /nix/store)" ""
eq "guest has no /run/current-system" "$("$TB" exec tb1 sh -c 'readlink /run/current-system || echo none')" none
contains "ssh-config names the known_hosts file" "$("$TB" ssh-config)" "UserKnownHostsFile $DIR/known_hosts"
HOST_CURRENT=$(readlink /run/current-system || echo none)

# ------------------------------------------------------------------ build
S1=$("$TB" build tb1 g1) || fatal "build tb1 g1 failed"
S1b=$("$TB" build tb1 g2) || fatal "build tb1 g2 failed"
S2=$("$TB" build tb2 g1) || fatal "build tb2 g1 failed"
check "build prints a NixOS-shaped toplevel" test -x "$S1/bin/switch-to-configuration" -a -e "$S1/nixos-version" -a -x "$S1/activate"
check "generations differ" test "$S1" != "$S1b"
# The same system through a flake, built with clan's command line (nix 2.8 has no --print-out-paths).
FLAKE=$("$TB" flake "$DIR/flake" --gen g1) || fatal "testbed flake failed"
FS1=$(NIX_CONFIG=$'substituters =\nsandbox = false' nix --extra-experimental-features 'nix-command flakes' \
    --option warn-dirty false build --flake-registry "" --no-link --json \
    "$FLAKE#nixosConfigurations.\"tb1\".config.system.build.toplevel" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["outputs"]["out"])')
eq "flake nixosConfigurations.tb1 toplevel = testbed build tb1 g1" "$FS1" "$S1"

# ------------------------------------------------------------------ deploy
# deploy HOST ADDR PATH: one ControlMaster, then the exact NixOS deploy commands through it.
deploy() {
    local host=$1 addr=$2 path=$3 cp
    cp=$DIR/cm-$host
    "${SSH[@]}" -o ControlMaster=yes -o ControlPath="$cp" -o ControlPersist=60 -fN "$host" || return 1
    NIX_SSHOPTS="-F $CFG -o ControlPath=$cp" "${NIX[@]}" copy --no-check-sigs --to "ssh-ng://root@$addr" "$path" 2>"$DIR/copy-$host.log" &&
    "${SSH[@]}" -o ControlPath="$cp" "$host" test -e "$path/nixos-version" &&
    "${SSH[@]}" -o ControlPath="$cp" "$host" nix-env -p /nix/var/nix/profiles/system --set "$path" &&
    "${SSH[@]}" -o ControlPath="$cp" "$host" "$path/bin/switch-to-configuration" switch 2>"$DIR/switch-$host.log"
    local rc=$?
    "${SSH[@]}" -o ControlPath="$cp" -O exit "$host" 2>/dev/null
    return $rc
}

c1=$("$TB" connections tb1)
c2=$("$TB" connections tb2)
t0=$(now)
deploy tb1 "$A1" "$S1" & p1=$!
deploy tb2 "$A2" "$S2" & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
T_DEPLOY=$(since "$t0")
eq "deploy tb1 exit status" "$r1" 0
eq "deploy tb2 exit status" "$r2" 0
eq "one ssh connection per host per deploy (tb1)" "$(( $("$TB" connections tb1) - c1 ))" 1
eq "one ssh connection per host per deploy (tb2)" "$(( $("$TB" connections tb2) - c2 ))" 1
eq "tb1 /run/current-system (over ssh)" "$("${SSH[@]}" tb1 readlink /run/current-system)" "$S1"
eq "tb2 /run/current-system (via exec)" "$("$TB" exec tb2 readlink /run/current-system)" "$S2"
eq "tb1 profile points at the system" "$(jget 'd["hosts"][0]["profile"]')" "$S1"
eq "tb1 profile generation 1" "$(jget 'd["hosts"][0]["profile_generation"]')" 1
eq "status shows tb1 current system" "$(jget 'd["hosts"][0]["current_system"]')" "$S1"
eq "real host /run/current-system untouched" "$(readlink /run/current-system || echo none)" "$HOST_CURRENT"
check "tb2 store does not hold tb1's system" test -z "$("$TB" exec tb2 ls /nix/store | grep "${S1#/nix/store/}")"
LAST=$(tail -n1 "$DIR/hosts/tb1/var-lib/testbed/activations.log")
contains "activations.log records the switch" "$LAST" "$(printf 'switch\t%s\tok' "$S1")"
contains "switch output is NixOS-like" "$(cat "$DIR/switch-tb1.log")" "activating the configuration..."

# Second generation, then an unchanged redeploy copies nothing, then rollback.
deploy tb1 "$A1" "$S1b"
eq "tb1 runs generation 2" "$("$TB" exec tb1 readlink /run/current-system)" "$S1b"
eq "tb1 profile generation 2" "$(jget 'd["hosts"][0]["profile_generation"]')" 2
deploy tb1 "$A1" "$S1b"
eq "unchanged redeploy copies no path" "$(grep -c 'copying path' "$DIR/copy-tb1.log")" 0
eq "unchanged redeploy keeps generation 2" "$(jget 'd["hosts"][0]["profile_generation"]')" 2
"${SSH[@]}" tb1 'nix-env -p /nix/var/nix/profiles/system --rollback && /nix/var/nix/profiles/system/bin/switch-to-configuration switch' 2>/dev/null
eq "rollback restores generation 1" "$("$TB" exec tb1 readlink /run/current-system)" "$S1"
eq "rollback moves the profile to generation 1" "$(jget 'd["hosts"][0]["profile_generation"]')" 1

# clan's secret upload (clan-formats.md 2.8) lands in a private tmpfs, never on the disk.
SEC=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
printf 'AGE-SECRET-KEY-1TESTBEDSELFTEST\n' > "$SEC/key.txt"; chmod 0400 "$SEC/key.txt"
tar -C "$SEC" --owner=root --group=root -czf - . | "${SSH[@]}" tb1 \
    "bash -c 'install -d -m 700 /var/lib/sops-nix && find /var/lib/sops-nix -mindepth 1 -delete && tar -C /var/lib/sops-nix -xzf -'"
rm -rf "$SEC"
eq "secret upload: key.txt mode 0400 in the host" "$("$TB" exec tb1 stat -c %a /var/lib/sops-nix/key.txt)" 400
eq "secret upload: /var/lib/sops-nix is a tmpfs" "$("$TB" exec tb1 stat -f -c %T /var/lib/sops-nix)" tmpfs
eq "secret upload: nothing on the disk behind it" "$(ls -A "$DIR/hosts/tb1/var-lib/sops-nix")" ""
eq "secret upload: invisible on tb2" "$("$TB" exec tb2 ls -A /var/lib/sops-nix)" ""

# ------------------------------------------------------------------ faults (on tb2; tb1 must stay fine)
ssh_err() { "${SSH[@]}" "$@" 2>&1 >/dev/null; }

"$TB" fault tb2 down
eq "fault down: status says down" "$(jget 'd["hosts"][1]["state"]')" down
contains "fault down: ssh gets no route" "$(ssh_err tb2 true)" "No route to host"
eq "fault down: tb1 unaffected" "$("${SSH[@]}" tb1 hostname)" tb1
"$TB" fault tb2 clear
eq "clear down: ssh works" "$("${SSH[@]}" tb2 hostname)" tb2

"$TB" fault tb2 sshd-refuse
contains "fault sshd-refuse: connection refused" "$(ssh_err tb2 true)" "Connection refused"
out=$(NIX_SSHOPTS="-F $CFG" "${NIX[@]}" copy --no-check-sigs --to "ssh-ng://root@$A2" "$S2" 2>&1); rc=$?
check "fault sshd-refuse: nix copy fails" test "$rc" -ne 0
contains "fault sshd-refuse: nix copy says why" "$out" "Connection refused"
"$TB" fault tb2 clear
eq "clear sshd-refuse: ssh works" "$("${SSH[@]}" tb2 hostname)" tb2

"$TB" fault tb2 auth-refuse
contains "fault auth-refuse: permission denied" "$(ssh_err tb2 true)" "Permission denied (publickey)"
"$TB" fault tb2 clear
eq "clear auth-refuse: ssh works" "$("${SSH[@]}" tb2 hostname)" tb2

"$TB" fault tb2 wrong-hostkey
contains "fault wrong-hostkey: strict checking refuses" "$(ssh_err tb2 true)" "Host key verification failed"
out=$(NIX_SSHOPTS="-F $CFG" "${NIX[@]}" copy --no-check-sigs --to "ssh-ng://root@$A2" "$S2" 2>&1); rc=$?
check "fault wrong-hostkey: nix copy fails" test "$rc" -ne 0
contains "fault wrong-hostkey: nix copy says why" "$out" "REMOTE HOST IDENTIFICATION HAS CHANGED"
"$TB" fault tb2 clear
eq "clear wrong-hostkey: ssh works with the original key" "$("${SSH[@]}" tb2 hostname)" tb2

"$TB" fault tb2 activation-fail 3
"${SSH[@]}" tb2 "$S2/bin/switch-to-configuration" switch 2>/dev/null; rc=$?
eq "fault activation-fail: exit code 3" "$rc" 3
contains "fault activation-fail: logged" "$(tail -n1 "$DIR/hosts/tb2/var-lib/testbed/activations.log")" "$(printf 'switch\t%s\tfailed' "$S2")"
"$TB" fault tb2 clear
"${SSH[@]}" tb2 "$S2/bin/switch-to-configuration" switch 2>/dev/null; rc=$?
eq "clear activation-fail: switch succeeds" "$rc" 0

"$TB" fault tb2 activation-hang
timeout 3 "${SSH[@]}" tb2 "$S2/bin/switch-to-configuration" switch 2>/dev/null; rc=$?
eq "fault activation-hang: still running after 3 s (timeout 124)" "$rc" 124
contains "fault activation-hang: logged" "$(tail -n1 "$DIR/hosts/tb2/var-lib/testbed/activations.log")" "$(printf 'switch\t%s\thang' "$S2")"
"$TB" fault tb2 clear
sleep 0.2
eq "clear activation-hang: hung activation killed" \
    "$(for p in $(ip netns pids "fleet-tb$SLOT-tb2"); do tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null; echo; done | grep -c switch-to-configuration)" 0

# slow copy: 512 KiB through a 1 Mbit/s token bucket cannot take less than ~4.2 s.
SP=$("$TB" build tb2 slow --payload 524288) || fatal "build with payload failed"
"$TB" fault tb2 slow-copy 1mbit
contains "fault slow-copy: tbf qdisc on the veth" "$(tc qdisc show dev "tb${SLOT}x2")" "tbf"
t0=$(now)
NIX_SSHOPTS="-F $CFG" "${NIX[@]}" copy --no-check-sigs --to "ssh-ng://root@$A2" "$SP" 2>/dev/null; rc=$?
T_SLOW=$(since "$t0")
eq "fault slow-copy: copy still succeeds" "$rc" 0
check "fault slow-copy: 512 KiB at 1 Mbit/s took >= 3 s (took $T_SLOW s)" awk -v t="$T_SLOW" 'BEGIN { exit !(t >= 3) }'
"$TB" fault tb2 clear
eq "clear slow-copy: qdisc removed" "$(tc qdisc show dev "tb${SLOT}x2" | grep -c tbf)" 0
eq "faults cleared in status" "$(jget 'len(d["hosts"][1]["faults"])')" 0

# ------------------------------------------------------------------ down
t0=$(now)
"$TB" down
T_DOWN=$(since "$t0")
eq "down: no namespaces left" "$(ip netns list | grep -c "^fleet-tb$SLOT-")" 0
eq "down: no veths left" "$(ip -o link show | grep -c ": tb${SLOT}x")" 0
eq "down: no unreachable route left" "$(ip route show | grep -c "10.231.$SLOT.0/24")" 0
# A killed process may stay a zombie until PID 1 reaps it; zombies hold no namespace or mount.
running() { local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]; }
alive=""
for p in $HOLDERS $SSHDS; do running "$p" && alive="$alive $p($(tr '\0' ' ' < /proc/$p/cmdline))"; done
eq "down: holder and sshd processes gone" "$alive" ""
eq "down: no mount anywhere refers to the testbed dir" "$(cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -c "$DIR")" 0
check "down: testbed dir removed" test ! -e "$DIR"
"$TB" down >/dev/null 2>&1; eq "down again is a no-op" "$?" 0

echo "timings: up 2 = ${T_UP}s, parallel deploy of 2 = ${T_DEPLOY}s, down = ${T_DOWN}s, slow copy = ${T_SLOW}s"
echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
