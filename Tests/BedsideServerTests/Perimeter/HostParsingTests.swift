import Testing

@testable import BedsideServer

/// Hosts, addresses, origins and proxies read strictly: no prefix is an address, no spelling of
/// a foreign host passes for a local one.
@Suite struct HostParsingTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"), ("::", "::"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"), ("fe80::1:0:0:1", "fe80::1:0:0:1"),
        ("::ffff:10.0.0.1", "::ffff:a00:1"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func addressesReadAndPrintCanonically(_ text: String, _ canonical: String) throws {
        #expect(try #require(IPAddress(text)).description == canonical)
    }

    @Test(arguments: [
        "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.01", "256.0.0.1", "1.2.3.4.5", "1.2.3", "", " 1.2.3.4",
        "+1.2.3.4", "1.2.3.-4", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "1:::2", "12345::", "g::1", "::1%eth0", "[::1]",
        "127.0.0.1.attacker.example", "::ffff:1.2.3", "1:2:3:4:5:6:7::8",
    ])
    func lookAlikesAreNotAddresses(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func loopbackAndMappedAddresses() throws {
        #expect(try #require(IPAddress("127.8.9.10")).isLoopback)
        #expect(try #require(IPAddress("::1")).isLoopback)
        #expect(try #require(IPAddress("::ffff:127.0.0.1")).isLoopback)
        #expect(try #require(IPAddress("::ffff:127.0.0.1")).unmapped == IPAddress("127.0.0.1"))
        #expect(try !#require(IPAddress("128.0.0.1")).isLoopback)
        #expect(try !#require(IPAddress("::2")).isLoopback)
    }

    @Test func hostsAndAuthoritiesNormalize() throws {
        #expect(Authority("LocalHost.:8000") == Authority(host: .name("localhost"), port: 8000))
        #expect(Authority("[::1]:80") == Authority(host: .address(try #require(IPAddress("::1"))), port: 80))
        #expect(Authority("127.0.0.1") == Authority(host: .address(try #require(IPAddress("127.0.0.1"))), port: nil))
        #expect(Authority("127.0.0.1.attacker.example:8000")?.host == .name("127.0.0.1.attacker.example"))
        for bad in [
            "", ":80", "::1", "[::1", "[::1]x", "[127.0.0.1]", "host:", "host:65536", "host:80:80", "user@host", "host/path", "ho st",
            "a..b", "é.example", String(repeating: "a", count: 64) + ".example",
        ] {
            #expect(Authority(bad) == nil, "\(bad)")
        }
    }

    @Test func loopbackBindingAcceptsOnlyItsOwnNames() {
        let hosts = HostPolicy(listenHost: "127.0.0.1", allowed: [])
        for good in ["127.0.0.1:8000", "localhost:8000", "LOCALHOST.", "[::1]:8000", "127.0.0.1"] {
            #expect(hosts.allowedAuthority(good) != nil, "\(good)")
        }
        for bad in [
            "127.0.0.1.attacker.example:8000", "attacker.example", "127.0.0.2", "127.1", "0177.0.0.1", "[::2]", "localhost.attacker",
        ] {
            #expect(hosts.allowedAuthority(bad) == nil, "\(bad)")
        }
        #expect(!hosts.onlyLoopbackOnEveryInterface)
    }

    @Test func everyInterfaceWithoutAllowedHostsAcceptsOnlyLoopbackNames() {
        for listen in ["0.0.0.0", "::"] {
            let hosts = HostPolicy(listenHost: listen, allowed: [])
            #expect(hosts.onlyLoopbackOnEveryInterface)
            #expect(hosts.allowedAuthority("localhost:8000") != nil)
            #expect(hosts.allowedAuthority("0.0.0.0:8000") == nil)
            #expect(hosts.allowedAuthority("10.1.2.3:8000") == nil)
            #expect(hosts.allowedAuthority("bedside.example.org") == nil)
        }
    }

    @Test func allowedHostsAndWildcards() {
        let hosts = HostPolicy(
            listenHost: "0.0.0.0",
            allowed: ["Bedside.Example.org", "*.clinic.example", "10.1.2.3", "[fd00::1]", "proxy.example:8443", "*.org", "bad host", "*"]
        )
        #expect(!hosts.onlyLoopbackOnEveryInterface)
        for good in [
            "bedside.example.org", "bedside.example.org.:443", "ward.clinic.example", "a.b.clinic.example:1", "10.1.2.3:8000", "[fd00::1]",
            "proxy.example",
        ] {
            #expect(hosts.allowedAuthority(good) != nil, "\(good)")
        }
        for bad in ["clinic.example", "evilclinic.example", "clinic.example.attacker", "example.org", "any.org", "10.1.2.4"] {
            #expect(hosts.allowedAuthority(bad) == nil, "\(bad)")
        }
        #expect(hosts.invalidEntries == ["*.org", "bad host", "*"])
    }

    @Test func aSpecificAddressIsItsOwnHost() {
        let hosts = HostPolicy(listenHost: "192.168.1.5", allowed: [])
        #expect(hosts.allowedAuthority("192.168.1.5:8000") != nil)
        #expect(hosts.allowedAuthority("localhost:8000") == nil)
    }

    @Test func theOwnOriginIsTheAllowedHostOnly() {
        let policy = OriginPolicy(
            allowed: ServerConfiguration.defaultAllowedOrigins,
            hosts: HostPolicy(listenHost: "127.0.0.1", allowed: [])
        )
        #expect(ServerConfiguration.defaultAllowedOrigins.isEmpty)
        #expect(policy.allows(origin: nil, authority: "127.0.0.1:8000"))
        #expect(policy.allows(origin: "http://127.0.0.1:8000", authority: "127.0.0.1:8000"))
        #expect(policy.allows(origin: "HTTP://LOCALHOST:8000/", authority: "localhost:8000"))
        #expect(policy.allows(origin: "http://localhost", authority: "localhost"))
        #expect(policy.allows(origin: "ws://anything.example", authority: "127.0.0.1:8000"))
        // The rebinding page: its Origin names the Host it sends, and neither is this server's.
        #expect(!policy.allows(origin: "http://127.0.0.1.attacker.example:8000", authority: "127.0.0.1.attacker.example:8000"))
        #expect(!policy.allows(origin: "http://127.0.0.1.attacker.example:8000", authority: "127.0.0.1:8000"))
        // Another local port, or the other loopback name, is another origin.
        #expect(!policy.allows(origin: "http://localhost:3000", authority: "localhost:8000"))
        #expect(!policy.allows(origin: "http://127.0.0.1:3000", authority: "127.0.0.1:8000"))
        #expect(!policy.allows(origin: "http://localhost:8000", authority: "127.0.0.1:8000"))
        #expect(!policy.allows(origin: "null", authority: "127.0.0.1:8000"))
        #expect(!policy.allows(origin: "file://", authority: "127.0.0.1:8000"))
    }

    @Test func listedOriginsMatchParsed() {
        let hosts = HostPolicy(listenHost: "0.0.0.0", allowed: ["bedside.example.org"])
        let policy = OriginPolicy(allowed: ["http://localhost:*", "https://bedside.example.org/", "not an origin"], hosts: hosts)
        #expect(policy.invalidEntries == ["not an origin"])
        #expect(policy.allows(origin: "http://localhost:5173", authority: "10.0.0.1"))
        #expect(policy.allows(origin: "http://localhost", authority: "10.0.0.1"))
        #expect(policy.allows(origin: "https://bedside.example.org:443", authority: "10.0.0.1"))
        #expect(!policy.allows(origin: "https://bedside.example.org:8443", authority: "10.0.0.1"))
        #expect(!policy.allows(origin: "http://localhost.attacker.example:5173", authority: "10.0.0.1"))
        #expect(!policy.allows(origin: "https://localhost:5173", authority: "10.0.0.1"))
        // Behind a proxy that keeps the Host: the public origin is the own origin.
        #expect(policy.allows(origin: "https://bedside.example.org", authority: "bedside.example.org"))
        #expect(OriginPolicy(allowed: ["*"], hosts: hosts).allows(origin: "https://anyone.example", authority: "x"))
    }

    @Test func perimeterProblemsNameEveryInvalidEntry() {
        var configuration = ServerConfiguration()
        #expect(configuration.perimeterProblems.isEmpty)
        configuration.allowedHosts = ["ok.example", "not ok"]
        configuration.trustedProxies = ["10.0.0.0/8", "10.0.0.0/33", "proxy.example"]
        configuration.allowedOrigins = ["https://ok.example", "ok.example"]
        #expect(configuration.perimeterProblems.count == 4)
    }
}
