# A tiny clan-shaped flake with no inputs, for fleet's integration tests. It computes
# clanInternals.inventoryClass.inventorySerialization from inventory.json and machines/<name>/ the
# way clan-core does (modules/clan/module.nix, computed-tags.nix, inventoryClass/default.nix):
# defaults filled in, tags `all` + class added, role tag lists coerced to attrsets, and every
# settings value wrapped as {imports = [{_file; imports = [value];}];}.
{
  outputs = { self }:
    let
      lib = builtins;
      json = if lib.pathExists ./inventory.json then lib.fromJSON (lib.readFile ./inventory.json) else { };
      dirMachines = if lib.pathExists ./machines
        then lib.attrNames (lib.removeAttrs (lib.readDir ./machines) [ ]) else [ ];
      jsonMachines = json.machines or { };
      names = lib.attrNames (jsonMachines // lib.listToAttrs (map (n: { name = n; value = { }; }) dirMachines));
      unique = l: lib.foldl' (acc: x: if lib.elem x acc then acc else acc ++ [ x ]) [ ] l;
      machine = n:
        let
          m = jsonMachines.${n} or { };
          cls = m.machineClass or "nixos";
        in {
          name = m.name or n;
          description = m.description or null;
          icon = m.icon or null;
          installedAt = m.installedAt or null;
          machineClass = cls;
          tags = unique ((m.tags or [ ]) ++ [ "all" cls ]);
          deploy = {
            targetHost = (m.deploy or { }).targetHost or null;
            buildHost = (m.deploy or { }).buildHost or null;
            forwardAgent = (m.deploy or { }).forwardAgent or null;
          };
        };
      machines = lib.listToAttrs (map (n: { name = n; value = machine n; }) names);
      allTags = unique (lib.concatLists (map (n: machines.${n}.tags) names));
      tags = lib.listToAttrs (map (t: { name = t; value = lib.filter (n: lib.elem t machines.${n}.tags) names; }) allTags);
      wrap = loc: v: { imports = [ { _file = "${toString ./.}/inventory.json, via option ${loc}"; imports = [ v ]; } ]; };
      role = i: r: v:
        let
          loc = "inventory.instances.${i}.roles.${r}";
          rawTags = v.tags or { };
          tagSet = if lib.isList rawTags then lib.listToAttrs (map (t: { name = t; value = { }; }) rawTags) else rawTags;
        in {
          machines = lib.mapAttrs (m: mv: { settings = wrap "${loc}.machines.${m}.settings" (mv.settings or { }); }) (v.machines or { });
          tags = lib.mapAttrs (t: tv: { settings = wrap "${loc}.tags.${t}.settings" (tv.settings or { }); }) tagSet;
          settings = wrap "${loc}.settings" (v.settings or { });
        };
      instances = lib.mapAttrs (i: iv: {
        module = { name = (iv.module or { }).name or i; input = (iv.module or { }).input or null; };
        roles = lib.mapAttrs (role i) (iv.roles or { });
      }) (json.instances or { });
      meta = {
        name = (json.meta or { }).name or "tiny";
        domain = (json.meta or { }).domain or "clan";
        description = (json.meta or { }).description or null;
        icon = null;
        tld = null;
      };
    in {
      clanInternals.inventoryClass.inventorySerialization = { inherit meta machines tags instances; };
    };
}
