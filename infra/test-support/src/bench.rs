//! What the latency benches print beside criterion's figures: percentiles of sequential samples.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// The sample at index `len × q` of the sorted samples (none: all zero), as the benches
    /// have always reported them, so figures compare across sessions.
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort();
        let at = |q: f64| {
            let index = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
            samples.get(index).copied().unwrap_or_default()
        };
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:?}, p99 {:?}, max {:?}",
            self.p50, self.p99, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_samples() {
        let samples = (1..=100).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(samples);
        assert_eq!(p.p50, Duration::from_millis(51));
        assert_eq!(p.p99, Duration::from_millis(100));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()).max, Duration::ZERO);
    }
}
