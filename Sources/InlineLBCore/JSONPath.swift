/// A path into a JSON document, such as `loadbalancerrules[2].publicport`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// One step: an object member or an array index.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The steps from the root.
    public var components: [Component]

    /// The root.
    public static let root = JSONPath(components: [])

    /// Creates a path from steps.
    public init(components: [Component]) { self.components = components }

    /// The path extended by a member name.
    public func appending(_ key: String) -> JSONPath {
        JSONPath(components: components + [.key(key)])
    }

    /// The path extended by an array index.
    public func appending(_ index: Int) -> JSONPath {
        JSONPath(components: components + [.index(index)])
    }

    /// A copy with storage of its own. Copying a path retains its array: threads that each
    /// use their own copy do not contend on one reference count.
    public var unshared: JSONPath { JSONPath(components: components.map { $0 }) }

    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "(document)" : text
    }
}

extension JSONNode {
    /// The node at `path` below this one, or the deepest node that exists on the way.
    public func deepest(along path: JSONPath) -> JSONNode {
        var node = self
        for component in path.components {
            let step: JSONNode?
            switch component {
            case .key(let key): step = node.member(key)
            case .index(let index): step = node.element(at: index)
            }
            guard let step else { return node }
            node = step
        }
        return node
    }
}
