import ArgumentParser
import Foundation
import VigRelayClientKit
import VigRelayCore

/// Options every subcommand shares: where the relay is and which certificates to trust.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The relay, https://HOST:PORT.")
    var server: String

    @Option(name: .customLong("ca"), help: ArgumentHelp("Trust the CA certificate in FILE (PEM), e.g. certs/dev/ca.crt.", valueName: "FILE"))
    var caFile: String?

    @Flag(help: "Accept any server certificate (throwaway tests only).")
    var insecure = false

    @Flag(help: "Print libwebsockets' own log on stderr.")
    var verbose = false

    /// Starts an lws client loop for this relay.
    func makeLoop() throws(ClientError) -> ClientLoop {
        let endpoint = try ServerEndpoint(parsing: server)
        let trust = try ClientTrust.from(caFile: caFile, insecure: insecure)
        ClientLoop.setLibraryLogLevel(verbose ? 7 : 0)
        return try ClientLoop(endpoint: endpoint, trust: trust)
    }
}

/// Runs a command body, turning a `ClientError` into one line on stderr and its exit status.
func reportingErrors(_ body: () throws(ClientError) -> Void) throws {
    do {
        try body()
    } catch {
        printError("vigrelay-client: \(error)")
        throw ExitCode(error.exitCode)
    }
}

/// Writes one line to stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Largest payload per frame: the relay's default message limit (16 MiB) minus the 16-byte header.
let maxPayloadBytes = (16 << 20) - 16

/// Parses a `--duration`-style option, or throws a usage error naming it.
func parseDuration(_ text: String?, option: String) throws(ClientError) -> Double? {
    guard let text else { return nil }
    guard let seconds = DurationParser.seconds(text) else { throw .usage(DurationParser.usage(option: option, value: text)) }
    return Double(seconds)
}

/// Parses a `--bitrate`-style option, or throws a usage error naming it.
func parseBitrate(_ text: String, option: String) throws(ClientError) -> Double {
    guard let bits = Bitrate.bitsPerSecond(text) else { throw .usage(Bitrate.usage(option: option, value: text)) }
    return bits
}
