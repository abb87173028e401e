// Entry point of the `fleet` executable; everything else lives in CLI/, App/, Views/, Backend/.
FleetCommand.main()
