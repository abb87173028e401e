# The NixOS options clan-core's modules read that new-clan-flake's catch-all cannot merge: several
# modules define `services.*` and `system.*`, and a raw catch-all refuses two definitions (or recurses
# through `system`). A real NixOS declares these; here they are freeform submodules, with NixOS'
# own defaults for `system.stateVersion` and `system.nixos.release` (state-version's generator reads them).
# make-flake imports it into every machine through `outputs.moduleForMachine`, beside the user's clan.nix.
{ lib, ... }:
let
  freeform = options: lib.mkOption {
    type = lib.types.submodule { freeformType = lib.types.lazyAttrsOf lib.types.anything; inherit options; };
    default = { };
  };
in {
  options.services = freeform { };
  options.system = freeform {
    stateVersion = lib.mkOption { type = lib.types.str; default = "25.11"; };
    nixos.release = lib.mkOption { type = lib.types.str; default = "25.11"; };
  };
}
