FleetCommand.main()
