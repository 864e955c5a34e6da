/// File paths split the way the tools need them, without Foundation's `NSString` path
/// methods (which trap on a one-character path in this toolchain's Foundation).
public enum PathName {
    /// `path` without trailing slashes (but "/" stays).
    private static func trimmed(_ path: String) -> Substring {
        var path = Substring(path)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// The folder holding `path`: "." for a bare name, "/" for a name at the top.
    public static func folder(of path: String) -> String {
        let path = trimmed(path)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of `path`.
    public static func base(of path: String) -> String {
        let path = trimmed(path)
        guard let slash = path.lastIndex(of: "/"), path.count > 1 else { return String(path) }
        return String(path[path.index(after: slash)...])
    }

    /// The last component of `path` without its extension (from its last dot, unless the
    /// dot leads the name).
    public static func stem(of path: String) -> String {
        let base = base(of: path)
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return base }
        return String(base[..<dot])
    }
}
