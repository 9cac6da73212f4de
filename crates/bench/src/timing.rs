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
