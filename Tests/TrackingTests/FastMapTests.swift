import Testing
@testable import Tracking

/// The tracker's hash tables against a dictionary: random insertions, replacements and removals, with
/// keys whose hashes collide on purpose (removals then move entries back past the table's end too).
@Suite struct FastMapTests {
    struct Clumped: FastHashable, Hashable {
        var v: Int64
        /// Eight hashes in all: long runs of entries that all want the same few slots.
        var fastHash: UInt64 { UInt64(v & 7) }
    }

    /// xorshift: the same sequence of operations every run.
    struct Random {
        var x: UInt64
        mutating func next(_ n: Int) -> Int {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return Int(x % UInt64(n))
        }
    }

    func check<K: FastHashable & Hashable, M: HashTable>(_ type: M.Type, _ make: (Int) -> K, range: Int, steps: Int, seed: UInt64)
        where M.Key == K, M.Value == Int {
        var map = M()
        var reference: [K: Int] = [:]
        var r = Random(x: seed)
        for step in 0..<steps {
            let k = make(r.next(range))
            switch r.next(10) {
            case 0..<5:
                map[k] = step
                reference[k] = step
            case 5..<8:
                #expect(map.removeValue(forKey: k) == reference.removeValue(forKey: k))
            case 8:
                if let i = map.index(forKey: k) {
                    map.withValue(at: i) { $0 += 1 }
                    reference[k]! += 1
                } else {
                    #expect(reference[k] == nil)
                }
            default:
                #expect(map[k] == reference[k])
            }
            #expect(map.count == reference.count)
        }
        for k in reference.keys { #expect(map[k] == reference[k]) }
        #expect(Set(map.allKeys) == Set(reference.keys))
        #expect(map.indices.count == reference.count)
        map.removeAll(where: { $0 % 2 == 0 })
        reference = reference.filter { $0.value % 2 != 0 }
        #expect(map.count == reference.count)
        for k in reference.keys { #expect(map[k] == reference[k]) }
        map.removeAll(keepingCapacity: true)
        #expect(map.isEmpty && map.allKeys.isEmpty)
        #expect(map[make(0)] == nil)
    }

    @Test func collidingKeysBehaveAsADictionary() {
        check(FastMap<Clumped, Int>.self, { Clumped(v: Int64($0)) }, range: 300, steps: 20_000, seed: 0x1234_5678_9ABC_DEF1)
        check(DenseMap<Clumped, Int>.self, { Clumped(v: Int64($0)) }, range: 300, steps: 20_000, seed: 0x1234_5678_9ABC_DEF1)
    }

    @Test func messageIDsBehaveAsADictionary() {
        check(FastMap<Int64, Int>.self, { Int64($0) }, range: 5_000, steps: 50_000, seed: 0x0F0F_1234_4321_F0F0)
        check(DenseMap<Int64, Int>.self, { Int64($0) }, range: 5_000, steps: 50_000, seed: 0x0F0F_1234_4321_F0F0)
    }

    /// The values of a `DenseMap` are found by their keys after removals moved entries around.
    @Test func denseMapKeepsKeysWithTheirValues() {
        var map = DenseMap<Int64, String>()
        for i in 0..<1000 { map[Int64(i)] = "v\(i)" }
        for i in stride(from: 0, to: 1000, by: 3) { #expect(map.removeValue(forKey: Int64(i)) == "v\(i)") }
        for i in 0..<1000 { #expect(map[Int64(i)] == (i % 3 == 0 ? nil : "v\(i)")) }
        for i in map.indices { #expect(map[at: i] == "v\(map.key(at: i))") }
    }
}
