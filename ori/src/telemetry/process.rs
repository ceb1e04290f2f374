//! The process's own figures, read from `/proc` (Linux; elsewhere `None`):
//! what a leak shows in first.

/// Resident memory, in bytes (`VmRSS` of `/proc/self/status`).
pub(crate) fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Open file descriptors (entries of `/proc/self/fd`, less the one reading it).
pub(crate) fn open_fds() -> Option<usize> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count().saturating_sub(1))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_figures_follow_what_the_process_holds() {
        // Other tests run in parallel and open files too: a margin.
        let before = open_fds().unwrap();
        let files: Vec<_> = (0..100).map(|_| std::fs::File::open("/proc/self/status").unwrap()).collect();
        let held = open_fds().unwrap();
        assert!(held >= before + 90, "{before} then {held} with 100 files open");
        drop(files);
        let after = open_fds().unwrap();
        assert!(after + 90 <= held, "{held} then {after} with 100 files closed");

        let rss = resident_memory_bytes().unwrap();
        let held = vec![1u8; 64 << 20];
        let grown = resident_memory_bytes().unwrap();
        assert!(grown >= rss + (60 << 20), "{rss} then {grown} with 64 MiB touched");
        drop(held);
    }
}
