# A flake with no inputs whose nixosConfigurations are fleet testbed systems (written by
# `testbed flake OUTDIR`; see testbed/README.md). Build one the way clan does:
#   nix build 'path:OUTDIR#nixosConfigurations."M".config.system.build.toplevel'
# with NIX_CONFIG containing `substituters =` and `sandbox = false`.
# Hand-made on purpose: the real clan-core offline (../shared/real-clan) has no nixpkgs, so it cannot
# build a system toplevel to deploy; inventory and vars tests use the real clan (tests/real-clan/).
# Machines and their generations: machines/<name>.json = { "generation": "...", "payloadBytes": N }.
{
  description = "fleet testbed systems";

  outputs = { self }:
    let
      cfg = builtins.fromJSON (builtins.readFile ./testbed.json);
      files = builtins.attrNames (builtins.readDir ./machines);
      jsonFiles = builtins.filter (f: builtins.match ".*\\.json" f != null) files;
      machine = file:
        let
          name = builtins.substring 0 (builtins.stringLength file - 5) file;
          m = builtins.fromJSON (builtins.readFile (./machines + "/${file}"));
        in {
          inherit name;
          value.config.system.build.toplevel = import ./system.nix {
            machine = name;
            generation = m.generation;
            payloadBytes = m.payloadBytes or 0;
            payloadFile = if m ? payloadFile then ./. + "/${m.payloadFile}" else null;
            inherit (cfg) system path;
          };
        };
    in {
      nixosConfigurations = builtins.listToAttrs (map machine jsonFiles);
    };
}
