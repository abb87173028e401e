# The demo fleet's clan, as its user writes it (clan-core's templates/clan/default shape): the reference
# user's 8 machines (docs: ../shared/reference/seed-fleet.md, vanixiets at 9bfc0c959) with synthetic
# addresses and keys. `tools/regen-demo` evaluates it with the real clan-core (tests/real-clan/make-flake)
# and writes inventory.json, systems.json and generators.json from that evaluation; a test fails when
# they drift. Not a flake by itself: the clan-core input comes from make-flake.
{
  meta.name = "test-clan";
  meta.description = "Phase 0: Architectural validation + infrastructure deployment";
  meta.domain = "zt";

  inventory.machines = {
    cinnabar = {
      tags = [ "nixos" "cloud" "hetzner" "controller" ];
      description = "Primary VPS, zerotier controller";
      deploy.targetHost = "root@cinnabar.zt";
    };
    electrum = {
      tags = [ "nixos" "cloud" "hetzner" "peer" ];
      description = "Secondary test VM, zerotier peer";
      deploy.targetHost = "root@electrum.zt";
    };
    galena = {
      tags = [ "nixos" "cloud" "gcp" "peer" ];
      description = "GCP CPU node (e2-standard-8), zerotier peer";
      deploy.targetHost = "root@galena.zt";
    };
    scheelite = {
      tags = [ "nixos" "cloud" "gcp" "gpu" "peer" ];
      description = "GCP GPU node (n1-standard-8, T4), zerotier peer";
      deploy.targetHost = "root@scheelite.zt";
    };
    # The darwin laptops: no deploy target (not zerotier-managed by clan).
    blackphos = {
      machineClass = "darwin";
      tags = [ "darwin" "workstation" "laptop" "fleet" ];
      description = "raquel's laptop (primary user), crs58 admin";
    };
    stibnite = {
      machineClass = "darwin";
      # `controller` here is the deployment controller, not zerotier's: no role targets the tag.
      tags = [ "darwin" "workstation" "laptop" "controller" ];
      description = "crs58's primary workstation, deployment controller";
    };
    rosegold = {
      machineClass = "darwin";
      tags = [ "darwin" "workstation" "laptop" "fleet" ];
      description = "janettesmith's laptop (primary user), cameron admin";
    };
    argentum = {
      machineClass = "darwin";
      tags = [ "darwin" "workstation" "laptop" "fleet" ];
      description = "christophersmith's laptop (primary user), cameron admin";
    };
  };

  # What `clan machines install` records in the clan's CLI-written inventory.json.
  inventory.machines.cinnabar.installedAt = 1763061719;
  inventory.machines.electrum.installedAt = 1763061739;
  inventory.machines.galena.installedAt = 1775074866;
  inventory.machines.scheelite.installedAt = 1775078574;

  inventory.instances = {
    zerotier = {
      module = { name = "zerotier"; input = "clan-core"; };
      roles.controller.machines.cinnabar = { };
      roles.peer.tags.peer = { };
    };
    # Persistent host keys and CA-signed host certificates (NixOS only; darwin trusts the CA elsewhere).
    sshd = {
      module = { name = "sshd"; input = "clan-core"; };
      roles.server.tags.nixos = { };
      roles.server.settings.certificate.searchDomains = [ "zt" ];
      roles.client.tags.nixos = { };
      roles.client.settings.certificate.searchDomains = [ "zt" ];
    };
    emergency-access = {
      module = { name = "emergency-access"; input = "clan-core"; };
      roles.default.tags.all = { };
      roles.default.settings.allowedKeys.admin-key-1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoDemoDemoDemoDemoDemoDemoDemoDemoDemo0001 admin-key-1";
    };
    # A v3 onion service for port 22, not a relay.
    tor = {
      module = { name = "tor"; input = "clan-core"; };
      roles.server.tags.nixos = { };
    };
    internet = {
      module = { name = "internet"; input = "clan-core"; };
      roles.default.machines.cinnabar.settings.host = "203.0.113.10";
      roles.default.machines.electrum.settings.host = "203.0.113.11";
      roles.default.machines.galena.settings.host = "198.51.100.20";
      roles.default.machines.scheelite.settings.host = "198.51.100.21";
    };
    user-cameron = {
      module = { name = "users"; input = "clan-core"; };
      roles.default.machines = { cinnabar = { }; electrum = { }; argentum = { }; rosegold = { }; galena = { }; scheelite = { }; };
      roles.default.settings = { user = "cameron"; groups = [ "wheel" "networkmanager" ]; share = true; prompt = false; };
    };
    # The legacy machines' admin user.
    user-crs58 = {
      module = { name = "users"; input = "clan-core"; };
      roles.default.machines = { stibnite = { }; blackphos = { }; };
      roles.default.settings = { user = "crs58"; groups = [ "wheel" "networkmanager" ]; share = true; prompt = false; };
    };
    # An external ML researcher on the GPU and CPU nodes.
    user-tara = {
      module = { name = "users"; input = "clan-core"; };
      roles.default.machines = { scheelite = { }; galena = { }; };
      roles.default.settings = { user = "tara"; groups = [ "video" "render" ]; share = true; prompt = false; };
    };
    # The clan's own services (clan-services/, exported as this flake's clan.modules).
    kanban = {
      module = { name = "kanban"; input = "self"; };
      roles.default.machines.cinnabar = { };
      roles.default.settings.port = 3008;
    };
    beads-ui = {
      module = { name = "beads-ui"; input = "self"; };
      roles.default.machines.cinnabar = { };
      roles.default.settings.port = 3009;
    };
    openclaw = {
      module = { name = "openclaw"; input = "self"; };
      roles.default.machines.cinnabar = { };
      roles.default.settings = {
        port = 18789;
        botUserName = "clawd";
        matrixServerName = "matrix.zt";
        serviceUser = "cameron";
        gatewayMode = "local";
      };
    };
  };

  modules = {
    kanban = ./clan-services/kanban.nix;
    beads-ui = ./clan-services/beads-ui.nix;
    openclaw = ./clan-services/openclaw.nix;
  };

  # Each machine's own configuration (the reference repo's modules/machines/<class>/<name>): only
  # what declares vars generators is kept here.
  machines = {
    cinnabar = { imports = [ ./machine-config/server.nix ./machine-config/root-password.nix ./machine-config/cinnabar.nix ]; nixpkgs.hostPlatform = "x86_64-linux"; };
    electrum = { imports = [ ./machine-config/server.nix ./machine-config/root-password.nix ./machine-config/electrum.nix ]; nixpkgs.hostPlatform = "x86_64-linux"; };
    galena = { imports = [ ./machine-config/server.nix ]; nixpkgs.hostPlatform = "x86_64-linux"; };
    scheelite = { imports = [ ./machine-config/server.nix ]; nixpkgs.hostPlatform = "x86_64-linux"; };
    blackphos.nixpkgs.hostPlatform = "aarch64-darwin";
    stibnite.nixpkgs.hostPlatform = "aarch64-darwin";
    rosegold.nixpkgs.hostPlatform = "aarch64-darwin";
    argentum.nixpkgs.hostPlatform = "aarch64-darwin";
  };
}
