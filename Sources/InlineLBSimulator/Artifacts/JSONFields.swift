import InlineLBCore

/// Parses an artifact's JSON, a syntax error naming the file and line.
func parseArtifactJSON(_ bytes: [UInt8], file: String) throws(ArtifactError) -> JSONNode {
    do {
        return try JSONReader.parse(bytes)
    } catch {
        let location = SourceLocation(offset: error.offset, in: bytes)
        throw ArtifactError(file: file, line: location.line, "malformed JSON: \(error.message)")
    }
}

/// Typed access to a JSON object of an artifact, failing with the file and JSON path.
struct JSONFields {
    let members: [JSONMember]
    let path: JSONPath
    let file: String

    init(_ node: JSONNode, path: JSONPath, file: String) throws(ArtifactError) {
        guard case .object(let members) = node.value else {
            throw ArtifactError(file: file, line: 0, "\(path): expected an object")
        }
        self.members = members
        self.path = path
        self.file = file
    }

    private func node(_ key: String) throws(ArtifactError) -> JSONNode {
        guard let node = members.first(where: { $0.key == key })?.node else {
            throw ArtifactError(file: file, line: 0, "\(path.appending(key)): missing")
        }
        return node
    }

    func string(_ key: String) throws(ArtifactError) -> String {
        guard case .string(let text) = try node(key).value else {
            throw ArtifactError(file: file, line: 0, "\(path.appending(key)): expected a string")
        }
        return text
    }

    func optionalString(_ key: String) -> String? {
        guard let node = members.first(where: { $0.key == key })?.node,
            case .string(let text) = node.value
        else {
            return nil
        }
        return text
    }

    func address(_ key: String) throws(ArtifactError) -> IPv4Address {
        let text = try string(key)
        guard let address = IPv4Address(text) else {
            throw ArtifactError(
                file: file, line: 0, "\(path.appending(key)): \"\(text)\" is not an IPv4 address")
        }
        return address
    }

    func network(_ key: String) throws(ArtifactError) -> IPv4Network {
        let text = try string(key)
        guard let network = IPv4Network(text) else {
            throw ArtifactError(
                file: file, line: 0, "\(path.appending(key)): \"\(text)\" is not a CIDR")
        }
        return network
    }

    func objects(_ key: String) throws(ArtifactError) -> [JSONFields] {
        guard case .array(let elements) = try node(key).value else {
            throw ArtifactError(file: file, line: 0, "\(path.appending(key)): expected an array")
        }
        var result: [JSONFields] = []
        for (index, element) in elements.enumerated() {
            result.append(
                try JSONFields(element, path: path.appending(key).appending(index), file: file))
        }
        return result
    }

    func optionalObject(_ key: String) throws(ArtifactError) -> JSONFields? {
        guard let node = members.first(where: { $0.key == key })?.node else { return nil }
        if case .null = node.value { return nil }
        return try JSONFields(node, path: path.appending(key), file: file)
    }
}
