import Crypto

/// age's STREAM payload (c2sp.org/age, "Payload"): 64 KiB ChaCha20-Poly1305 chunks, nonce =
/// 11-byte big-endian counter ‖ final flag.
enum AgeStream {

    static let chunkSize = 64 * 1024
    static let tagSize = 16
    static let encryptedChunkSize = chunkSize + tagSize

    static func nonce(counter: UInt64, final: Bool) -> ChaChaPoly.Nonce {
        var n = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { n[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        n[11] = final ? 1 : 0
        // 12 bytes is always a valid ChaChaPoly nonce.
        return try! ChaChaPoly.Nonce(data: n)
    }

    /// Streaming encryption: buffers until it knows whether a chunk is the last one, so a
    /// plaintext that is an exact multiple of 64 KiB ends with a full final chunk.
    struct Sealer {
        let key: SymmetricKey
        private var counter: UInt64 = 0
        private var pending: [UInt8] = []

        init(key: SymmetricKey) { self.key = key }

        mutating func update(_ bytes: [UInt8]) throws -> [UInt8] {
            pending += bytes
            var out: [UInt8] = []
            var start = 0
            while pending.count - start > chunkSize {
                out += try seal(pending[start..<start + chunkSize], final: false)
                start += chunkSize
            }
            if start > 0 {
                pending.withUnsafeMutableBytes { raw in
                    for i in 0..<start { raw[i] = 0 }
                }
                pending.removeFirst(start)
            }
            return out
        }

        mutating func finish() throws -> [UInt8] {
            let out = try seal(pending[...], final: true)
            pending.zeroize()
            pending = []
            return out
        }

        private mutating func seal(_ chunk: ArraySlice<UInt8>, final: Bool) throws -> [UInt8] {
            let box = try ChaChaPoly.seal(chunk, using: key, nonce: AgeStream.nonce(counter: counter, final: final))
            counter += 1
            return Array(box.ciphertext) + Array(box.tag)
        }
    }

    /// Streaming decryption following age's `stream.Reader`: a full-size chunk is tried as
    /// non-final first, then as final; a short chunk must be final; only the first chunk may be an
    /// empty final chunk; nothing may follow the final chunk.
    struct Opener {
        let key: SymmetricKey
        private var counter: UInt64 = 0
        private var pending: [UInt8] = []
        private var sawFinal = false

        init(key: SymmetricKey) { self.key = key }

        /// An error found after plaintext of the same call was released: like age's reader, the
        /// authentic chunks are returned first and the error is reported by the next call.
        private var deferred: AgeError?

        mutating func update(_ bytes: [UInt8]) throws -> [UInt8] {
            if let deferred { throw deferred }
            var out: [UInt8] = []
            do {
                try process(bytes, into: &out)
            } catch let e as AgeError where !out.isEmpty {
                deferred = e
            }
            return out
        }

        private mutating func process(_ bytes: [UInt8], into out: inout [UInt8]) throws {
            if sawFinal && !bytes.isEmpty { throw AgeError.payload("trailing data after the final chunk") }
            pending += bytes
            var start = 0
            defer { if start > 0 { pending.removeFirst(start) } }
            while pending.count - start >= encryptedChunkSize {
                if sawFinal { throw AgeError.payload("trailing data after the final chunk") }
                let chunk = pending[start..<start + encryptedChunkSize]
                if let pt = open(chunk, final: false) {
                    out += pt
                } else if let pt = open(chunk, final: true) {
                    out += pt
                    sawFinal = true
                } else {
                    throw AgeError.payload("chunk \(counter) failed to authenticate")
                }
                counter += 1
                start += encryptedChunkSize
            }
            if sawFinal && pending.count > start { throw AgeError.payload("trailing data after the final chunk") }
        }

        mutating func finish() throws -> [UInt8] {
            if let deferred { throw deferred }
            if sawFinal { return [] }
            if pending.isEmpty {
                throw AgeError.payload(counter == 0 ? "no payload chunks" : "last chunk is not marked final (truncated file)")
            }
            if pending.count < tagSize { throw AgeError.payload("chunk \(counter) is shorter than its tag") }
            if pending.count == tagSize && counter > 0 { throw AgeError.payload("last chunk is empty") }
            guard let pt = open(pending[...], final: true) else {
                throw AgeError.payload("chunk \(counter) failed to authenticate")
            }
            sawFinal = true
            pending = []
            return pt
        }

        private func open(_ chunk: ArraySlice<UInt8>, final: Bool) -> [UInt8]? {
            let n = chunk.count - tagSize
            guard n >= 0,
                  let box = try? ChaChaPoly.SealedBox(nonce: AgeStream.nonce(counter: counter, final: final),
                                                      ciphertext: chunk.prefix(n), tag: chunk.suffix(tagSize)),
                  let pt = try? ChaChaPoly.open(box, using: key) else { return nil }
            return Array(pt)
        }
    }
}
