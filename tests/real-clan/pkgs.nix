# DIR/pkgs.nix for ../shared/real-clan/new-clan-flake: the few packages clan-core's generator scripts
# use, wrapped from this host's own binaries, so `finalScript` of the real clanServices builds and
# runs offline (full nixpkgs is not available here). Every package is a store path whose bin/ links
# to the host program (ssh-keygen, jq, mkpasswd, xkcdpass, python3 …); tools/install-deps installs them.
# One stand-in: `zerotier-idtool` (no ZeroTier in Debian) prints an identity in ZeroTier's
# `address:0:public:secret` text format from random bytes — its shape, not ZeroTier's proof of work.
{ lib }:
let
  system = "x86_64-linux";
  sh = attrs: derivation ({ inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; } // attrs);
  drvExtras = d: d // { overrideAttrs = _: d; override = _: d; version = "1.14.2"; meta = { }; doCheck = false; };
  # bin/<b> → the host's <b>; the build fails, naming the program, when the host lacks one.
  hostTools = name: bins: drvExtras (sh {
    inherit name;
    args = [ "-c" ''
      mkdir -p "$out/bin"
      for b in ${lib.concatStringsSep " " bins}; do
        p=$(command -v "$b") || { echo "pkgs.nix: the host has no $b (run tools/install-deps test)" >&2; exit 1; }
        ln -s "$p" "$out/bin/$b"
      done'' ];
  });
  writeScript = name: text: sh { inherit name text; passAsFile = [ "text" ]; args = [ "-c" ''cp "$textPath" "$out" && chmod +x "$out"'' ]; };
  coreutilsBins = [ "base64" "basename" "cat" "chmod" "cp" "cut" "date" "dd" "dirname" "echo" "env" "false"
    "head" "id" "ln" "ls" "mkdir" "mktemp" "mv" "od" "printf" "readlink" "realpath" "rm" "rmdir" "seq"
    "sha256sum" "sort" "stat" "tail" "tee" "touch" "tr" "true" "uname" "uniq" "wc" ];
  python3 = drvExtras (hostTools "python3" [ "python3" ]) // {
    # buildPythonApplication: each [project.scripts] entry of pyproject.toml as bin/<name>, run by
    # the host's python3 with the package source on sys.path.
    pkgs.buildPythonApplication = { pname, src, ... }:
      let scripts = (builtins.fromTOML (builtins.readFile (src + "/pyproject.toml"))).project.scripts;
      in drvExtras (sh {
        name = pname;
        args = [ "-c" (lib.concatStringsSep "\n" ([ ''mkdir -p "$out/bin"'' ] ++ lib.mapAttrsToList (bin: entry:
          let mod = builtins.head (lib.splitString ":" entry); fn = lib.last (lib.splitString ":" entry); in ''
            cat > "$out/bin/${bin}" <<'PY'
            #!/usr/bin/python3
            import sys
            sys.path.insert(0, "${src}")
            from ${mod} import ${fn}
            sys.exit(${fn}())
            PY
            chmod +x "$out/bin/${bin}"'') scripts)) ];
      });
    pkgs.setuptools = null;
  };
  zerotierone = drvExtras (sh {
    name = "zerotierone-standin";
    args = [ "-c" ''
      mkdir -p "$out/bin"
      cat > "$out/bin/zerotier-idtool" <<'PY'
      #!/usr/bin/python3
      # Stand-in: `zerotier-idtool generate SECRET PUBLIC` in ZeroTier's identity text format.
      import secrets, sys
      assert sys.argv[1] == "generate", "stand-in supports only: generate SECRET PUBLIC"
      addr = "%02x" % secrets.randbelow(0xff) + secrets.token_hex(4)
      pub, priv = secrets.token_hex(64), secrets.token_hex(64)
      open(sys.argv[3], "w").write(f"{addr}:0:{pub}")
      open(sys.argv[2], "w").write(f"{addr}:0:{pub}:{priv}")
      PY
      chmod +x "$out/bin/zerotier-idtool"'' ];
  });
  pkgs = {
    inherit system writeScript python3 zerotierone;
    stdenv.hostPlatform = lib.systems.elaborate system;
    writeShellScript = name: text: writeScript name "#!/bin/bash\n${text}";
    writeText = name: text: sh { inherit name text; passAsFile = [ "text" ]; args = [ "-c" ''cp "$textPath" "$out"'' ]; };
    runCommand = name: env: cmd: sh (env // { inherit name; args = [ "-c" cmd ]; });
    callPackage = f: args: let fn = if builtins.isFunction f then f else import f; in
      fn (builtins.intersectAttrs (builtins.functionArgs fn) (pkgs // { inherit lib; }) // args);
    coreutils = hostTools "coreutils" coreutilsBins;
    bash = hostTools "bash" [ "bash" ];
    openssh = hostTools "openssh" [ "ssh" "ssh-keygen" ];
    jq = hostTools "jq" [ "jq" ];
    mkpasswd = hostTools "mkpasswd" [ "mkpasswd" ];
    xkcdpass = hostTools "xkcdpass" [ "xkcdpass" ];
    openssl = hostTools "openssl" [ "openssl" ];
  };
in pkgs
