import FleetModel

/// Everything that can change the app: input, resize, time, and results of background work.
/// They all arrive on one queue and are applied in order by the reducer.
public enum Event: Sendable {
    case key(Key)
    case resize(width: Int, height: Int)
    /// The monotonic clock advanced (seconds); expires toasts.
    case tick(now: Double)
    /// A resolved inventory; `revalidating` when a fresher one (flake evaluation) is still coming.
    /// Its addresses may cover only the first screen (`ResolvedFleet.firstScreen`): then
    /// `fleetCompleted` follows.
    case inventoryLoaded(ResolvedFleet, revalidating: Bool)
    /// The same load with every address read, and the Fleet filter's search index (a machine's
    /// fields, inventory order), both computed off the UI thread after the first frame.
    case fleetCompleted(ResolvedFleet, searchIndex: FleetSearchIndex)
    /// A big cached fleet's first screen, before the rest is decoded (`FleetPreview`): the event
    /// loop draws the first frame from it while no inventory is loaded (`AppState.previewing`); the
    /// state does not change, `inventoryLoaded` follows.
    case inventoryPreview(FleetPreview)
    case inventoryFailed(String)
    /// A theme finished loading; `warning` names what was wrong with the file, if anything.
    case themeLoaded(Theme, warning: String?)
    /// The themes on disk, listed once at start for the palette's `theme` completion.
    case themeNamesLoaded([String])
    case toast(String, Toast.Kind)
    case varsLoaded(VarsData)
    case varsFailed(String)
    /// The engine planned a generate/rotate: the confirmation lists it, with the generators that
    /// do not exist yet and every existing file the run replaces (`VarsOverwrites`).
    case varsPlanned(VarsIntent, VarsPlan, missing: [GeneratorID], overwrites: [String])
    case varsJobStarted(String)
    case varsJobLine(String)
    /// A generator needs an answer; the UI asks in a masked field.
    case varsPromptRequested(PromptRequest)
    case varsJobFinished(ok: Bool, affectedMachines: [String], message: String)
    case secretRevealed(title: String, value: String)
    case deployEvent(DeployEvent)
    /// A running deploy waits for an answer: sudo's password, an unknown host key, a vars prompt.
    case deployQuestion(DeployQuestion)
    /// A background probe result: reachability and running vs flake system.
    case hostStatus(HostStatus)
    /// A flake's machines' deploy targets, resolved from its evaluated config (cached, then fresh).
    case configTargetsResolved(ResolvedTargets)
    case historyLoaded([HistoryEntry])
    case historyFailed(String)
    case historyLogLoaded(deployID: String, lines: [String])
    /// SIGINT/SIGTERM/SIGHUP: leave cleanly, restoring the terminal.
    case terminate(signal: Int32)
}

/// What a deploy asks the user (`DeployInteraction`, answered in the dashboard).
public enum DeployQuestion: Sendable, Equatable {
    case sudoPassword(SudoPasswordRequest)
    case hostKey(HostKeyRequest)
    case varsPrompt(PromptRequest)
}

/// Work the reducer asks for; performed at the edge (`EffectRunner`), results come back as Events.
public enum Effect: Equatable, Sendable {
    case loadInventory(InventorySource)
    case loadTheme(String)
    case loadThemeNames
    case deploy(machines: [String])
    case cancelDeploy
    /// The answer to the deploy's pending question (`Event.deployQuestion`); nil cancels it. A host
    /// key is trusted by "yes".
    case deployAnswer(String?)
    case rollback(machines: [String])
    /// A dry run: per host what would be uploaded, built, copied and activated; nothing changes.
    case dryRun(machines: [String])
    case loadVars
    case varsPlan(VarsIntent)
    case varsRun(VarsPlan)
    /// The answer to the pending prompt; nil cancels the job.
    case varsPromptAnswer(String?)
    case varsFix(machine: String?)
    case varsReveal(machine: String?, generator: GeneratorID, file: String)
    case savePaletteHistory([String])
    case editTags(machine: String, add: [String], remove: [String])
    /// This fleet's deploy history, or every fleet's.
    case loadHistory(allFleets: Bool)
    /// The loaded fleet (compared by identity): the probes use its resolved targets, not their own.
    case startProbes(LoadedFleet)
    /// Reads every address of a first-screen fleet and builds the search index, after the first
    /// frame (`Event.fleetCompleted` brings them).
    case completeFleet(LoadedFleet)
    case loadHistoryLog(deployID: String)
    /// Puts text on the terminal's clipboard (OSC 52; works over ssh and in tmux with set-clipboard).
    case copyToClipboard(String)
}
