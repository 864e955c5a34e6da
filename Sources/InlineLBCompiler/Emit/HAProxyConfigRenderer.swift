import InlineLBCore

/// Renders an appliance's `haproxy.cfg` in CloudStack's `HAProxyConfigurator` layout, in
/// the form HAProxy 2.6 accepts (REFERENCE.md §3).
public enum HAProxyConfigRenderer {
    /// The complete configuration file.
    public static func render(_ config: LoadBalancerConfig) -> [UInt8] {
        var out = ByteWriter(capacity: 1024 + config.rules.count * 400)
        renderGlobal(config, into: &out)
        renderDefaults(config, into: &out)
        renderStats(config, into: &out)
        for rule in config.rules {
            out.newline()
            renderListen(rule, keepAlive: config.keepAliveEnabled, into: &out)
        }
        if config.rules.isEmpty {
            // HAProxy cannot start without a listener: CloudStack's dummy one on port 9.
            out.newline()
            out.line("listen  vmops")
            out.line("\tbind 0.0.0.0:9")
            out.line("\toption transparent")
        }
        return out.bytes
    }

    /// The pool name of a translated rule: `<source IP with _>-<port>`.
    public static func poolName(_ rule: TranslatedRule) -> String {
        "\(rule.sourceIP.underscored)-\(rule.sourcePort)"
    }

    /// Whether the rule's listener runs in HTTP mode: public port 80 or HTTP stickiness.
    public static func isHTTPMode(_ rule: TranslatedRule) -> Bool {
        rule.sourcePort == 80 || hasHTTPStickiness(rule)
    }

    static func hasHTTPStickiness(_ rule: TranslatedRule) -> Bool {
        guard let method = rule.stickiness?.method else { return false }
        return method == .lbCookie || method == .appCookie
    }

    private static func renderGlobal(_ config: LoadBalancerConfig, into out: inout ByteWriter) {
        out.line("global")
        out.line("\tlog 127.0.0.1:3914   local0 warning")
        out.append("\tmaxconn ")
        out.append(config.maxConnections)
        out.newline()
        out.append("\tmaxpipes ")
        out.append(config.maxConnections / 4)
        out.newline()
        out.line("\tchroot /var/lib/haproxy")
        out.line("\tuser haproxy")
        out.line("\tgroup haproxy")
        out.line("\tstats socket /run/haproxy/admin.sock")
        out.line("\tdaemon")
        out.newline()
    }

    private static func renderDefaults(_ config: LoadBalancerConfig, into out: inout ByteWriter) {
        out.line("defaults")
        out.line("\tlog     global")
        out.line("\tmode    tcp")
        out.line("\toption  dontlognull")
        out.line("\tretries 3")
        out.line("\toption redispatch")
        out.line("\toption forwardfor")
        out.line(config.keepAliveEnabled ? "\tno option httpclose" : "\toption httpclose")
        out.line("\ttimeout connect    5000")
        out.line("\ttimeout client     50000")
        out.line("\ttimeout server     50000")
        out.newline()
    }

    private static func renderStats(_ config: LoadBalancerConfig, into out: inout ByteWriter) {
        out.line("listen stats_on_guest")
        out.append("\tbind ")
        out.append(config.guestIP)
        out.append(byte: UInt8(ascii: ":"))
        out.append(HAProxyDefaults.statsPort)
        out.newline()
        out.line("\tmode http")
        if !config.keepAliveEnabled { out.line("\toption httpclose") }
        out.line("\tstats enable")
        out.line("\tstats uri     \(HAProxyDefaults.statsURI)")
        out.line("\tstats realm   Haproxy\\ Statistics")
        out.line("\tstats auth    \(HAProxyDefaults.statsAuth)")
    }

    private static func renderListen(
        _ rule: TranslatedRule, keepAlive: Bool, into out: inout ByteWriter
    ) {
        out.append("listen ")
        let poolStart = out.count
        appendPoolName(rule, into: &out)
        // Written once; each server line copies it.
        let poolName = poolStart..<out.count
        out.newline()
        out.append("\tbind ")
        out.append(rule.sourceIP)
        out.append(byte: UInt8(ascii: ":"))
        out.append(rule.sourcePort)
        out.newline()
        out.append("\tbalance ")
        out.line(rule.algorithm.rawValue)
        if !rule.cidrs.isEmpty {
            out.append("\tacl network_allowed src")
            for cidr in rule.cidrs {
                out.append(byte: UInt8(ascii: " "))
                out.append(cidr.network)
                out.append(byte: UInt8(ascii: "/"))
                out.append(cidr.prefixLength)
            }
            out.newline()
            out.line("\ttcp-request connection reject if !network_allowed")
        }
        if let check = rule.healthCheck {
            out.append("\toption httpchk GET ")
            out.line(check.pingPath)
            out.append("\ttimeout check ")
            out.append(check.responseTimeout * 1000)
            out.newline()
        }
        let cookies = hasHTTPStickiness(rule)
        for (index, destination) in rule.destinations.enumerated() {
            out.append("\tserver ")
            out.appendCopy(of: poolName)
            out.append(byte: UInt8(ascii: "_"))
            out.append(index)
            out.append(byte: UInt8(ascii: " "))
            out.append(destination.address)
            out.append(byte: UInt8(ascii: ":"))
            out.append(destination.port)
            out.append(" check")
            if let check = rule.healthCheck {
                out.append(" inter ")
                out.append(check.intervalTime * 1000)
                out.append(" rise ")
                out.append(check.healthyThreshold)
                out.append(" fall ")
                out.append(check.unhealthyThreshold)
            }
            if rule.lbProtocol == .tcpProxy { out.append(" send-proxy") }
            if cookies {
                out.append(" cookie ")
                out.appendUnderscored(destination.address)
                out.append(byte: UInt8(ascii: "-"))
                out.append(destination.port)
            }
            out.newline()
        }
        if let policy = rule.stickiness, !rule.destinations.isEmpty {
            renderStickiness(policy, rule: rule, into: &out)
        }
        if isHTTPMode(rule) {
            out.line("\tmode http")
            out.line(keepAlive ? "\tno option httpclose" : "\toption httpclose")
        }
    }

    private static func appendPoolName(_ rule: TranslatedRule, into out: inout ByteWriter) {
        out.appendUnderscored(rule.sourceIP)
        out.append(byte: UInt8(ascii: "-"))
        out.append(rule.sourcePort)
    }

    private static func renderStickiness(
        _ policy: StickinessPolicy, rule: TranslatedRule, into out: inout ByteWriter
    ) {
        switch policy.method {
        case .lbCookie:
            let name = policy.param("cookie-name") ?? defaultCookieName(prefix: "lbcooki_", rule)
            var line = "\tcookie \(name) \(policy.param("mode") ?? "insert")"
            for flag in ["indirect", "nocache", "postonly"] where policy.param(flag) != nil {
                line += " " + flag
            }
            if let domain = policy.param("domain") { line += " domain \(domain)" }
            out.line(line)
        case .sourceBased:
            out.line(
                "\tstick-table type ip size \(policy.param("tablesize") ?? "200k") expire \(policy.param("expire") ?? "30m")"
            )
            out.line("\tstick on src")
        case .appCookie:
            // `appsession` is gone since HAProxy 1.6: learn the cookie from responses into a
            // string stick-table and match it on requests, as OpenStack Octavia does.
            let name = policy.param("cookie-name") ?? defaultCookieName(prefix: "appcookie_", rule)
            let length = policy.param("length") ?? "52"
            let holdtime = policy.param("holdtime") ?? "3h"
            out.line("\tstick-table type string len \(length) size 200k expire \(holdtime)")
            out.line("\tstick store-response res.cook(\(name))")
            if policy.param("request-learn") != nil {
                out.line("\tstick store-request req.cook(\(name))")
            }
            out.line("\tstick match req.cook(\(name))")
            switch policy.param("mode") {
            case "query-string": out.line("\tstick match urlp(\(name))")
            case "path-parameters": out.line("\tstick match urlp(\(name),;)")
            default: break
            }
        }
    }

    /// CloudStack's default cookie name: prefix, Java `String.hashCode` of the source IP,
    /// `_`, the source port.
    static func defaultCookieName(prefix: String, _ rule: TranslatedRule) -> String {
        "\(prefix)\(javaHashCode(rule.sourceIP.description))_\(rule.sourcePort)"
    }

    /// Java's `String.hashCode` (UTF-16 code units, wrapping 32-bit arithmetic).
    static func javaHashCode(_ text: String) -> Int32 {
        var hash: Int32 = 0
        for unit in text.utf16 { hash = hash &* 31 &+ Int32(unit) }
        return hash
    }
}
