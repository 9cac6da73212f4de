//! Small statistics over wall-time samples.

use std::time::Duration;

/// A labelled sample.
pub type Sample = (String, Duration);

/// Median (upper median for even counts); zero for no samples.
pub fn median(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// 95th percentile (nearest rank).
pub fn p95(samples: &[Duration]) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((v.len() as f64) * 0.95).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// A duration for a table cell: `812 ms`, or `1.25 s` from one second on.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// The machine a figure was measured on, for the line above a table: CPU model, cores and
/// the PostgreSQL server version (`AMD EPYC, 2 cores, postgres (PostgreSQL) 15.18`).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pg = pgcluster::find_bindir(None)
        .ok()
        .and_then(|b| {
            std::process::Command::new(b.join("postgres"))
                .arg("--version")
                .output()
                .ok()
        })
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {pg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p95() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|x| Duration::from_millis(*x))
                .collect::<Vec<_>>()
        };
        assert_eq!(median(&ms(&[3, 1, 2])), Duration::from_millis(2));
        assert_eq!(
            p95(&ms(&(1..=100).collect::<Vec<_>>())),
            Duration::from_millis(95)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
