# What every NixOS server of the demo declares itself (beside the clan services): the initrd's SSH
# host key (clan-core's docs/embeds/initrd.nix) and clan's state-version generator.
{ pkgs, ... }:
{
  clan.core.settings.state-version.enable = true;
  system.stateVersion = "25.05";
  clan.core.vars.generators.initrd-ssh = {
    files."id_ed25519".neededFor = "activation";
    files."id_ed25519.pub".secret = false;
    runtimeInputs = [ pkgs.coreutils pkgs.openssh ];
    script = ''
      ssh-keygen -q -t ed25519 -N "" -C "" -f "$out"/id_ed25519
    '';
  };
}
