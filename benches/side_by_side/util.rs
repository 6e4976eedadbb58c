//! Small pieces shared by every row: errors with context, samples and their medians, units.

use std::fmt::Display;
use std::time::Duration;

/// Every failure of the bench is one line of text with its context.
pub type BenchResult<T> = Result<T, String>;

/// Adds what was being done to an error.
pub trait Ctx<T> {
    /// `what: error`.
    fn ctx(self, what: &str) -> BenchResult<T>;
}

impl<T, E: Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> BenchResult<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Ctx<T> for Option<T> {
    fn ctx(self, what: &str) -> BenchResult<T> {
        self.ok_or_else(|| format!("{what}: missing"))
    }
}

/// Repeated measurements of one quantity (seconds or bytes).
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Add one measurement.
    pub fn push(&mut self, value: f64) {
        self.0.push(value);
    }

    /// Add a duration, in seconds.
    pub fn push_time(&mut self, value: Duration) {
        self.0.push(value.as_secs_f64());
    }

    fn sorted(&self) -> Vec<f64> {
        let mut values = self.0.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    /// The median (the mean of the middle two for an even count); NaN when empty.
    pub fn median(&self) -> f64 {
        let values = self.sorted();
        let n = values.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }

    /// Smallest and largest.
    pub fn range(&self) -> (f64, f64) {
        let values = self.sorted();
        (
            values.first().copied().unwrap_or(f64::NAN),
            values.last().copied().unwrap_or(f64::NAN),
        )
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// `1.23 s` (or `45 ms` below a tenth of a second).
pub fn secs(value: f64) -> String {
    if value.is_nan() {
        "–".to_string()
    } else if value < 0.1 {
        format!("{:.0} ms", value * 1000.0)
    } else {
        format!("{value:.2} s")
    }
}

/// The median in seconds with the range of the samples: `1.23 s (1.10–1.40)`.
pub fn secs_range(samples: &Samples) -> String {
    let (lo, hi) = samples.range();
    format!("{} ({:.2}–{:.2})", secs(samples.median()), lo, hi)
}

/// Bytes in MiB: `+349 MiB`.
pub fn mib(value: f64) -> String {
    if value.is_nan() {
        "–".to_string()
    } else {
        format!("{:+.0} MiB", value / (1024.0 * 1024.0))
    }
}

/// A ratio: `0.42×`.
pub fn ratio(value: f64) -> String {
    if value.is_nan() || value.is_infinite() {
        "–".to_string()
    } else {
        format!("{value:.2}×")
    }
}
