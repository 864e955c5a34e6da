// The iptables-save parser under libFuzzer: any text is parsed or refused without a crash.
import FuzzDriver
import InlineLBSimulator

/// One input.
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, count in
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    _ = try? IptablesParser.parse(bytes: bytes, file: "iptables.rules")
    return 0
}

runFuzzer(fuzzOne)
