# The clan's own service (module.input = "self"): a kanban board web UI on one machine.
{ ... }:
{
  _class = "clan.service";
  manifest.name = "kanban";
  manifest.description = "Kanban board web UI";
  roles.default = {
    description = "Serves the kanban board";
    interface = { lib, ... }: {
      options.port = lib.mkOption { type = lib.types.port; default = 3008; description = "HTTP port"; };
    };
    perInstance = { settings, ... }: {
      nixosModule = { ... }: {
        services.kanban = { enable = true; inherit (settings) port; };
      };
    };
  };
}
