import Collections
import Foundation

/// The JSON shape of deploy events (`fleet deploy --json`: one object per line).
public enum DeployEventJSON {
    public static func object(_ e: DeployEvent) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        func num(_ d: Double) -> JSONValue { .number(String(format: "%.3f", d)) }
        switch e.kind {
        case let .runStarted(id, kind, hosts):
            o["type"] = .string("run_started"); o["id"] = .string(id); o["kind"] = .string(kind.rawValue)
            o["hosts"] = .array(hosts.map { .string($0) })
        case let .stageStarted(eta):
            o["type"] = .string("stage_started")
            o["eta"] = eta.map(num) ?? .null
        case let .resolved(plan):
            o["type"] = .string("resolved")
            o["target"] = .string(plan.target); o["target_source"] = .string(plan.targetSource)
            o["build"] = .string(plan.build.column); o["build_source"] = .string(plan.build.source)
            o["activation"] = .string(plan.activation)
        case let .progress(fraction, message):
            o["type"] = .string("progress")
            o["fraction"] = fraction.map(num) ?? .null
            o["message"] = .string(message)
        case let .log(line):
            o["type"] = .string("log"); o["line"] = .string(line)
        case let .stageFinished(outcome, seconds):
            o["type"] = .string("stage_finished")
            outcomeFields(outcome, into: &o)
            o["seconds"] = num(seconds)
        case let .hostFinished(r):
            o["type"] = .string("host_finished")
            o.merge(host(r), uniquingKeysWith: { $1 })
        case let .runFinished(s):
            o["type"] = .string("run_finished")
            o["id"] = .string(s.id); o["kind"] = .string(s.kind.rawValue)
            o["seconds"] = num(s.seconds)
            o["cancelled"] = .bool(s.cancelled)
            o["ok"] = .array(s.succeeded.map { .string($0.host) })
            o["failed"] = .array(s.failed.map { .string($0.host) })
            o["hosts"] = .array(s.hosts.map { .object(host($0)) })
        }
        var out = OrderedDictionary<String, JSONValue>()
        out["type"] = o.removeValue(forKey: "type")
        if !e.host.isEmpty { out["host"] = .string(e.host) }
        if let s = e.stage { out["stage"] = .string(s.rawValue) }
        out.merge(o, uniquingKeysWith: { $1 })
        out["time"] = num(e.time.timeIntervalSince1970)
        return .object(out)
    }

    public static func line(_ e: DeployEvent) -> String { JSONWriter.compact.string(object(e)) }

    static func outcomeFields(_ outcome: DeployOutcome, into o: inout OrderedDictionary<String, JSONValue>) {
        switch outcome {
        case .ok(let m): o["result"] = .string("ok"); o["message"] = .string(m)
        case .skipped(let m): o["result"] = .string("skipped"); o["message"] = .string(m)
        case .failed(let f):
            o["result"] = .string("failed"); o["error"] = .string(f.description)
            o["failed_stage"] = .string(f.stage.rawValue)
            o["timed_out"] = .bool(f.timedOut); o["cancelled"] = .bool(f.cancelled)
        }
    }

    static func host(_ r: HostResult) -> OrderedDictionary<String, JSONValue> {
        var o = OrderedDictionary<String, JSONValue>()
        o["host"] = .string(r.host)
        o["target"] = r.target.map { .string($0) } ?? .null
        outcomeFields(r.outcome, into: &o)
        o["system"] = r.systemPath.map { .string($0) } ?? .null
        o["previous_system"] = r.previousSystem.map { .string($0) } ?? .null
        o["generation"] = r.generation.map { JSONValue($0) } ?? .null
        o["seconds"] = .number(String(format: "%.3f", r.seconds))
        o["stages"] = .array(r.stages.map { s in
            var so = OrderedDictionary<String, JSONValue>()
            so["stage"] = .string(s.stage.rawValue)
            outcomeFields(s.outcome, into: &so)
            so["seconds"] = .number(String(format: "%.3f", s.seconds))
            return .object(so)
        })
        return o
    }
}
