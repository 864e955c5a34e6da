import Testing

@testable import InlineLBCore

@Suite("Id index")
struct IDIndexTests {
    @Test(arguments: [0, 1, 5000])
    func findsWhatADictionaryFinds(capacity: Int) {
        // Ids with repeats, shared prefixes, the empty id and non-ASCII ones; the index
        // grows from `capacity` as it fills.
        var generator = SystemRandomNumberGenerator()
        let ids = (0..<5000).map { _ in
            ["vm-", "vm-1", "", "é-", "a-very-long-identifier-beyond-sixteen-bytes-"]
                .randomElement(using: &generator)! + String(Int.random(in: 0..<3000))
        }
        var index = IDIndex(capacity: capacity)
        var reference: [String: Int] = [:]
        for (position, id) in ids.enumerated() {
            let first = index.insert(id, at: position)
            #expect(first == reference[id], "\(id)")
            if reference[id] == nil { reference[id] = position }
        }
        #expect(index.count == reference.count)
        for id in ids + ["missing", "vm-x", "é-3001"] {
            #expect(index[id] == reference[id], "\(id)")
        }
    }

    @Test func anEmptyIndexFindsNothing() {
        #expect(IDIndex()[""] == nil)
        #expect(IDIndex(capacity: 100)["vm-1"] == nil)
    }
}
