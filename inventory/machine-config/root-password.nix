# root's password on the Hetzner machines: prompted, or generated when the answer is empty.
{ pkgs, ... }:
{
  clan.core.vars.generators.user-password-root = {
    prompts.user-password = { description = "Password of root (leave empty to generate one)"; type = "hidden"; persist = true; };
    files.user-password.deploy = false;
    files.user-password-hash.neededFor = "users";
    runtimeInputs = [ pkgs.coreutils pkgs.openssl ];
    script = ''
      if [ -s "$prompts"/user-password ]; then tr -d "\n" < "$prompts"/user-password > "$out"/user-password
      else openssl rand -base64 18 | tr -d "\n" > "$out"/user-password; fi
      openssl passwd -6 -stdin < "$out"/user-password | tr -d "\n" > "$out"/user-password-hash
    '';
  };
}
