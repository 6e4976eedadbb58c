//! The numbers of a comparison: per-group summaries, the difference of medians with a bootstrap
//! interval, and a one-line verdict.
//!
//! # Method
//!
//! - **Number summary** (reference §3.7): `count`, `min`, `median`, `max`, and `best` (the lowest
//!   or the highest, as the metric says). The median of an even count is the mean of the middle
//!   pair, as Python's `statistics.median` computes it (`(a + b) / 2`). No values: every field but
//!   `count` is `null`.
//! - **Effect**: the difference of medians, `median(harnessed) − median(plain)`, in the metric's
//!   own unit. Its sign alone says nothing about better or worse; the verdict reads it in the
//!   metric's direction.
//! - **Interval**: a percentile bootstrap. Each of [`BootstrapSettings::resamples`] rounds
//!   (10,000 by default) draws, with replacement, as many values from each group as it has,
//!   and records the difference of the two medians. The interval's ends are the
//!   `(1 − confidence) / 2` and `(1 + confidence) / 2` quantiles of those differences (95%:
//!   the 2.5% and 97.5% quantiles), by linear interpolation between order statistics (NumPy's
//!   default, Hyndman and Fan's type 7). Draws come from [`SplitMix64`] with a recorded seed
//!   ([`DEFAULT_SEED`] unless told), so the same values and seed give the same interval on any
//!   machine.
//! - **Verdict**: with fewer than [`MIN_VALID_PER_GROUP`] valid values in either group,
//!   `not enough valid trials` (and no interval: three values are the fewest whose bootstrap
//!   medians are not mostly the raw values). Otherwise the interval is read in the metric's
//!   direction: entirely on the better side of 0 is `harness better`, entirely on the worse side
//!   `harness worse`, and an interval that holds 0 (or touches it) `no clear difference`.
//!
//! Values must be finite: non-finite ones (Python's `inf` score of a failed run) are dropped
//! before anything is computed, so callers decide what an invalid trial counts as.
//!
//! The bootstrap with a handful of trials is rough: the interval is as wide as the trials are
//! noisy, and with 3 to 5 trials per group it tends to be too narrow rather than too wide. The
//! verdict is a summary for a person, not a significance test.

use serde::{Deserialize, Serialize};

use super::rng::SplitMix64;

/// The seed used when the caller does not choose one (any fixed value would do; this one is
/// below 2^53 so JSON readers that hold numbers as doubles keep it exact).
pub const DEFAULT_SEED: u64 = 0x5eed_2026;

/// Bootstrap rounds used when the caller does not choose.
pub const DEFAULT_RESAMPLES: u32 = 10_000;

/// The interval's coverage used when the caller does not choose.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// The fewest valid values each group needs before a verdict other than
/// [`Verdict::NotEnoughValidTrials`] is given.
pub const MIN_VALID_PER_GROUP: usize = 3;

/// Which end of a metric is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Lower is better (durations, cycles; the reference's default score direction).
    Lower,
    /// Higher is better (iterations completed, call counts, `--higher-is-better` scores).
    Higher,
}

impl Better {
    /// The direction of a score configured with `--higher-is-better` (or without).
    pub fn from_higher_is_better(higher_is_better: bool) -> Self {
        if higher_is_better {
            Better::Higher
        } else {
            Better::Lower
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn prefers(self, a: f64, b: f64) -> bool {
        match self {
            Better::Lower => a < b,
            Better::Higher => a > b,
        }
    }
}

/// `{count, min, median, max, best}` of one group's values (reference §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NumberSummary {
    /// How many values were summarised.
    pub count: usize,
    /// The smallest, or `null` without values.
    pub min: Option<f64>,
    /// The median (mean of the middle pair for an even count), or `null`.
    pub median: Option<f64>,
    /// The largest, or `null`.
    pub max: Option<f64>,
    /// `min` or `max`, whichever the direction prefers, or `null`.
    pub best: Option<f64>,
}

impl NumberSummary {
    /// Summarise `values` (non-finite ones dropped) with `best` taken in direction `better`.
    pub fn of(values: &[f64], better: Better) -> Self {
        let mut sorted = finite_sorted(values);
        let min = sorted.first().copied();
        let max = sorted.last().copied();
        NumberSummary {
            count: sorted.len(),
            min,
            median: median_of_sorted(&mut sorted),
            max,
            best: match better {
                Better::Lower => min,
                Better::Higher => max,
            },
        }
    }
}

/// The median of `values` (non-finite ones dropped): the middle value, or the mean of the middle
/// pair; `None` when nothing is left.
pub fn median(values: &[f64]) -> Option<f64> {
    median_of_sorted(&mut finite_sorted(values))
}

fn finite_sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn median_of_sorted(sorted: &mut [f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The one-line answer to "did the harness help?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The whole interval lies on the better side of zero.
    #[serde(rename = "harness better")]
    HarnessBetter,
    /// The interval holds zero.
    #[serde(rename = "no clear difference")]
    NoClearDifference,
    /// The whole interval lies on the worse side of zero.
    #[serde(rename = "harness worse")]
    HarnessWorse,
    /// A group has fewer than [`MIN_VALID_PER_GROUP`] valid values.
    #[serde(rename = "not enough valid trials")]
    NotEnoughValidTrials,
}

impl Verdict {
    /// The verdict as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::HarnessBetter => "harness better",
            Verdict::NoClearDifference => "no clear difference",
            Verdict::HarnessWorse => "harness worse",
            Verdict::NotEnoughValidTrials => "not enough valid trials",
        }
    }

    /// The verdict written as `text`, if it is one of the four.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Verdict::HarnessBetter,
            Verdict::NoClearDifference,
            Verdict::HarnessWorse,
            Verdict::NotEnoughValidTrials,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the interval is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSettings {
    /// Rounds of resampling.
    pub resamples: u32,
    /// The generator's seed.
    pub seed: u64,
    /// The interval's coverage, in `(0, 1)`.
    pub confidence: f64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            confidence: DEFAULT_CONFIDENCE,
        }
    }
}

/// Plain against harnessed on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupComparison {
    /// The answer.
    pub verdict: Verdict,
    /// `median(harnessed) − median(plain)`, when both groups have a value.
    pub difference_of_medians: Option<f64>,
    /// The bootstrap interval of that difference `[low, high]`, when both groups have at least
    /// [`MIN_VALID_PER_GROUP`] values.
    pub interval: Option<[f64; 2]>,
    /// The metric's direction.
    pub better: Better,
    /// How the interval was drawn.
    pub settings: BootstrapSettings,
    /// Finite values in the plain group.
    pub plain_count: usize,
    /// Finite values in the harnessed group.
    pub harnessed_count: usize,
}

/// Compare the two groups' valid values (module docs: method). Non-finite values are dropped.
pub fn compare_groups(
    plain: &[f64],
    harnessed: &[f64],
    better: Better,
    settings: BootstrapSettings,
) -> GroupComparison {
    let plain = finite_sorted(plain);
    let harnessed = finite_sorted(harnessed);
    let difference_of_medians = median(&harnessed).zip(median(&plain)).map(|(h, p)| h - p);
    let enough = plain.len() >= MIN_VALID_PER_GROUP && harnessed.len() >= MIN_VALID_PER_GROUP;
    let interval = enough.then(|| bootstrap_interval(&plain, &harnessed, settings));
    GroupComparison {
        verdict: interval.map_or(Verdict::NotEnoughValidTrials, |i| verdict_of(i, better)),
        difference_of_medians,
        interval,
        better,
        settings,
        plain_count: plain.len(),
        harnessed_count: harnessed.len(),
    }
}

/// The verdict an interval of `harnessed − plain` gives in direction `better`.
pub fn verdict_of(interval: [f64; 2], better: Better) -> Verdict {
    // Turn the interval into one of improvements: positive means the harness did better.
    let [low, high] = match better {
        Better::Higher => interval,
        Better::Lower => [-interval[1], -interval[0]],
    };
    if low > 0.0 {
        Verdict::HarnessBetter
    } else if high < 0.0 {
        Verdict::HarnessWorse
    } else {
        Verdict::NoClearDifference
    }
}

/// The percentile bootstrap interval of `median(harnessed) − median(plain)`; both slices
/// non-empty.
fn bootstrap_interval(plain: &[f64], harnessed: &[f64], settings: BootstrapSettings) -> [f64; 2] {
    let mut rng = SplitMix64::new(settings.seed);
    let rounds = settings.resamples.max(1) as usize;
    let mut differences = Vec::with_capacity(rounds);
    let mut buffer = Vec::with_capacity(plain.len().max(harnessed.len()));
    for _ in 0..rounds {
        let p = resampled_median(plain, &mut rng, &mut buffer);
        let h = resampled_median(harnessed, &mut rng, &mut buffer);
        differences.push(h - p);
    }
    differences.sort_by(f64::total_cmp);
    let tail = (1.0 - settings.confidence.clamp(0.0, 1.0)) / 2.0;
    [
        quantile(&differences, tail),
        quantile(&differences, 1.0 - tail),
    ]
}

fn resampled_median(values: &[f64], rng: &mut SplitMix64, buffer: &mut Vec<f64>) -> f64 {
    buffer.clear();
    buffer.extend((0..values.len()).map(|_| values[rng.below(values.len())]));
    buffer.sort_by(f64::total_cmp);
    median_of_sorted(buffer).unwrap_or(f64::NAN)
}

/// The `p` quantile of sorted, non-empty `sorted` by linear interpolation (type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let low = h.floor() as usize;
    let high = (low + 1).min(sorted.len() - 1);
    sorted[low] + (h - low as f64) * (sorted[high] - sorted[low])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_nothing_is_all_null_with_a_zero_count() {
        let s = NumberSummary::of(&[], Better::Lower);
        assert_eq!(
            serde_json::to_value(s).expect("serializes"),
            serde_json::json!({"count": 0, "min": null, "median": null, "max": null, "best": null})
        );
    }

    #[test]
    fn median_is_the_mean_of_the_middle_pair() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[f64::INFINITY, 1.0, f64::NAN]), Some(1.0));
    }

    #[test]
    fn best_follows_the_direction() {
        let values = [3.0, 9.0, 1.0, 4.0];
        let lower = NumberSummary::of(&values, Better::Lower);
        let higher = NumberSummary::of(&values, Better::Higher);
        assert_eq!(
            (lower.min, lower.max, lower.best),
            (Some(1.0), Some(9.0), Some(1.0))
        );
        assert_eq!(higher.best, Some(9.0));
        assert_eq!(lower.median, Some(3.5));
        assert_eq!(lower.count, 4);
    }

    #[test]
    fn fewer_than_three_valid_values_is_not_enough() {
        let c = compare_groups(
            &[1.0, 2.0],
            &[5.0, 6.0, 7.0],
            Better::Lower,
            BootstrapSettings::default(),
        );
        assert_eq!(c.verdict, Verdict::NotEnoughValidTrials);
        assert_eq!(c.difference_of_medians, Some(4.5));
        assert_eq!(c.interval, None);
        let none = compare_groups(&[], &[1.0], Better::Lower, BootstrapSettings::default());
        assert_eq!(none.difference_of_medians, None);
        let inf = compare_groups(
            &[1.0, 2.0, f64::INFINITY],
            &[1.0, 2.0, 3.0],
            Better::Lower,
            BootstrapSettings::default(),
        );
        assert_eq!(inf.verdict, Verdict::NotEnoughValidTrials);
        assert_eq!(inf.plain_count, 2);
    }

    #[test]
    fn a_clear_gap_is_read_in_the_metric_direction() {
        let plain = [100.0, 104.0, 98.0, 101.0, 103.0];
        let harnessed = [60.0, 62.0, 59.0, 64.0, 61.0];
        let lower = compare_groups(
            &plain,
            &harnessed,
            Better::Lower,
            BootstrapSettings::default(),
        );
        assert_eq!(lower.verdict, Verdict::HarnessBetter);
        assert_eq!(lower.difference_of_medians, Some(-40.0));
        let [low, high] = lower.interval.expect("an interval");
        assert!(low <= -40.0, "{low} {high}");
        assert!((-40.0..0.0).contains(&high), "{low} {high}");
        let higher = compare_groups(
            &plain,
            &harnessed,
            Better::Higher,
            BootstrapSettings::default(),
        );
        assert_eq!(higher.verdict, Verdict::HarnessWorse);
        assert_eq!(higher.interval, lower.interval);
    }

    #[test]
    fn overlapping_groups_give_no_clear_difference() {
        let plain = [10.0, 12.0, 14.0, 11.0, 13.0];
        let harnessed = [11.0, 13.0, 10.0, 14.0, 12.5];
        let c = compare_groups(
            &plain,
            &harnessed,
            Better::Lower,
            BootstrapSettings::default(),
        );
        assert_eq!(c.verdict, Verdict::NoClearDifference);
        let [low, high] = c.interval.expect("an interval");
        assert!(low <= 0.0 && 0.0 <= high);
    }

    #[test]
    fn identical_constant_groups_touch_zero_and_are_no_clear_difference() {
        let c = compare_groups(
            &[5.0; 3],
            &[5.0; 3],
            Better::Higher,
            BootstrapSettings::default(),
        );
        assert_eq!(c.interval, Some([0.0, 0.0]));
        assert_eq!(c.verdict, Verdict::NoClearDifference);
    }

    #[test]
    fn the_same_seed_gives_the_same_interval_and_another_seed_may_not() {
        let plain = [3.0, 8.0, 5.0, 9.0, 4.0, 7.0];
        let harnessed = [2.0, 6.0, 3.5, 8.0, 1.0];
        let run = |seed, resamples| {
            let settings = BootstrapSettings {
                seed,
                resamples,
                ..BootstrapSettings::default()
            };
            compare_groups(&plain, &harnessed, Better::Lower, settings).interval
        };
        assert_eq!(run(DEFAULT_SEED, 10_000), run(DEFAULT_SEED, 10_000));
        // With few rounds the quantiles still move with the draws: the seed is what fixes them.
        assert!((1..10).any(|seed| run(seed, 40) != run(DEFAULT_SEED, 40)));
        // Pinned: a change to the generator, the draws or the quantile changes recorded reports.
        assert_eq!(run(DEFAULT_SEED, 10_000), Some([-6.0, 2.5]));
    }

    #[test]
    fn quantile_interpolates_between_order_statistics() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&sorted, 0.0), 1.0);
        assert_eq!(quantile(&sorted, 1.0), 5.0);
        assert_eq!(quantile(&sorted, 0.5), 3.0);
        assert_eq!(quantile(&sorted, 0.1), 1.4);
    }

    #[test]
    fn verdicts_round_trip_through_their_text() {
        for v in [
            Verdict::HarnessBetter,
            Verdict::NoClearDifference,
            Verdict::HarnessWorse,
            Verdict::NotEnoughValidTrials,
        ] {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).expect("serializes"),
                serde_json::json!(v.as_str())
            );
        }
        assert_eq!(Verdict::parse("better"), None);
    }
}
