# The clan's own service (module.input = "self"): the beads issue tracker's web UI.
{ ... }:
{
  _class = "clan.service";
  manifest.name = "beads-ui";
  manifest.description = "Web UI for the beads issue tracker";
  roles.default = {
    description = "Serves beads-ui";
    interface = { lib, ... }: {
      options.port = lib.mkOption { type = lib.types.port; default = 3009; description = "HTTP port"; };
    };
    perInstance = { settings, ... }: {
      nixosModule = { ... }: {
        services.beads-ui = { enable = true; inherit (settings) port; };
      };
    };
  };
}
