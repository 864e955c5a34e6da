import InlineLBCore

/// Where each entity of a valid corpus file lies, which VPC it belongs to, and a digest of
/// its bytes: what lets the next apply find the VPCs an edit touches without reading the
/// rest of the file (``CorpusEdit``).
///
/// The file is cut into segments that cover it without gaps: its opening bytes, each
/// top-level member from its name on, and each element of the per-VPC sections from its
/// opening brace on. A segment runs up to the next one, so it holds the separator after
/// its entity. The columns hold one value per segment.
public struct CorpusLayout: Equatable, Sendable {
    /// The sections whose entities each belong to one VPC; their elements are segments.
    enum Section: UInt8, CaseIterable, Sendable {
        case vpcs, networks, virtualMachines, publicIPAddresses, loadBalancerRules
        case portForwardingRules, applianceIntents

        /// The member name in the corpus.
        var key: String {
            switch self {
            case .vpcs: "vpcs"
            case .networks: "networks"
            case .virtualMachines: "virtualmachines"
            case .publicIPAddresses: "publicipaddresses"
            case .loadBalancerRules: "loadbalancerrules"
            case .portForwardingRules: "portforwardingrules"
            case .applianceIntents: "vpcinlineloadbalancervms"
            }
        }

        /// The sections whose entities this section's entities refer to by id.
        var references: [Section] {
            switch self {
            case .vpcs: []
            case .networks: [.vpcs]
            case .virtualMachines, .applianceIntents: [.networks]
            case .publicIPAddresses: [.vpcs, .virtualMachines]
            case .loadBalancerRules: [.networks, .publicIPAddresses]
            case .portForwardingRules: [.publicIPAddresses, .virtualMachines]
            }
        }

        init?(key: String) {
            guard let section = Section.allCases.first(where: { $0.key == key }) else { return nil }
            self = section
        }
    }

    /// What the layout records of one entity.
    struct Entity: Equatable, Sendable {
        /// Position of its VPC in the corpus.
        var vpc: Int32
        /// XXH3-64 of its id (zero for appliance intents, which have none).
        var key: UInt64
        /// Public IPs: the address. Load balancer rules: 1 when active, else 0.
        var extra: UInt32
    }

    /// The tag of the opening segment and of member segments.
    static let memberTag: UInt8 = 255

    /// The size of the file.
    var fileSize: Int
    /// The top-level member names in file order: one per member segment after the opening.
    var memberKeys: [String]
    /// Each segment's first byte.
    var starts: [UInt32]
    /// XXH3-64 of each segment's bytes.
    var hashes: [UInt64]
    /// Each segment's section (``Section`` raw value), or ``memberTag``.
    var tags: [UInt8]
    /// Each segment's entity, by column (see ``Entity``); -1 and zeros for members.
    var vpcs: [Int32]
    var keys: [UInt64]
    var extras: [UInt32]

    /// The entity of segment `index`.
    subscript(entity index: Int) -> Entity {
        get { Entity(vpc: vpcs[index], key: keys[index], extra: extras[index]) }
        set {
            vpcs[index] = newValue.vpc
            keys[index] = newValue.key
            extras[index] = newValue.extra
        }
    }

    /// The segment count.
    var count: Int { starts.count }

    /// The bytes of segment `index`.
    func range(_ index: Int) -> Range<Int> {
        Int(starts[index])..<(index + 1 < count ? Int(starts[index + 1]) : fileSize)
    }

    /// Reads and validates a corpus file as ``CorpusValidator/load(file:bytes:)`` does,
    /// and lays it out for the next apply (nil when it cannot be split by VPC).
    public static func load(file: String, bytes: [UInt8]) throws(DiagnosticList)
        -> (corpus: ValidatedCorpus, layout: CorpusLayout?)
    {
        try load(file: file, bytes: .array(bytes))
    }

    /// ``load(file:bytes:)-([UInt8])`` of a mapped file's bytes, say.
    public static func load(file: String, bytes: SourceBytes) throws(DiagnosticList)
        -> (corpus: ValidatedCorpus, layout: CorpusLayout?)
    {
        let source = try CorpusSource(file: file, bytes: bytes)
        let corpus = try CorpusValidator.validate(try CorpusDecoder.decode(source), source: source)
        let layout = CorpusLayout(source: source, corpus: corpus)
        // Its tape is as large as the file: freed on another core while planning starts.
        releaseInBackground(source)
        return (corpus, layout)
    }

    /// The layout of a valid corpus read from `source`; nil when the corpus cannot be
    /// split by VPC (an entity refers to two VPCs), repeats a top-level member, or is too
    /// large for 32-bit offsets.
    init?(source: CorpusSource, corpus: ValidatedCorpus) {
        guard source.bytes.count < Int(UInt32.max), source.root.kind == .object,
            let entities = CorpusLayout.entities(of: corpus)
        else { return nil }
        var starts: [UInt32] = [0]
        var tags: [UInt8] = [CorpusLayout.memberTag]
        var names: [String] = []
        var laidOut: [Entity] = [Entity(vpc: -1, key: 0, extra: 0)]
        for member in source.root.members {
            guard !names.contains(member.key) else { return nil }
            names.append(member.key)
            starts.append(UInt32(member.keyOffset))
            tags.append(CorpusLayout.memberTag)
            laidOut.append(Entity(vpc: -1, key: 0, extra: 0))
            guard let section = Section(key: member.key), member.node.kind == .array else {
                continue
            }
            let sectionEntities = entities[Int(section.rawValue)]
            guard sectionEntities.count == member.node.count else { return nil }
            for element in member.node.elements {
                starts.append(UInt32(element.offset))
                tags.append(section.rawValue)
            }
            laidOut += sectionEntities
        }
        fileSize = source.bytes.count
        memberKeys = names
        self.starts = starts
        self.tags = tags
        vpcs = laidOut.map(\.vpc)
        keys = laidOut.map(\.key)
        extras = laidOut.map(\.extra)
        hashes = []
        hashes = source.bytes.withUnsafeBufferPointer {
            CorpusLayout.hashes(of: 0..<starts.count, in: self, bytes: UnsafeRawBufferPointer($0))
        }
    }

    /// A layout from its columns (an edited layout, or one read back from disk); empty
    /// without them.
    init(
        fileSize: Int = 0, memberKeys: [String] = [], starts: [UInt32] = [],
        hashes: [UInt64] = [], tags: [UInt8] = [], vpcs: [Int32] = [], keys: [UInt64] = [],
        extras: [UInt32] = []
    ) {
        self.fileSize = fileSize
        self.memberKeys = memberKeys
        self.starts = starts
        self.hashes = hashes
        self.tags = tags
        self.vpcs = vpcs
        self.keys = keys
        self.extras = extras
    }

    /// XXH3-64 of the segments `indices` of `layout` in `bytes`, on all cores.
    static func hashes(
        of indices: Range<Int>, in layout: CorpusLayout, bytes: UnsafeRawBufferPointer
    ) -> [UInt64] {
        nonisolated(unsafe) let bytes = bytes
        let parts = indices.split(into: 64).concurrentMap { part in
            part.map { Digest.xxh3(UnsafeRawBufferPointer(rebasing: bytes[layout.range($0)])) }
        }
        return Array(parts.joined())
    }

    /// Each entity's VPC, id digest and extra, by ``Section`` and then corpus order; nil
    /// when an entity refers to entities of two VPCs.
    static func entities(of corpus: ValidatedCorpus) -> [[Entity]]? {
        let model = corpus.corpus
        let tierVPC = model.networks.map { Int32(corpus.vpcIndex[$0.vpcID]!) }
        var vmVPC: [Int32] = []
        vmVPC.reserveCapacity(model.virtualMachines.count)
        for vm in model.virtualMachines {
            let vpcs = Set(vm.nics.map { tierVPC[corpus.tierIndex[$0.networkID]!] })
            guard vpcs.count == 1 else { return nil }
            vmVPC.append(vpcs.first!)
        }
        let ipVPC = model.publicIPAddresses.map { Int32(corpus.vpcIndex[$0.vpcID]!) }
        var sections = [[Entity]](repeating: [], count: Section.allCases.count)
        sections[Int(Section.vpcs.rawValue)] = model.vpcs.enumerated().map {
            Entity(vpc: Int32($0), key: Digest.xxh3($1.id), extra: 0)
        }
        sections[Int(Section.networks.rawValue)] = zip(model.networks, tierVPC).map {
            Entity(vpc: $1, key: Digest.xxh3($0.id), extra: 0)
        }
        sections[Int(Section.virtualMachines.rawValue)] = zip(model.virtualMachines, vmVPC).map {
            Entity(vpc: $1, key: Digest.xxh3($0.id), extra: 0)
        }
        var ips: [Entity] = []
        for (ip, vpc) in zip(model.publicIPAddresses, ipVPC) {
            if let vm = ip.virtualMachineID, vmVPC[corpus.vmIndex[vm]!] != vpc { return nil }
            ips.append(Entity(vpc: vpc, key: Digest.xxh3(ip.id), extra: ip.ipAddress.value))
        }
        sections[Int(Section.publicIPAddresses.rawValue)] = ips
        // A valid rule's public IP and VMs are in its tier's VPC; validation resolved its
        // tier and hashed its id.
        let resolved = corpus.resolvedRules
        sections[Int(Section.loadBalancerRules.rawValue)] = resolved.tier.indices.map { position in
            Entity(
                vpc: tierVPC[Int(resolved.tier[position])], key: resolved.idDigest[position],
                extra: resolved.isActive[position] ? 1 : 0)
        }
        var forwards: [Entity] = []
        for rule in model.portForwardingRules {
            let vpc = ipVPC[corpus.publicIPIndex[rule.ipAddressID]!]
            guard vmVPC[corpus.vmIndex[rule.virtualMachineID]!] == vpc else { return nil }
            forwards.append(Entity(vpc: vpc, key: Digest.xxh3(rule.id), extra: 0))
        }
        sections[Int(Section.portForwardingRules.rawValue)] = forwards
        sections[Int(Section.applianceIntents.rawValue)] = model.applianceIntents.map {
            Entity(vpc: tierVPC[corpus.tierIndex[$0.networkID]!], key: 0, extra: 0)
        }
        return sections
    }
}
