// The haproxy.cfg parser under libFuzzer: any text is parsed or refused without a crash.
import FuzzDriver
import InlineLBSimulator

/// One input.
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, count in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    _ = try? HAProxyParser.parse(text, file: "haproxy.cfg")
    return 0
}

runFuzzer(fuzzOne)
