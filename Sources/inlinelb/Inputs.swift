import ArgumentParser
import Foundation
import InlineLBCompiler
import InlineLBCore

/// Exit codes of the tool (sysexits.h).
enum ExitStatus {
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let cannotCreate = ExitCode(73)
}

/// Output style shared by the subcommands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The largest input file accepted: a 1 GiB corpus holds about 4 million rules and needs
/// about 8 GB of memory to compile.
let inputSizeLimit = 1 << 30

/// Reads a whole file, or exits with 66 naming it (65 when it is over the size limit).
func readInput(_ path: String) throws -> [UInt8] {
    do {
        return try FileBytes.read(path, limit: inputSizeLimit)
    } catch {
        printError("inlinelb: \(error)")
        throw error.isTooLarge ? ExitStatus.dataError : ExitStatus.noInput
    }
}

/// Maps a whole file, or exits with 66 naming it (65 when it is over the size limit).
func mapInput(_ path: String) throws -> MappedFile {
    do {
        return try MappedFile(path, limit: inputSizeLimit)
    } catch {
        printError("inlinelb: \(error)")
        throw error.isTooLarge ? ExitStatus.dataError : ExitStatus.noInput
    }
}

/// A corpus read and validated from the command line.
struct LoadedCorpus {
    var path: String
    /// The file's size and digest (its bytes are not kept).
    var input: OutputFile.Artifact
    var corpus: ValidatedCorpus
    /// The corpus's layout, when asked for and it has one (see ``CorpusLayout``).
    var layout: CorpusLayout?
    var seconds: Double
}

/// Reads and validates every corpus, printing all diagnostics; exits 65 if any is invalid.
/// `mapped` holds the files already mapped, by path; `layOut` also lays each corpus out for
/// an incremental apply.
///
/// Each file is mapped, not read: parsed where the page cache holds it, instead of copied
/// into fresh memory first (0.2 s of a million-rule compile on these machines).
func loadCorpora(_ paths: [String], mapped: [String: MappedFile] = [:], layOut: Bool = false)
    throws -> [LoadedCorpus]
{
    var loaded: [LoadedCorpus] = []
    var failed = false
    let sizes = paths.map {
        (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0
    }
    var progress = Progress(corpora: paths.count, totalBytes: sizes.reduce(0, +))
    defer { progress.clear() }
    for path in paths {
        progress.show("reading and validating \(path)")
        let file = try mapped[path] ?? mapInput(path)
        let bytes = SourceBytes.mapped(file)
        let clock = ContinuousClock()
        let start = clock.now
        // The manifest's digest of the file, computed beside the validation.
        let digest = Pending { Digest.xxh3(file.bytes) }
        do {
            let (corpus, layout) =
                layOut
                ? try CorpusLayout.load(file: path, bytes: bytes)
                : (try CorpusValidator.load(file: path, bytes: bytes), nil)
            progress.finished(bytes: bytes.count, rules: corpus.corpus.loadBalancerRules.count)
            loaded.append(
                LoadedCorpus(
                    path: path, input: OutputFile.Artifact(bytes: bytes.count, xxh3: digest.value),
                    corpus: corpus, layout: layout, seconds: seconds(clock.now - start)))
            // Nothing reads the file again: it is unmapped on another core (unless `mapped`
            // holds it too).
            releaseInBackground(file)
        } catch {
            failed = true
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            printError("inlinelb: \(path): \(error.diagnostics.count) problem(s); nothing written")
        }
    }
    if failed { throw ExitStatus.dataError }
    return loaded
}

/// Large values left for the process's exit to reclaim: freeing a million-rule corpus and
/// its compilation piece by piece takes a quarter of a second that the exit does not.
nonisolated(unsafe) private var keptUntilExit: [Any] = []

/// Keeps `value` alive until the process exits (see `keptUntilExit`).
func keepUntilExit(_ value: Any) { keptUntilExit.append(value) }

/// A duration in seconds.
func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
}

/// Pads `text` on the right (`left`) or left to `width` characters.
func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + padding : padding + text
}
