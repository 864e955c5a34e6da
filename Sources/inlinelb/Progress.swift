import Foundation

/// A one-line progress report on standard error, redrawn in place; silent unless standard
/// error is a terminal, so logs and pipes never see it.
struct Progress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let totalBytes: Int
    private let corpora: Int
    private var doneBytes = 0
    private var doneCorpora = 0
    private var rules = 0
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    /// A report over `corpora` files of `totalBytes` bytes in all.
    init(corpora: Int, totalBytes: Int) {
        self.corpora = corpora
        self.totalBytes = max(1, totalBytes)
        start = clock.now
    }

    /// Shows what is happening now.
    func show(_ activity: String) {
        guard enabled else { return }
        let elapsed = seconds(clock.now - start)
        let rate = elapsed > 0 ? Double(doneBytes) / 1e6 / elapsed : 0
        redraw(
            "[\(doneCorpora)/\(corpora) corpora, \(rules) rules, \(String(format: "%.1f", rate)) MB/s"
                + eta(done: doneBytes, of: totalBytes) + "] " + activity)
    }

    /// Shows `done` of `total` units of `activity`, with the time left at the rate so far.
    func show(_ activity: String, done: Int, of total: Int) {
        guard enabled else { return }
        redraw("[\(activity): \(done) of \(total)" + eta(done: done, of: total) + "]")
    }

    /// `, ETA n s` at the rate so far, while some but not all is done; else nothing.
    private func eta(done: Int, of total: Int) -> String {
        guard done > 0 && done < total else { return "" }
        let elapsed = seconds(clock.now - start)
        return String(format: ", ETA %.0f s", elapsed * Double(total - done) / Double(done))
    }

    /// Replaces the line on standard error with `line`.
    private func redraw(_ line: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Records a finished corpus.
    mutating func finished(bytes: Int, rules: Int) {
        doneBytes += bytes
        doneCorpora += 1
        self.rules += rules
    }

    /// Clears the line.
    func clear() {
        guard enabled else { return }
        redraw("")
    }
}
