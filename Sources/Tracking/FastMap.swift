/// A key that hashes itself into one word, cheaply (`FastMap`).
protocol FastHashable: Equatable {
    var fastHash: UInt64 { get }
}

extension Int64: FastHashable {
    @inline(__always) var fastHash: UInt64 { UInt64(bitPattern: self) }
}

/// Whether, in a table probed linearly, the entry at slot `j`, which wants slot `home`, stays where it is
/// when slot `hole` before it is emptied: when `home` lies cyclically in (hole, j]. Else it moves back
/// into the hole (a removal without tombstones).
@inline(__always)
func stays(home: Int, hole: Int, at j: Int) -> Bool {
    hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
}

/// What the tracker's two tables (`FastMap`, `DenseMap`) have in common, and what is made of it.
protocol HashTable {
    associatedtype Key: FastHashable
    associatedtype Value
    associatedtype Indices: Collection<Int>
    init()
    var count: Int { get }
    var isEmpty: Bool { get }
    /// The index of `key`'s entry, if it is in the table: valid until the next insertion or removal.
    func index(forKey key: Key) -> Int?
    subscript(at i: Int) -> Value { get }
    func key(at i: Int) -> Key
    mutating func withValue<R>(at i: Int, _ body: (inout Value) -> R) -> R
    mutating func insert(_ key: Key, _ value: consuming Value)
    @discardableResult mutating func remove(at i: Int) -> Value
    mutating func removeAll(keepingCapacity: Bool)
    /// The indices of the entries.
    var indices: Indices { get }
    var allKeys: [Key] { get }
}

extension HashTable {
    subscript(key: Key) -> Value? {
        get { index(forKey: key).map { self[at: $0] } }
        set {
            if let v = newValue {
                insert(key, v)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard let i = index(forKey: key) else { return nil }
        return remove(at: i)
    }

    /// Removes the entries whose value `shouldRemove` says.
    mutating func removeAll(where shouldRemove: (Value) -> Bool) {
        var doomed: [Key] = []
        for i in indices where shouldRemove(self[at: i]) { doomed.append(key(at: i)) }
        for k in doomed { removeValue(forKey: k) }
    }

    func map<T>(_ transform: (Key, Value) -> T) -> [T] {
        indices.map { transform(key(at: $0), self[at: $0]) }
    }
}

/// The tracker's tables: several lookups for every line, by message id or queue id. A `Dictionary`
/// hashes each key with SipHash (seeded per process), which cost more than the rest of a lookup; here
/// a key's one-word hash is spread by a multiplication (Fibonacci hashing), and the table is probed
/// linearly from there, at most 60% full. A removal moves the entries that follow it back (no
/// tombstones), so lookups stay short whatever came and went.
///
/// Like a dictionary's, an index (a slot) is valid until the next insertion or removal; the order of
/// the entries is unspecified.
struct FastMap<Key: FastHashable, Value>: HashTable {
    private var keys: [Key?] = []
    private var vals: [Value?] = []
    /// 64 minus the bits of the capacity: the hash's top bits are the slot.
    private var shift: UInt64 = 64
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    private var capacity: Int { keys.count }

    @inline(__always)
    private func slot(_ key: Key) -> Int {
        Int(truncatingIfNeeded: (key.fastHash &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot of `key`, if it is in the table.
    @inline(__always)
    func index(forKey key: Key) -> Int? {
        guard count > 0 else { return nil }
        let mask = capacity - 1
        var i = slot(key)
        while let k = keys[i] {
            if k == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The value at a slot found by `index(forKey:)`.
    subscript(at i: Int) -> Value {
        get { vals[i]! }
    }

    func key(at i: Int) -> Key { keys[i]! }

    /// Changes the value at a slot in place.
    @inline(__always)
    mutating func withValue<R>(at i: Int, _ body: (inout Value) -> R) -> R {
        body(&vals[i]!)
    }

    mutating func insert(_ key: Key, _ value: consuming Value) {
        if let i = index(forKey: key) {
            vals[i] = consume value
            return
        }
        if (count + 1) * 5 > capacity * 3 { grow() }
        let mask = capacity - 1
        var i = slot(key)
        while keys[i] != nil { i = (i + 1) & mask }
        keys[i] = key
        vals[i] = consume value
        count += 1
    }

    /// Removes the entry at slot `i`; the entries after it that would not be found any more move back.
    @discardableResult
    mutating func remove(at i: Int) -> Value {
        var value: Value? = nil
        swap(&value, &vals[i])
        keys[i] = nil
        count -= 1
        let mask = capacity - 1
        var hole = i
        var j = (i + 1) & mask
        while let k = keys[j] {
            let home = slot(k)
            if !stays(home: home, hole: hole, at: j) {
                keys[hole] = k
                keys[j] = nil
                vals.swapAt(hole, j)
                hole = j
            }
            j = (j + 1) & mask
        }
        return value!
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        guard keepingCapacity else {
            self = FastMap()
            return
        }
        guard count > 0 else { return }
        for i in keys.indices where keys[i] != nil {
            keys[i] = nil
            vals[i] = nil
        }
        count = 0
    }

    /// The slots that hold an entry.
    var indices: [Int] { keys.indices.filter { keys[$0] != nil } }

    var allKeys: [Key] { keys.compactMap { $0 } }


    private mutating func grow() {
        let newCapacity = max(16, capacity * 2)
        var oldKeys: [Key?] = Array(repeating: nil, count: newCapacity)
        var oldVals: [Value?] = Array(repeating: nil, count: newCapacity)
        swap(&oldKeys, &keys)
        swap(&oldVals, &vals)
        shift = UInt64(64 - newCapacity.trailingZeroBitCount)
        let mask = newCapacity - 1
        for j in oldKeys.indices {
            guard let k = oldKeys[j] else { continue }
            var i = slot(k)
            while keys[i] != nil { i = (i + 1) & mask }
            keys[i] = k
            swap(&vals[i], &oldVals[j])
        }
    }
}

extension FastMap: Sendable where Key: Sendable, Value: Sendable {}

/// A `FastMap` for large values (the tracker's messages, a few hundred bytes each): the entries are kept
/// one after the other in insertion order, and the table holds only where each is, with bits of its
/// hash. A new entry is written at the end of the entries, where the last one was, instead of into a
/// slot anywhere in a table several times its size (each one a miss of the processor's caches); a
/// lookup probes eight-byte slots, and reaches an entry's key only when those bits match.
///
/// An index is an entry's place among the entries: valid until the next insertion or removal (a
/// removal moves the last entry into the place it frees).
struct DenseMap<Key: FastHashable, Value>: HashTable {
    /// 0 for an empty slot, else the top 32 bits of the entry's hash, then its index + 1.
    private var slots: [UInt64] = []
    private var keys: [Key] = []
    private var values: [Value] = []
    /// 64 minus the bits of the table's size: the hash's top bits are the slot.
    private var shift: UInt64 = 64

    init() {}

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    @inline(__always)
    private func tag(_ key: Key) -> UInt64 { (key.fastHash &* 0x9E37_79B9_7F4A_7C15) >> 32 }

    /// The slot a tag wants (the table has at most 2^32 slots, so the top bits are all in the tag).
    @inline(__always)
    private func home(_ tag: UInt64) -> Int { Int(truncatingIfNeeded: tag >> (shift - 32)) }

    /// The index of `key`'s entry, if it is in the table.
    @inline(__always)
    func index(forKey key: Key) -> Int? {
        guard !keys.isEmpty else { return nil }
        let t = tag(key)
        let mask = slots.count - 1
        var i = home(t)
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s >> 32 == t {
                let e = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                if keys[e] == key { return e }
            }
            i = (i + 1) & mask
        }
    }

    /// The value at an index found by `index(forKey:)`, read where it is.
    subscript(at i: Int) -> Value {
        _read { yield values[i] }
    }

    func key(at i: Int) -> Key { keys[i] }

    /// Changes the value at an index in place.
    @inline(__always)
    mutating func withValue<R>(at i: Int, _ body: (inout Value) -> R) -> R {
        body(&values[i])
    }

    /// `value` is moved in (not copied: a copy of a message retained each of its strings and arrays).
    mutating func insert(_ key: Key, _ value: consuming Value) {
        if let i = index(forKey: key) {
            values[i] = consume value
            return
        }
        if (keys.count + 1) * 2 > slots.count { grow() }
        let t = tag(key)
        let mask = slots.count - 1
        var i = home(t)
        while slots[i] != 0 { i = (i + 1) & mask }
        keys.append(key)
        values.append(consume value)
        slots[i] = t << 32 | UInt64(keys.count)
    }

    /// The slot that holds entry `e`.
    private func slot(of e: Int) -> Int {
        let mask = slots.count - 1
        var i = home(tag(keys[e]))
        while Int(truncatingIfNeeded: slots[i] & 0xFFFF_FFFF) != e + 1 { i = (i + 1) & mask }
        return i
    }

    /// Removes entry `e`: its slot is emptied (the slots after it that would not be found any more move
    /// back), and the last entry moves into its place.
    @discardableResult
    mutating func remove(at e: Int) -> Value {
        let mask = slots.count - 1
        var hole = slot(of: e)
        slots[hole] = 0
        var j = (hole + 1) & mask
        while slots[j] != 0 {
            let h = home(slots[j] >> 32)
            if !stays(home: h, hole: hole, at: j) {
                slots[hole] = slots[j]
                slots[j] = 0
                hole = j
            }
            j = (j + 1) & mask
        }
        let last = keys.count - 1
        if e != last {
            let s = slot(of: last)
            slots[s] = slots[s] & ~0xFFFF_FFFF | UInt64(e + 1)
            // Moved in memory (an array's `swapAt` copied both values, retaining what they hold).
            keys.withUnsafeMutableBufferPointer { $0.swapAt(e, last) }
            values.withUnsafeMutableBufferPointer { $0.swapAt(e, last) }
        }
        keys.removeLast()
        return values.removeLast()
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        guard keepingCapacity else {
            self = DenseMap()
            return
        }
        guard !keys.isEmpty else { return }
        for i in slots.indices { slots[i] = 0 }
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// The indices of the entries.
    var indices: Range<Int> { keys.indices }

    var allKeys: [Key] { keys }


    private mutating func grow() {
        let newCapacity = max(16, slots.count * 2)
        slots = Array(repeating: 0, count: newCapacity)
        shift = UInt64(64 - newCapacity.trailingZeroBitCount)
        let mask = newCapacity - 1
        keys.reserveCapacity(newCapacity / 2)
        values.reserveCapacity(newCapacity / 2)
        for e in keys.indices {
            let t = tag(keys[e])
            var i = home(t)
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = t << 32 | UInt64(e + 1)
        }
    }
}

extension DenseMap: Sendable where Key: Sendable, Value: Sendable {}
