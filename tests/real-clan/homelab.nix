# A clan as a user writes it (clan-core's templates/clan/default shape): a zerotier network with a
# controller and peers, an admin user whose password is prompted, sshd with a host-certificate CA,
# and emergency access. Issue 13's done-when scenario: `fleet vars check` / `generate` on it.
{
  meta.name = "homelab";
  meta.domain = "home.lan";

  inventory.machines = {
    gateway = { tags = [ "server" ]; deploy.targetHost = "root@gateway.home.lan"; };
    web = { tags = [ "server" ]; };
    db = { tags = [ "server" "backup" ]; };
  };

  inventory.instances = {
    zerotier = {
      roles.controller.machines.gateway = { };
      roles.peer.tags.all = { };
    };
    admin-user = {
      module.name = "users";
      roles.default.tags.all = { };
      roles.default.settings = { user = "admin"; prompt = true; groups = [ "wheel" ]; };
    };
    sshd = {
      roles.server.tags.all = { };
      roles.server.settings.certificate.searchDomains = [ "home.lan" ];
      roles.client.tags.all = { };
    };
    emergency-access = {
      roles.default.tags.nixos = { };
    };
  };

  machines = {
    gateway = { nixpkgs.hostPlatform = "x86_64-linux"; };
    web = { nixpkgs.hostPlatform = "x86_64-linux"; };
    db = { nixpkgs.hostPlatform = "x86_64-linux"; };
  };
}
