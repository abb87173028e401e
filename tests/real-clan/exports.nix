# Flake-level ("per-export") generators as clan-core d7c35d9 declares them: top-level
# `exports."<key>".generators` with the `generators` export interface (its own test,
# pkgs/clan-cli/clan_cli/tests/test_vars_generate.py `test_flake_level_generators`), beside
# ordinary machines. A/one depends on nothing; B/one reads A/one, B/two reads B/one and is deployed
# to web (its secret goes to web's key); A/web-boot is an activation secret for web, B/boot one for
# web and db (uploaded with their secrets at deploy).
{ self, ... }:
let
  clan-core = self.inputs.clan-core;
in
{
  meta.name = "exports";

  inventory.machines = {
    web = { };
    db = { };
  };

  exports."A" = {
    imports = [ (clan-core + "/modules/clan/export-modules/generators.nix") ];
    generators.one = {
      files.foo = { };
      script = ''
        echo hello > $out/foo
      '';
    };
    generators.web-boot = {
      files.key = { deploy = [ "web" ]; neededFor = "activation"; };
      script = ''
        echo web-only > $out/key
      '';
    };
  };
  exports."B" = {
    imports = [ (clan-core + "/modules/clan/export-modules/generators.nix") ];
    generators.one = {
      dependencies.A = { exportKey = "A"; generator = "one"; };
      files.foo = { secret = false; };
      script = ''
        cat $in/A/foo > $out/foo
        echo "world!" >> $out/foo
      '';
    };
    generators.two = {
      dependencies.one = { exportKey = "B"; generator = "one"; };
      files.foo = { deploy = [ "web" ]; };
      script = ''
        cat $in/one/foo > $out/foo
        echo "world!" >> $out/foo
      '';
    };
    generators.boot = {
      files.key = { deploy = [ "web" "db" ]; neededFor = "activation"; };
      script = ''
        echo boot-key > $out/key
      '';
    };
  };
}
