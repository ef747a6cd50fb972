//! The server's CPU time and memory, read from `/proc/<pid>` of each of its processes.

use serde::{Deserialize, Serialize};

/// One reading of the server processes, added up.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Seconds since the run started.
    pub t_s: f64,
    /// User plus system CPU seconds so far.
    pub cpu_s: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` of every pid; `None` when none can be read (no pids given, or
/// the processes are gone).
pub fn sample(pids: &[u32], t_s: f64) -> Option<Sample> {
    let tps = procfs::ticks_per_second() as f64;
    let page = procfs::page_size();
    let mut out = Sample {
        t_s,
        ..Sample::default()
    };
    let mut any = false;
    for &pid in pids {
        let Ok(pid) = i32::try_from(pid) else {
            continue;
        };
        let Ok(stat) = procfs::process::Process::new(pid).and_then(|p| p.stat()) else {
            continue;
        };
        any = true;
        out.cpu_s += (stat.utime + stat.stime) as f64 / tps;
        out.rss_bytes += stat.rss * page;
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let s = sample(&[me], 1.5).unwrap();
        assert_eq!(s.t_s, 1.5);
        assert!(
            s.rss_bytes > 1024 * 1024,
            "a test process holds more than 1 MiB"
        );
        let twice = sample(&[me, me], 0.0).unwrap();
        assert!(twice.rss_bytes >= s.rss_bytes, "pids add up");
        assert!(sample(&[], 0.0).is_none());
        assert!(sample(&[u32::MAX], 0.0).is_none(), "no such process");
    }
}
