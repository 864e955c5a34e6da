/// Fixed values of CloudStack's HAProxy layout.
public enum HAProxyDefaults {
    /// The stats listener's port (`lbStatsPort`).
    public static let statsPort = 8081
    /// Global `maxconn` when the offering sets no concurrent connections.
    public static let maxConnections = 4096
    /// The stats URI.
    public static let statsURI = "/admin?stats"
    /// The stats credentials CloudStack configures by default.
    public static let statsAuth = "admin1:AdMiN123"
}
