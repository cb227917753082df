import Foundation
import GRDB
import Store
import Testing

/// The raw lines' codec: LZ4 blocks written and read by `LZ4Block`; deflate blocks of earlier
/// versions still read.
@Suite struct RawBlockTests {
    /// A deterministic pseudo-random sequence (xorshift), for incompressible data.
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    static let logText: [UInt8] = {
        var s = ""
        for i in 0..<400 {
            s += "Jan  1 10:\(String(format: "%02d", i % 60)):00 mail postfix/smtp[\(1000 + i % 7)]: \(String(format: "%05X", i))AB: "
            s += "to=<user\(i % 13)@example\(i % 5).org>, relay=mx.example.org[192.0.2.\(i % 250)]:25, delay=0.\(i % 10), "
            s += "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as \(String(format: "%08X", i * 7919)))\n"
        }
        return Array(s.utf8)
    }()

    @Test(arguments: [0, 1, 5, 12, 13, 17, 64])
    func shortInputsRoundTrip(count: Int) throws {
        let input = Array(Self.logText.prefix(count))
        let block = LZ4Block.compress(input)
        #expect(block.count <= LZ4Block.bound(count))
        #expect(try LZ4Block.decompress(block, size: count) == input)
    }

    /// Every length, so that the literals copied 16 bytes at a time end at every distance from the end
    /// of the input and of the block.
    @Test func everyLengthRoundTrips() throws {
        let mixed = Self.logText.prefix(300) + Self.noise(40) + Self.logText.prefix(300)
        for input in [Array(Self.logText.prefix(700)), Array(mixed)] {
            for count in 0...input.count {
                let part = Array(input.prefix(count))
                let block = LZ4Block.compress(part)
                #expect(block.count <= LZ4Block.bound(count))
                #expect(try LZ4Block.decompress(block, size: count) == part)
            }
        }
    }

    @Test func repetitiveNoisyAndLogDataRoundTrip() throws {
        let cases: [[UInt8]] = [
            [UInt8](repeating: 0x61, count: 100_000),                          // one long overlapping match
            Self.noise(100_000),                                               // literals only, long lengths
            Self.logText,
            Self.noise(300) + Self.logText + Self.noise(70_000) + Self.logText,  // matches further than 64 KiB back
            Array(repeating: Array("abcdefgh".utf8), count: 5_000).flatMap { $0 },
        ]
        for input in cases {
            let block = LZ4Block.compress(input)
            #expect(block.count <= LZ4Block.bound(input.count))
            #expect(try LZ4Block.decompress(block, size: input.count) == input)
        }
        #expect(LZ4Block.compress(cases[0]).count < 1_000)
        // Log lines compress about four times; the block takes the room of its bytes only (it waits
        // in the writer's queue).
        let block = LZ4Block.compress(Self.logText)
        #expect(block.count * 3 < Self.logText.count)
        #expect(block.capacity * 2 < Self.logText.count)
    }

    /// A damaged block is an error, never a crash or a read outside the data: cut anywhere, or any byte changed.
    @Test func damagedBlocksThrowOrDecodeToTheirSize() throws {
        let input = Array(Self.logText.prefix(4_000))
        let block = LZ4Block.compress(input)
        for cut in 0..<block.count {
            #expect(throws: LZ4Block.Malformed.self) { try LZ4Block.decompress(Array(block.prefix(cut)), size: input.count) }
        }
        var decoded = 0
        for i in stride(from: 0, to: block.count, by: 3) {
            for v: UInt8 in [0, 0x0F, 0xF0, 0xFF, block[i] ^ 0x40] {
                var damaged = block
                damaged[i] = v
                if let out = try? LZ4Block.decompress(damaged, size: input.count) {
                    #expect(out.count == input.count)
                    decoded += 1
                }
            }
        }
        #expect(decoded > 0)  // a changed literal still decodes (to other text)
        #expect(throws: LZ4Block.Malformed.self) { try LZ4Block.decompress(block, size: input.count - 1) }
        #expect(throws: LZ4Block.Malformed.self) { try LZ4Block.decompress(block, size: input.count + 1) }
    }

    /// Workspaces of earlier versions hold raw deflate blocks (codec 1): their lines are still shown.
    @Test func deflateBlocksOfEarlierVersionsAreRead() throws {
        let db = try AppDatabase.inMemory()
        // The two lines below, compressed by Python's zlib (raw deflate, level 1).
        let data = Data(base64Encoded: "80rMU1AwVDA0sDIAIYVchYL84pK0zAr9gszk7NKCaMNYKwUnIDAAAicnK4XSzBRbA4W0ovxcW5ui/PwSOy4vnEYU5qYXRRujGVCUmptflpoCAA==")!
        try db.writer.write { db in
            try db.execute(sql: "INSERT INTO raw_blocks (id, codec, size, last_seen, data) VALUES (1, 1, 121, 0, ?)", arguments: [data])
            try db.execute(sql: "INSERT INTO raw_refs (message_id, block_id, offset, length) VALUES (7, 1, 0, 121)")
        }
        #expect(try db.rawLines(messageID: 7) == [
            "Jan  1 10:00:00 m postfix/pickup[1]: BBBB0000BB: uid=0 from=<root>",
            "Jan  1 10:00:00 m postfix/qmgr[3]: BBBB0000BB: removed",
        ])
    }
}
