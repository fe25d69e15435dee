import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time and memory of a process, read from /proc (Linux).
struct ProcessStats: Sendable {
    /// User plus system CPU seconds so far.
    var cpuSeconds: Double
    /// Resident set size, KiB.
    var rssKiB: Int
    /// Peak resident set size, KiB.
    var peakRSSKiB: Int

    /// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; nil when the process is gone.
    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kib(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return ProcessStats(cpuSeconds: (user + system) / ticks, rssKiB: kib("VmRSS"), peakRSSKiB: kib("VmHWM"))
    }

    /// This process's own CPU seconds (getrusage), precise to the microsecond.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// This process's open-file limit (soft).
func openFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    return Int(limit.rlim_cur)
}

/// Raises this process's open-file limit so that it (and a server it starts, which inherits
/// the limit) can hold `needed` descriptors; returns a note for the report.
func raiseOpenFileLimit(to needed: Int) -> String {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return "cannot read the open-file limit" }
    let before = limit.rlim_cur
    var wanted = rlimit(rlim_cur: max(limit.rlim_max, rlim_t(needed)), rlim_max: max(limit.rlim_max, rlim_t(needed)))
    if setrlimit(resource, &wanted) != 0 {
        // Not allowed to raise the hard limit: take what the hard limit allows.
        wanted = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
        _ = setrlimit(resource, &wanted)
    }
    _ = getrlimit(resource, &limit)
    let now = Int(limit.rlim_cur)
    if now < needed {
        return "open-file limit \(now) (was \(before)) is below the \(needed) this run needs: raise the hard limit (ulimit -Hn)"
    }
    return "open-file limit \(now) (was \(before))"
}
