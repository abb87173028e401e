# cinnabar's own services: radicle seed node and the Matrix homeserver (synapse) the bots talk to.
{ pkgs, ... }:
{
  clan.core.vars.generators = {
    radicle = {
      files.ssh-private-key = { };
      files.ssh-public-key.secret = false;
      runtimeInputs = [ pkgs.coreutils pkgs.openssh ];
      script = ''
        ssh-keygen -q -t ed25519 -N "" -C "" -f "$out"/ssh-private-key
        mv "$out"/ssh-private-key.pub "$out"/ssh-public-key
      '';
    };
    matrix-password-cameron = {
      files.password = { };
      runtimeInputs = [ pkgs.coreutils pkgs.openssl ];
      script = ''
        openssl rand -hex 24 | tr -d "\n" > "$out"/password
      '';
    };
    synapse-registration-shared-secret = {
      files."shared-secret.yaml" = { owner = "matrix-synapse"; group = "matrix-synapse"; };
      runtimeInputs = [ pkgs.coreutils pkgs.openssl ];
      script = ''
        printf "registration_shared_secret: %s\n" "$(openssl rand -hex 32)" > "$out"/shared-secret.yaml
      '';
    };
  };
}
