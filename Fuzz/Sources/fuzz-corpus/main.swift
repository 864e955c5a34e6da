// The corpus reader under libFuzzer: any bytes are read, decoded and validated without a
// crash; when they make a valid corpus it is also planned and rendered, twice, and both
// renderings must be byte-identical.
import FuzzDriver
import InlineLBCompiler

/// One input.
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, count in
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let corpus = try? CorpusValidator.load(file: "fuzz.json", bytes: bytes) else {
        return 0
    }
    let first = try? Compilation(corpus: corpus, inputFile: "fuzz.json", inputBytes: bytes)
    let second = try? Compilation(corpus: corpus, inputFile: "fuzz.json", inputBytes: bytes)
    precondition(
        first?.files.map(\.bytes) == second?.files.map(\.bytes),
        "the same corpus compiled to different bytes")
    return 0
}

runFuzzer(fuzzOne)
