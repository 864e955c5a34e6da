import InlineLBCore

/// The result of planning: the new state, the actions that lead there, and what each
/// appliance of the new state runs.
public struct Plan: Sendable {
    /// The state after the actions.
    public var state: DeploymentState
    /// The actions, in execution order.
    public var actions: [Action]
    /// Each appliance of the new state with its config, in state order.
    public var appliances: [AppliancePlan]
    /// Address pool occupancy after planning.
    public var pools: [PoolUsage]
}

/// An appliance of the new state and the load-balancer config it runs (or will run on
/// start).
public struct AppliancePlan: Sendable {
    public var record: ApplianceRecord
    public var config: LoadBalancerConfig
    /// XXH3-128 of the config's canonical encoding.
    public var configDigest: String
}

/// How full one address pool is.
public struct PoolUsage: Sendable, Equatable {
    /// The tier id, or `link-local`.
    public var name: String
    public var first: IPv4Address
    public var last: IPv4Address
    public var capacity: Int
    public var free: Int
}

/// A restart of a tier's network (`restartNetwork`), with or without cleanup.
public struct NetworkRestart: Sendable, Hashable {
    public var networkID: String
    public var cleanup: Bool

    public init(networkID: String, cleanup: Bool) {
        self.networkID = networkID
        self.cleanup = cleanup
    }
}

/// A planning failure: the corpus and the stored state cannot be reconciled, or a pool ran dry.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
