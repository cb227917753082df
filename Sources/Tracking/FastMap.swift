/// A key that hashes itself into one word, cheaply (`FastMap`).
protocol FastHashable: Equatable {
    var fastHash: UInt64 { get }
}

extension Int64: FastHashable {
    @inline(__always) var fastHash: UInt64 { UInt64(bitPattern: self) }
}

/// The tracker's tables: several lookups for every line, by message id or queue id. A `Dictionary`
/// hashes each key with SipHash (seeded per process), which cost more than the rest of a lookup; here
/// a key's one-word hash is spread by a multiplication (Fibonacci hashing), and the table is probed
/// linearly from there, at most 60% full. A removal moves the entries that follow it back (no
/// tombstones), so lookups stay short whatever came and went.
///
/// Like a dictionary's, an index (a slot) is valid until the next insertion or removal; the order of
/// the entries is unspecified.
struct FastMap<Key: FastHashable, Value> {
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

    subscript(key: Key) -> Value? {
        get { index(forKey: key).map { vals[$0]! } }
        set {
            if let v = newValue {
                insert(key, v)
            } else {
                removeValue(forKey: key)
            }
        }
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

    mutating func insert(_ key: Key, _ value: Value) {
        if let i = index(forKey: key) {
            vals[i] = value
            return
        }
        if (count + 1) * 5 > capacity * 3 { grow() }
        let mask = capacity - 1
        var i = slot(key)
        while keys[i] != nil { i = (i + 1) & mask }
        keys[i] = key
        vals[i] = value
        count += 1
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard let i = index(forKey: key) else { return nil }
        return remove(at: i)
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
            // The entry at j stays if its home slot lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !stays {
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

    /// Removes the entries whose value `shouldRemove` says.
    mutating func removeAll(where shouldRemove: (Value) -> Bool) {
        var doomed: [Key] = []
        for i in indices where shouldRemove(vals[i]!) { doomed.append(keys[i]!) }
        for k in doomed { removeValue(forKey: k) }
    }

    /// The slots that hold an entry.
    var indices: [Int] { keys.indices.filter { keys[$0] != nil } }

    var allKeys: [Key] { keys.compactMap { $0 } }

    func map<T>(_ transform: (Key, Value) -> T) -> [T] {
        indices.map { transform(keys[$0]!, vals[$0]!) }
    }

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
