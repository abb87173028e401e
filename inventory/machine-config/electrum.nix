# electrum's disk encryption keys (disko): admins only, needed when partitioning.
{ pkgs, ... }:
{
  clan.core.vars.generators = {
    luks-password = {
      files.key = { deploy = false; neededFor = "partitioning"; };
      runtimeInputs = [ pkgs.coreutils pkgs.openssl ];
      script = ''
        openssl rand -base64 32 | tr -d "\n" > "$out"/key
      '';
    };
    zfs = {
      files.key = { deploy = false; neededFor = "partitioning"; };
      runtimeInputs = [ pkgs.coreutils pkgs.openssl ];
      script = ''
        openssl rand -hex 32 | tr -d "\n" > "$out"/key
      '';
    };
  };
}
