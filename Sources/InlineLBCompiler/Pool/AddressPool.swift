import InlineLBCore

/// A pool of IPv4 addresses over a contiguous range, allocating the lowest free address
/// first.
///
/// The free set is a bitmap (bit set = free) with a summary index on top: level `k + 1`
/// has bit `i` set when word `i` of level `k` has any free bit. Allocation descends from
/// the single top word to a free bit, so it never scans the bitmap.
///
/// - Complexity: `allocate`, `reserve` and `release` are O(log₆₄ n) for a range of n
///   addresses (three levels for a /16, four for a /8); `init` is O(n / 64).
public struct AddressPool: Sendable {
    /// An allocation failure: every address of the range is taken.
    public struct Exhausted: Error, Sendable, CustomStringConvertible {
        /// The pool's range.
        public var range: ClosedRange<IPv4Address>
        public var description: String {
            "no free address left in \(range.lowerBound)-\(range.upperBound)"
        }
    }

    /// The first address of the range.
    public let first: IPv4Address
    /// Number of addresses in the range.
    public let capacity: Int
    /// Number of free addresses.
    public private(set) var freeCount: Int
    /// Every level's words in one array, the bitmap first; each later level summarizes the
    /// one below; the last has one word.
    private var words: [UInt64]
    /// Where each level starts in `words`.
    private let levelStart: [Int]

    /// A pool over `first...last`, all free.
    public init(first: IPv4Address, last: IPv4Address) {
        precondition(first <= last)
        self.first = first
        capacity = Int(last.value - first.value) + 1
        freeCount = capacity
        // Words per level, down to a single top word.
        var counts: [Int] = []
        var bits = capacity
        repeat {
            counts.append((bits + 63) / 64)
            bits = counts.last!
        } while bits > 1
        var words = [UInt64](repeating: .max, count: counts.reduce(0, +))
        var levelStart: [Int] = []
        var start = 0
        bits = capacity
        for count in counts {
            levelStart.append(start)
            let tail = bits % 64
            if tail != 0 { words[start + count - 1] = (1 << UInt64(tail)) - 1 }
            start += count
            bits = count
        }
        self.words = words
        self.levelStart = levelStart
    }

    /// The usable host addresses of a tier: the CIDR minus network and broadcast.
    public init(hostsOf network: IPv4Network) {
        self.init(
            first: IPv4Address(network.network.value + 1),
            last: IPv4Address(network.broadcast.value - 1))
    }

    /// The range as addresses.
    public var range: ClosedRange<IPv4Address> {
        first...IPv4Address(first.value + UInt32(capacity - 1))
    }

    /// Whether `address` is in the range and free.
    public func isFree(_ address: IPv4Address) -> Bool {
        guard let bit = bitIndex(address) else { return false }
        return words[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    /// Takes the lowest free address.
    public mutating func allocate() throws(Exhausted) -> IPv4Address {
        guard freeCount > 0 else { throw Exhausted(range: range) }
        var word = 0
        for start in levelStart.reversed() {
            word = word << 6 | words[start + word].trailingZeroBitCount
        }
        clear(bit: word)
        return IPv4Address(first.value + UInt32(word))
    }

    /// Marks `address` as taken. Returns false when it is outside the range or already taken.
    @discardableResult
    public mutating func reserve(_ address: IPv4Address) -> Bool {
        guard let bit = bitIndex(address), isFree(address) else { return false }
        clear(bit: bit)
        return true
    }

    /// Returns `address` to the pool. Returns false when it is outside the range or already free.
    @discardableResult
    public mutating func release(_ address: IPv4Address) -> Bool {
        guard let bit = bitIndex(address), !isFree(address) else { return false }
        freeCount += 1
        var index = bit
        for start in levelStart {
            let wasEmpty = words[start + (index >> 6)] == 0
            words[start + (index >> 6)] |= 1 << UInt64(index & 63)
            if !wasEmpty { break }
            index >>= 6
        }
        return true
    }

    private func bitIndex(_ address: IPv4Address) -> Int? {
        guard address.value >= first.value else { return nil }
        let offset = Int(address.value - first.value)
        return offset < capacity ? offset : nil
    }

    private mutating func clear(bit: Int) {
        freeCount -= 1
        var index = bit
        for start in levelStart {
            words[start + (index >> 6)] &= ~(1 << UInt64(index & 63))
            if words[start + (index >> 6)] != 0 { break }
            index >>= 6
        }
    }
}
