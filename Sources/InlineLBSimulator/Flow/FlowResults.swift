import InlineLBCore

/// How one flow ended, as an engine records it: 12 bytes and no reference counting.
/// Outcomes and listener lines are numbers in the tables of the ``FlowResults`` holding it.
struct FlowRecord: Sendable {
    /// The outcome's number in ``FlowResults/outcomes``.
    var outcome: UInt32
    /// The listener's number in ``FlowResults/listenerLines``, plus one; 0 when none served
    /// the flow.
    var listener: UInt32 = 0
    /// Whether the client saw replies (from the address and port it targeted).
    var replied = false
    /// Whether persistence chose the server instead of the balancer.
    var persisted = false
}

/// The results of simulating flows, in the flows' order.
///
/// A flow's result is kept as a ``FlowRecord``: a run has few distinct outcomes (one per
/// path and per server, mostly), so each is stored once and flows refer to it by number.
/// The subscript gives the full ``FlowResult``; ``outcome(at:)`` just the outcome.
public struct FlowResults: RandomAccessCollection, Sendable {
    /// The flows, in the order simulated.
    public let flows: [Flow]
    private(set) var records: [FlowRecord]
    /// The distinct outcomes, by number.
    private(set) var outcomes: [Outcome]
    /// The `frontend`/`listen` lines of the listeners that served flows, by number.
    private(set) var listenerLines: [SourceLine]
    /// The hops of traced flows, by position in `flows`.
    private(set) var hops: [Int: [Hop]]

    init(
        flows: [Flow], records: [FlowRecord], outcomes: [Outcome], listenerLines: [SourceLine],
        hops: [Int: [Hop]]
    ) {
        self.flows = flows
        self.records = records
        self.outcomes = outcomes
        self.listenerLines = listenerLines
        self.hops = hops
    }

    /// The results of `parts` (each the results of the flows at its positions of the whole
    /// run, positions in increasing order) back in the order of `flows`. Every position
    /// belongs to exactly one part.
    init(merging parts: [(positions: [Int], results: FlowResults)], of flows: [Flow]) {
        var records = [FlowRecord](repeating: FlowRecord(outcome: 0), count: flows.count)
        var outcomes: [Outcome] = []
        var listenerLines: [SourceLine] = []
        var hops: [Int: [Hop]] = [:]
        for (positions, part) in parts {
            // Each part numbers its own tables: shift its numbers past those already taken.
            let outcomeOffset = UInt32(outcomes.count)
            let listenerOffset = UInt32(listenerLines.count)
            for (position, record) in zip(positions, part.records) {
                var record = record
                record.outcome += outcomeOffset
                if record.listener != 0 { record.listener += listenerOffset }
                records[position] = record
            }
            outcomes += part.outcomes
            listenerLines += part.listenerLines
            for (index, trace) in part.hops { hops[positions[index]] = trace }
        }
        self.init(
            flows: flows, records: records, outcomes: outcomes, listenerLines: listenerLines,
            hops: hops)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { records.count }

    /// The result of the flow at `position`.
    public subscript(position: Int) -> FlowResult {
        let record = records[position]
        let flow = flows[position]
        return FlowResult(
            flow: flow, outcome: outcomes[Int(record.outcome)],
            replyFrom: replyFrom(at: position),
            listener: record.listener == 0 ? nil : listenerLines[Int(record.listener - 1)],
            persisted: record.persisted, hops: hops(at: position))
    }

    /// How the flow at `position` ended.
    public func outcome(at position: Int) -> Outcome {
        outcomes[Int(records[position].outcome)]
    }

    /// The source of the replies the flow at `position` saw, if any: conntrack gives back
    /// the address and port it targeted.
    public func replyFrom(at position: Int) -> (address: IPv4Address, port: Int)? {
        records[position].replied ? (flows[position].target, flows[position].port) : nil
    }

    /// The hops of the flow at `position`: empty unless traced.
    public func hops(at position: Int) -> [Hop] {
        hops.isEmpty ? [] : hops[position] ?? []
    }

    /// How many of the flows reached a VM.
    public var deliveredCount: Int {
        let delivers = outcomes.map { $0.deliveredVM != nil }
        return records.count { delivers[Int($0.outcome)] }
    }
}

/// Outcomes by number, in the order added.
struct OutcomeNumbers {
    /// The numbers of outcomes added through ``number(_:)``.
    private var numbers: [Outcome: UInt32] = [:]
    /// The outcomes by number.
    private(set) var outcomes: [Outcome] = []

    /// The number of `outcome`, which is added on first sight: for outcomes made again and
    /// again (one per flow, or per uncached path).
    mutating func number(_ outcome: Outcome) -> UInt32 {
        if let number = numbers[outcome] { return number }
        let number = add(outcome)
        numbers[outcome] = number
        return number
    }

    /// A new number for `outcome`, which is not looked up: for outcomes made once and kept
    /// (a cached path's, a server's), where hashing their strings would cost more than it
    /// saves.
    mutating func add(_ outcome: Outcome) -> UInt32 {
        outcomes.append(outcome)
        return UInt32(outcomes.count - 1)
    }
}
