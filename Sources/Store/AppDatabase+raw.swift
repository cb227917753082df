import CompressNIO
import Foundation
import GRDB
import NIOCore
import Tracking

extension RawBlock {
    /// The lines of a batch in one uncompressed block (tests and small writes).
    static func plain(_ out: TrackerOutput) -> RawBlock {
        RawBlock(codec: 0, size: out.rawLines.bytes.count, lastSeen: out.messages.map(\.lastSeen).max() ?? 0,
                 data: out.rawLines.bytes, refs: out.rawLines.messages)
    }

    /// The lines of a batch in one block compressed with LZ4 (codec 2, `LZ4Block`): the tracker's drain
    /// gives them joined already. Blocks of earlier versions (raw deflate, codec 1) are still read.
    public static func compressed(_ out: TrackerOutput) -> RawBlock {
        guard !out.rawLines.bytes.isEmpty else { return plain(out) }
        return RawBlock(codec: 2, size: out.rawLines.bytes.count, lastSeen: out.messages.map(\.lastSeen).max() ?? 0,
                        data: LZ4Block.compress(out.rawLines.bytes), refs: out.rawLines.messages)
    }

    /// The uncompressed lines of a block.
    static func decode(codec: Int, size: Int, data: [UInt8]) throws -> [UInt8] {
        switch codec {
        case 0:
            return data
        case 1:
            var input = ByteBuffer(bytes: data)
            var output = ByteBufferAllocator().buffer(capacity: size)
            try input.decompress(to: &output, with: .deflate())
            return Array(output.readableBytesView)
        case 2:
            return try LZ4Block.decompress(data, size: size)
        default:
            throw UnknownCodec(codec: codec)
        }
    }

    struct UnknownCodec: Error, CustomStringConvertible {
        var codec: Int
        var description: String { "raw lines stored with an unknown codec (\(codec)): written by a newer version?" }
    }
}

extension AppDatabase {
    /// The raw log lines of a message, in the order they were read.
    public func rawLines(messageID: Int64) throws -> [String] {
        try reader.read { db in
            let refs = try Row.fetchAll(db, sql: """
                SELECT r.block_id, r.offset, r.length FROM raw_refs r WHERE r.message_id = ? ORDER BY r.block_id, r.offset
                """, arguments: [messageID])
            var lines: [String] = []
            var cache: (id: Int64, bytes: [UInt8])? = nil
            for ref in refs {
                let blockID: Int64 = ref[0]
                if cache?.id != blockID {
                    guard let b = try Row.fetchOne(db, sql: "SELECT codec, size, data FROM raw_blocks WHERE id = ?", arguments: [blockID]) else { continue }
                    let data: [UInt8] = Array((b["data"] as Data?) ?? Data())
                    cache = (blockID, try RawBlock.decode(codec: b["codec"], size: b["size"], data: data))
                }
                let bytes = cache!.bytes
                let off: Int = ref[1], len: Int = ref[2]
                guard off >= 0, len >= 0, off + len <= bytes.count else { continue }
                lines += bytes[off..<(off + len)].split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            }
            return lines
        }
    }
}
