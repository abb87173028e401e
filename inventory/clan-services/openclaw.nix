# The clan's own service (module.input = "self"): the openclaw agent gateway with its Matrix bot.
# Its secrets are clan vars generators of the machine it runs on. The scripts use only bash,
# coreutils and openssl, so the demo can run them as they are.
{ ... }:
{
  _class = "clan.service";
  manifest.name = "openclaw";
  manifest.description = "openclaw agent gateway with a Matrix bot";
  roles.default = {
    description = "Runs the openclaw gateway";
    interface = { lib, ... }: {
      options = {
        port = lib.mkOption { type = lib.types.port; default = 18789; description = "Gateway port"; };
        botUserName = lib.mkOption { type = lib.types.str; description = "Matrix user of the bot"; };
        matrixServerName = lib.mkOption { type = lib.types.str; description = "Matrix homeserver name"; };
        serviceUser = lib.mkOption { type = lib.types.str; description = "User the gateway runs as"; };
        gatewayMode = lib.mkOption { type = lib.types.enum [ "local" "remote" ]; default = "local"; description = "Gateway mode"; };
      };
    };
    perInstance = { settings, ... }: {
      nixosModule = { pkgs, ... }: {
        services.openclaw = { enable = true; inherit (settings) port botUserName matrixServerName serviceUser gatewayMode; };
        clan.core.vars.generators = {
          "matrix-password-${settings.botUserName}" = {
            files.password = { };
            runtimeInputs = [ pkgs.openssl pkgs.coreutils ];
            script = ''
              openssl rand -hex 24 | tr -d "\n" > "$out"/password
            '';
          };
          clawdbot-gateway-token = {
            files.token = { };
            runtimeInputs = [ pkgs.openssl pkgs.coreutils ];
            script = ''
              openssl rand -hex 32 | tr -d "\n" > "$out"/token
            '';
          };
          clawdbot-claude-oauth = {
            prompts.token = { description = "Claude OAuth token (paste, end with Ctrl-D)"; type = "multiline-hidden"; persist = true; };
            files.token = { };
            script = "true";
          };
          clawdbot-zai-coding-api = {
            prompts.api-key = { description = "Z.ai coding API key"; type = "line"; persist = true; };
            files.api-key = { };
            script = "true";
          };
        };
      };
    };
  };
}
