import Foundation

/// Finds the local process that listens on a TCP port, for `load`'s server figures when no
/// `--server-pid` is given: the socket's inode from `/proc/net/tcp` and `tcp6` (state `0A`,
/// LISTEN), then the process whose `/proc/PID/fd` holds `socket:[inode]`. Only processes this user
/// may inspect are found. Thread: any (reads files only).
enum ListeningProcess {
    /// The pid listening on `port`, if exactly one process of this user does.
    static func pid(port: Int) -> Int32? {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            inodes.formUnion(listeningInodes(table: text, port: port))
        }
        guard !inodes.isEmpty else { return nil }
        let targets = Set(inodes.map { "socket:[\($0)]" })
        let fm = FileManager.default
        var found = Set<Int32>()
        for entry in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                  let fds = try? fm.contentsOfDirectory(atPath: "/proc/\(entry)/fd") else { continue }
            for fd in fds {
                if let link = try? fm.destinationOfSymbolicLink(atPath: "/proc/\(entry)/fd/\(fd)"), targets.contains(link) {
                    found.insert(pid)
                    break
                }
            }
        }
        return found.count == 1 ? found.first : nil
    }

    /// Inodes of the sockets listening on `port` in one `/proc/net/tcp`-style table.
    static func listeningInodes(table text: String, port: Int) -> [String] {
        let hexPort = String(format: "%04X", port)
        var inodes: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            guard fields.count > 9, fields[3] == "0A", fields[1].hasSuffix(":" + hexPort) else { continue }
            inodes.append(String(fields[9]))
        }
        return inodes
    }
}
