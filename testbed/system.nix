# A stand-in for a NixOS system toplevel, for the fleet testbed.
#
# Evaluated by the real Debian nix with no flake inputs and no network:
#   nix-build testbed/system.nix --argstr machine tb1 --argstr generation 2
# Every derivation uses builder /bin/sh and PATH=<path> (the host's coreutils),
# so it needs `sandbox = false` (set in NIX_CONFIG by `testbed build`).
#
# The output is shaped like config.system.build.toplevel of NixOS
# (nixos/modules/system/activation/top-level.nix): bin/switch-to-configuration,
# activate, nixos-version, system, init, kernel-params, sw -> <store path>, etc -> <store path>,
# specialisation/. Deploy tools run exactly what they run on a real host:
#   test -e TOP/nixos-version
#   nix-env -p /nix/var/nix/profiles/system --set TOP
#   TOP/bin/switch-to-configuration boot|switch|test|dry-activate
{ machine
, generation ? "1"
  # Where /bin/sh finds coreutils. Debian keeps them in /usr/bin; the guest sees the host's /usr.
, path ? "/usr/bin:/bin"
  # Bytes of incompressible payload in a separate store path, to make copies measurable
  # (the slow-copy fault throttles the link; a bigger payload makes the copy take longer).
, payloadBytes ? 0
  # Or a file (a source in the store, copied wherever the system is built; `testbed flake` uses it).
, payloadFile ? null
, system ? builtins.currentSystem
}:
let
  validName = s: builtins.match "[A-Za-z0-9][A-Za-z0-9._+-]*" s != null;
  checked =
    if !validName machine then throw "testbed/system.nix: machine name '${machine}' must match [A-Za-z0-9][A-Za-z0-9._+-]*"
    else if !validName generation then throw "testbed/system.nix: generation '${generation}' must match [A-Za-z0-9][A-Za-z0-9._+-]*"
    else true;

  mk = name: script: extra: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = path;
  } // extra);

  # Shared by all generations of all machines: copied once, then already valid on the host
  # (lets a deploy tool show "nothing to copy" for unchanged parts).
  sw = mk "testbed-sw" ''
    set -e
    mkdir -p $out/bin
    printf '#!/bin/sh\necho testbed-hello\n' > $out/bin/testbed-hello
    chmod +x $out/bin/testbed-hello
  '' { };

  etc = mk "testbed-etc-${machine}-${generation}" ''
    set -e
    mkdir -p $out/etc
    printf '%s\n' "$machine" > $out/etc/hostname
    printf 'testbed generation %s\n' "$generation" > $out/etc/testbed-generation
  '' { inherit machine generation; };

  payload = if payloadFile != null then mk "testbed-payload-${machine}-${generation}" ''
    set -e
    mkdir -p $out
    cp "$src" $out/blob
  '' { inherit machine generation; src = payloadFile; } else mk "testbed-payload-${machine}-${generation}" ''
    set -e
    mkdir -p $out
    head -c "$payloadBytes" /dev/urandom > $out/blob
  '' { inherit machine generation; payloadBytes = toString payloadBytes; };

  toplevel = mk "nixos-system-${machine}-testbed-${generation}" ''
    set -e
    mkdir -p $out/bin $out/specialisation
    printf '%s' "testbed-$generation" > $out/nixos-version
    printf '%s' "$system" > $out/system
    printf '%s' "$machine" > $out/testbed-machine
    printf '%s' "$generation" > $out/testbed-generation
    printf '%s' "init=$out/init" > $out/kernel-params
    ln -s "$sw" $out/sw
    ln -s "$etc/etc" $out/etc
    if [ "$payloadBytes" != 0 ]; then ln -s "$payload" $out/payload; fi

    # Substitute @out@/@machine@/@generation@/@path@ into the scripts.
    subst() {
      sed -e "s|@out@|$out|g" -e "s|@machine@|$machine|g" \
          -e "s|@generation@|$generation|g" -e "s|@path@|$PATH|g" "$1" > "$2"
      chmod 0555 "$2"
    }
    printf '%s\n' "$switchScript" > switch.in
    printf '%s\n' "$activateScript" > activate.in
    printf '%s\n' "$initScript" > init.in
    subst switch.in $out/bin/switch-to-configuration
    subst activate.in $out/activate
    subst init.in $out/init
  '' {
    inherit machine generation sw etc;
    payload = if payloadBytes > 0 then payload else "";
    payloadBytes = toString payloadBytes;
    switchScript = builtins.readFile ./switch-to-configuration.sh;
    activateScript = builtins.readFile ./activate.sh;
    initScript = "#!/bin/sh\necho 'testbed: @out@/init is not bootable' >&2\nexit 1";
  };
in
assert checked; toplevel
