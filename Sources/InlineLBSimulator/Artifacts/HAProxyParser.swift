import InlineLBCore

/// Parses `haproxy.cfg` text. Directives the simulator does not model are errors naming
/// the file and line.
public enum HAProxyParser {
    private static let globalKeywords: Set<String> = [
        "log", "maxconn", "maxpipes", "chroot", "user", "group", "daemon", "stats", "pidfile",
    ]
    private static let optionNames: Set<String> = [
        "httpclose", "forwardfor", "dontlognull", "redispatch", "transparent", "httplog", "tcplog",
        "http-server-close", "http-keep-alive",
    ]

    /// Parses `text` read from `file`.
    public static func parse(_ text: String, file: String) throws(ArtifactError) -> HAProxyConfig {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses the UTF-8 `bytes` of `file`.
    public static func parse(bytes: [UInt8], file: String) throws(ArtifactError) -> HAProxyConfig {
        var proxies: [HAProxyProxy] = []
        var section = ""
        var defaultMode = HAProxyProxy.Mode.tcp
        var current: HAProxyProxy?
        func close() {
            if let proxy = current { proxies.append(proxy) }
            current = nil
        }
        var tokens: [String] = []
        var word: [UInt8] = []
        for (index, rawLine) in bytes.split(separator: newline, omittingEmptySubsequences: false)
            .enumerated()
        {
            let lineNumber = index + 1
            tokenize(rawLine, into: &tokens, word: &word)
            guard let keyword = tokens.first else { continue }
            func fail(_ message: String) -> ArtifactError {
                ArtifactError(file: file, line: lineNumber, message)
            }
            switch keyword {
            case "global", "defaults":
                close()
                section = keyword
                continue
            case "listen", "frontend", "backend":
                close()
                section = keyword
                guard tokens.count >= 2 else { throw fail("\(keyword) without a name") }
                current = HAProxyProxy(
                    kind: HAProxyProxy.Kind(rawValue: keyword)!, name: tokens[1], line: lineNumber,
                    mode: defaultMode)
                if tokens.count > 2 {
                    throw fail("address on the \(keyword) line is not modelled; use bind")
                }
                continue
            default: break
            }
            switch section {
            case "global":
                guard globalKeywords.contains(keyword) else {
                    throw fail("unmodelled global directive '\(keyword)'")
                }
            case "defaults":
                if keyword == "mode" {
                    guard tokens.count == 2, let mode = HAProxyProxy.Mode(rawValue: tokens[1])
                    else {
                        throw fail("unmodelled mode")
                    }
                    defaultMode = mode
                } else if !["log", "option", "no", "retries", "timeout", "maxconn"].contains(
                    keyword)
                {
                    throw fail("unmodelled defaults directive '\(keyword)'")
                } else if keyword == "option" || keyword == "no" {
                    try checkOption(tokens, fail)
                }
            case "listen", "frontend", "backend":
                try parseProxyDirective(tokens, into: &current!, line: lineNumber, fail)
            default:
                throw fail("directive '\(keyword)' outside any section")
            }
        }
        close()
        var names = Set<String>()
        for proxy in proxies where !names.insert(proxy.name).inserted {
            throw ArtifactError(file: file, line: proxy.line, "duplicate proxy name \(proxy.name)")
        }
        for proxy in proxies {
            if let backend = proxy.defaultBackend,
                !proxies.contains(where: { $0.name == backend && $0.kind != .frontend })
            {
                throw ArtifactError(
                    file: file, line: proxy.line, "default_backend \(backend) does not exist")
            }
            for reject in proxy.connectionRejects where proxy.sourceACLs[reject.acl] == nil {
                throw ArtifactError(file: file, line: reject.line, "unknown acl \(reject.acl)")
            }
        }
        return HAProxyConfig(file: file, proxies: proxies)
    }

    private static let newline = UInt8(ascii: "\n")

    /// Splits a line into `tokens`; `\ ` keeps a space inside a word; `#` starts a comment.
    /// Words without a backslash become strings straight from the line's bytes; `word` is
    /// scratch space for the others, kept between lines to spare allocations.
    static func tokenize(
        _ line: ArraySlice<UInt8>, into tokens: inout [String], word: inout [UInt8]
    ) {
        tokens.removeAll(keepingCapacity: true)
        func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
        }
        let backslash = UInt8(ascii: "\\")
        var position = line.startIndex
        while position < line.endIndex {
            if isSpace(line[position]) {
                position += 1
                continue
            }
            if line[position] == UInt8(ascii: "#") { break }
            // A word runs to the next space that no backslash escapes.
            let start = position
            var escapes = false
            while position < line.endIndex && !isSpace(line[position]) {
                if line[position] == backslash {
                    escapes = true
                    position += 1
                }
                if position < line.endIndex { position += 1 }
            }
            guard escapes else {
                tokens.append(String(decoding: line[start..<position], as: UTF8.self))
                continue
            }
            word.removeAll(keepingCapacity: true)
            var index = start
            while index < position {
                if line[index] == backslash { index += 1 }
                if index < position { word.append(line[index]) }
                index += 1
            }
            // A lone backslash at the end of the line escapes nothing and makes no word.
            if !word.isEmpty { tokens.append(String(decoding: word, as: UTF8.self)) }
        }
    }

    private static func checkOption(_ tokens: [String], _ fail: (String) -> ArtifactError)
        throws(ArtifactError)
    {
        let words = tokens.first == "no" ? Array(tokens.dropFirst()) : tokens
        guard words.count >= 2, words[0] == "option" else {
            throw fail("unmodelled directive '\(tokens.joined(separator: " "))'")
        }
        guard optionNames.contains(words[1]) || words[1] == "httpchk" else {
            throw fail("unmodelled option '\(words[1])'")
        }
    }

    private static func endpoint(_ text: String, _ fail: (String) -> ArtifactError)
        throws(ArtifactError) -> (IPv4Address?, Int)
    {
        guard let colon = text.lastIndex(of: ":") else {
            throw fail("expected address:port, found \(text)")
        }
        let host = text[..<colon]
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw fail("bad port in \(text)")
        }
        if host.isEmpty || host == "*" || host == "0.0.0.0" { return (nil, port) }
        guard let address = IPv4Address(host) else { throw fail("bad address in \(text)") }
        return (address, port)
    }

    private static func parseProxyDirective(
        _ tokens: [String], into proxy: inout HAProxyProxy, line: Int,
        _ fail: (String) -> ArtifactError
    ) throws(ArtifactError) {
        let keyword = tokens[0]
        switch keyword {
        case "bind":
            guard tokens.count == 2 else { throw fail("bind options are not modelled") }
            let (address, port) = try endpoint(tokens[1], fail)
            proxy.binds.append(.init(address: address, port: port, line: line))
        case "mode":
            guard tokens.count == 2, let mode = HAProxyProxy.Mode(rawValue: tokens[1]) else {
                throw fail("unmodelled mode")
            }
            proxy.mode = mode
        case "balance":
            guard tokens.count == 2, let algorithm = HAProxyProxy.Algorithm(rawValue: tokens[1])
            else {
                throw fail(
                    "unmodelled balance algorithm '\(tokens.dropFirst().joined(separator: " "))'")
            }
            proxy.algorithm = algorithm
            proxy.balanceLine = line
        case "hash-type":
            guard tokens.count == 2, ["map-based", "consistent"].contains(tokens[1]) else {
                throw fail("unmodelled hash-type '\(tokens.dropFirst().joined(separator: " "))'")
            }
            proxy.consistentHash = tokens[1] == "consistent"
        case "server":
            guard tokens.count >= 3 else { throw fail("server needs a name and an address") }
            let (address, port) = try endpoint(tokens[2], fail)
            guard let address else { throw fail("server address must be an IPv4 address") }
            var server = HAProxyProxy.Server(
                name: tokens[1], address: address, port: port, line: line)
            var index = 3
            func number() throws(ArtifactError) -> Int {
                index += 1
                guard index < tokens.count, let value = Int(tokens[index]) else {
                    throw fail("\(tokens[index - 1]) needs a number")
                }
                return value
            }
            while index < tokens.count {
                switch tokens[index] {
                case "check": server.check = true
                case "send-proxy": server.sendProxy = true
                case "disabled": server.disabled = true
                case "backup": server.backup = true
                case "weight":
                    server.weight = try number()
                    guard (0...256).contains(server.weight) else {
                        throw fail("weight must be 0-256")
                    }
                case "inter", "rise", "fall": _ = try number()
                case "cookie":
                    index += 1
                    guard index < tokens.count else { throw fail("cookie needs a value") }
                    server.cookie = tokens[index]
                default: throw fail("unmodelled server option '\(tokens[index])'")
                }
                index += 1
            }
            proxy.servers.append(server)
        case "cookie":
            guard tokens.count >= 2 else { throw fail("cookie needs a name") }
            var cookie = HAProxyProxy.Cookie(name: tokens[1], mode: "insert", line: line)
            var index = 2
            while index < tokens.count {
                switch tokens[index] {
                case "insert", "rewrite", "prefix": cookie.mode = tokens[index]
                case "indirect": cookie.indirect = true
                case "nocache": cookie.nocache = true
                case "postonly": cookie.postonly = true
                case "domain": index += 1
                default: throw fail("unmodelled cookie option '\(tokens[index])'")
                }
                index += 1
            }
            proxy.cookie = cookie
        case "stick-table":
            guard tokens.count >= 3, tokens[1] == "type", ["ip", "string"].contains(tokens[2])
            else {
                throw fail("unmodelled stick-table '\(tokens.dropFirst().joined(separator: " "))'")
            }
            proxy.stickTable = .init(type: tokens[2], line: line)
        case "stick":
            try parseStick(tokens, into: &proxy, line: line, fail)
        case "acl":
            guard tokens.count >= 4, tokens[2] == "src" else {
                throw fail("unmodelled acl '\(tokens.dropFirst().joined(separator: " "))'")
            }
            var networks: [IPv4Network] = []
            for text in tokens.dropFirst(3) {
                guard let network = IPv4Network(text, allowHostBits: true) else {
                    throw fail("bad acl network \(text)")
                }
                networks.append(network)
            }
            proxy.sourceACLs[tokens[1], default: []] += networks
        case "tcp-request":
            guard tokens.count == 5, tokens[1] == "connection", tokens[2] == "reject",
                tokens[3] == "if"
            else {
                throw fail("unmodelled tcp-request '\(tokens.dropFirst().joined(separator: " "))'")
            }
            let negated = tokens[4].hasPrefix("!")
            proxy.connectionRejects.append(
                (String(tokens[4].dropFirst(negated ? 1 : 0)), negated, line))
        case "option", "no":
            try checkOption(tokens, fail)
            if tokens.count >= 2, tokens[1] == "httpchk" {
                proxy.httpCheckPath = tokens.count >= 4 ? tokens[3] : "/"
            }
        case "timeout", "log", "retries", "maxconn":
            break
        case "stats":
            proxy.isStats = true
        case "default_backend":
            guard tokens.count == 2 else { throw fail("default_backend needs a name") }
            proxy.defaultBackend = tokens[1]
        default:
            throw fail("unmodelled directive '\(keyword)'")
        }
    }

    private static func parseStick(
        _ tokens: [String], into proxy: inout HAProxyProxy, line: Int,
        _ fail: (String) -> ArtifactError
    ) throws(ArtifactError) {
        let rest = tokens.dropFirst().joined(separator: " ")
        func argument(_ prefix: String) -> String? {
            guard tokens.count == 3, tokens[2].hasPrefix(prefix), tokens[2].hasSuffix(")") else {
                return nil
            }
            return String(tokens[2].dropFirst(prefix.count).dropLast())
        }
        switch tokens.count >= 2 ? tokens[1] : "" {
        case "on" where tokens.count == 3 && tokens[2] == "src":
            proxy.stickOnSource = line
        case "match":
            if let name = argument("req.cook(") {
                proxy.stickMatchCookies.append(name)
            } else if let name = argument("urlp(") {
                proxy.stickMatchURLParameters.append(
                    name.split(separator: ",").first.map(String.init) ?? name)
            } else {
                throw fail("unmodelled stick rule '\(rest)'")
            }
        case "store-response":
            guard let name = argument("res.cook(") else {
                throw fail("unmodelled stick rule '\(rest)'")
            }
            proxy.stickStoreResponseCookie = name
        case "store-request":
            guard let name = argument("req.cook(") else {
                throw fail("unmodelled stick rule '\(rest)'")
            }
            proxy.stickStoreRequestCookie = name
        default:
            throw fail("unmodelled stick rule '\(rest)'")
        }
        if proxy.stickTable == nil { throw fail("stick rule before any stick-table") }
    }
}
