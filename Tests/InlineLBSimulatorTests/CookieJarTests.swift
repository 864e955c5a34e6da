import InlineLBCore
import Testing

@testable import InlineLBSimulator

@Suite("Cookie jars")
struct CookieJarTests {
    private let client = IPv4Address("198.51.100.7")!
    private let other = IPv4Address("198.51.100.8")!
    private let target = IPv4Address("203.0.113.10")!

    @Test func aJarKeepsEachNameOnceWithItsLatestValue() {
        var jars = CookieJars()
        var jar = jars.jar(client: client, target: target, port: 80)
        #expect(jars.value(of: 1, in: jar) == nil)
        jars.set(10, of: 1, in: &jar)
        jars.set(20, of: 2, in: &jar)
        jars.set(11, of: 1, in: &jar)
        let found = jars.jar(client: client, target: target, port: 80)
        #expect(jars.value(of: 1, in: found) == 11)
        #expect(jars.value(of: 2, in: found) == 20)
        #expect(jars.value(of: 3, in: found) == nil)
    }

    @Test func jarsAreKeptApartByClientTargetAndPort() {
        var jars = CookieJars()
        var jar = jars.jar(client: client, target: target, port: 80)
        jars.set(10, of: 1, in: &jar)
        for (address, host, port) in [
            (other, target, 80), (client, target, 443), (client, IPv4Address("203.0.113.11")!, 80),
        ] {
            #expect(
                jars.value(of: 1, in: jars.jar(client: address, target: host, port: port)) == nil)
        }
        var second = jars.jar(client: client, target: target, port: 443)
        jars.set(30, of: 1, in: &second)
        #expect(jars.value(of: 1, in: jars.jar(client: client, target: target, port: 80)) == 10)
        #expect(jars.value(of: 1, in: jars.jar(client: client, target: target, port: 443)) == 30)
    }

    /// Thousands of jars over hundreds of targets: the maps grow and every cookie stays where
    /// it was put.
    @Test func manyJarsKeepTheirCookies() {
        var jars = CookieJars()
        func address(_ value: Int) -> IPv4Address { IPv4Address(UInt32(0xC633_6400 + value)) }
        for port in 1...300 {
            for host in 0..<20 {
                var jar = jars.jar(client: address(host), target: target, port: port)
                jars.set(port * 100 + host, of: port % 3, in: &jar)
                jars.set(-port, of: 7, in: &jar)
            }
        }
        for port in 1...300 {
            for host in 0..<20 {
                let jar = jars.jar(client: address(host), target: target, port: port)
                #expect(jars.value(of: port % 3, in: jar) == port * 100 + host)
                #expect(jars.value(of: 7, in: jar) == -port)
                #expect(jars.value(of: (port + 1) % 3, in: jar) == nil)
            }
        }
    }
}
