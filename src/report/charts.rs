//! The report's charts, each a function from plain numbers to one `<svg>` element: score per
//! iteration, phase durations as stacked bars, per-group strips of values, and the verdict's
//! interval. Every chart has a fixed size, so a page lays out before it is read, and draws a
//! message instead of axes when it has nothing to show.

use super::stats::Better;
use super::svg::{self, Anchor, GRID, INK, Scale, Svg, fill, nice_ticks, stroke};
use super::text;

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 760;

/// Colours of the phases in stacked bars (Tableau 10).
pub const PHASE_COLOURS: [(&str, &str); 6] = [
    ("attempt", "#4e79a7"),
    ("reflection", "#f28e2b"),
    ("build", "#59a14f"),
    ("repair", "#edc948"),
    ("qualification", "#b07aa1"),
    ("post-attempt", "#76b7b2"),
];

/// Colour of scores and of the harnessed group.
pub const BLUE: &str = "#4e79a7";
/// Colour of the plain group.
pub const ORANGE: &str = "#f28e2b";
/// Colour of marks that call attention (the best score).
pub const RED: &str = "#e15759";

/// The plot area inside a chart's margins.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Frame {
    fn new(width: u32, height: u32, margins: [f64; 4]) -> Self {
        let [top, right, bottom, left] = margins;
        Frame {
            left,
            top,
            width: f64::from(width) - left - right,
            height: f64::from(height) - top - bottom,
        }
    }

    fn right(&self) -> f64 {
        self.left + self.width
    }

    fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// Horizontal grid lines and labels for `ticks` on the left axis, and the axis title.
    fn y_axis(&self, svg: &mut Svg, ticks: &[f64], step: f64, scale: Scale, title: &str) {
        for (&tick, label) in ticks.iter().zip(svg::tick_labels(ticks, step)) {
            let y = scale.at(tick);
            svg.line(self.left, y, self.right(), y, stroke(GRID, 1.0));
            svg.text(self.left - 6.0, y + 4.0, Anchor::End, 11, INK, &label);
        }
        svg.line(
            self.left,
            self.top,
            self.left,
            self.bottom(),
            stroke(INK, 1.0),
        );
        svg.vertical_text(16.0, self.top + self.height / 2.0, title);
    }

    /// Tick labels under the plot for horizontal scale `x`, the axis line, and with `grid`
    /// vertical grid lines.
    fn x_axis(&self, svg: &mut Svg, ticks: &[f64], step: f64, x: Scale, grid: bool) {
        for (&tick, label) in ticks.iter().zip(svg::tick_labels(ticks, step)) {
            let px = x.at(tick);
            if grid {
                svg.line(px, self.top, px, self.bottom(), stroke(GRID, 1.0));
            }
            svg.text(px, self.bottom() + 16.0, Anchor::Middle, 11, INK, &label);
        }
        let y = self.bottom();
        svg.line(self.left, y, self.right(), y, stroke(INK, 1.0));
    }

    /// The centre of band `i` (0-based) of `n` equal bands across the width.
    fn band(&self, i: usize, n: usize) -> f64 {
        self.left + (i as f64 + 0.5) * self.width / n.max(1) as f64
    }

    /// Labels under the bands (every `every`-th), the baseline and the axis title.
    fn x_bands(&self, svg: &mut Svg, labels: &[String], title: &str) {
        let every = labels.len().div_ceil(20).max(1);
        for (i, label) in labels.iter().enumerate() {
            if i % every == 0 || i + 1 == labels.len() {
                let x = self.band(i, labels.len());
                svg.text(x, self.bottom() + 16.0, Anchor::Middle, 11, INK, label);
            }
        }
        let y = self.bottom();
        svg.line(self.left, y, self.right(), y, stroke(INK, 1.0));
        let middle = self.left + self.width / 2.0;
        svg.text(middle, self.bottom() + 36.0, Anchor::Middle, 12, INK, title);
    }
}

/// A chart with only a message, for when there is nothing to draw.
fn empty(title: &str, height: u32, message: &str) -> String {
    let mut svg = Svg::new(WIDTH, height, title);
    let (x, y) = (f64::from(WIDTH) / 2.0, f64::from(height) / 2.0);
    svg.text(x, y, Anchor::Middle, 14, "#777777", message);
    svg.finish()
}

/// The scores of one run, for [`score_chart`].
#[derive(Debug, Clone)]
pub struct ScoreSeries {
    /// How many iterations the x axis shows (1..=n).
    pub iterations: u32,
    /// `(iteration, score)` of the scored iterations.
    pub points: Vec<(u32, f64)>,
    /// The baseline's score, drawn as a horizontal line.
    pub baseline: Option<f64>,
    /// The run's best score.
    pub best: Option<f64>,
    /// Where the best is: `Some(0)` the baseline, `Some(i)` iteration `i`, `None` the first
    /// point holding the best score.
    pub best_iteration: Option<u32>,
    /// The score's direction.
    pub better: Better,
    /// The score key, for the axis title.
    pub key: String,
}

/// Score per iteration: points joined by a line, the baseline as a dashed line, the best marked.
pub fn score_chart(series: &ScoreSeries) -> String {
    const TITLE: &str = "Score per iteration";
    let mut values: Vec<f64> = series.points.iter().map(|p| p.1).collect();
    values.extend(series.baseline);
    let (Some(lo), Some(hi)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        let message = format!("no scores recorded (score key `{}`)", series.key);
        return empty(TITLE, 140, &message);
    };
    let mut svg = Svg::new(WIDTH, 320, TITLE);
    let frame = Frame::new(WIDTH, 320, [20.0, 150.0, 50.0, 80.0]);
    let (ticks, step) = nice_ticks(lo, hi, 5);
    let y = Scale {
        domain: (ticks[0], ticks[ticks.len() - 1]),
        range: (frame.bottom(), frame.top),
    };
    let direction = match series.better {
        Better::Lower => "lower is better",
        Better::Higher => "higher is better",
    };
    let n = series.iterations.max(1) as usize;
    frame.y_axis(
        &mut svg,
        &ticks,
        step,
        y,
        &format!("{} ({direction})", series.key),
    );
    let labels: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    frame.x_bands(&mut svg, &labels, "iteration");
    let x = |i: u32| frame.band(i.saturating_sub(1) as usize, n);
    if let Some(base) = series.baseline {
        draw_baseline(&mut svg, frame, y.at(base), series, base);
    }
    let mut points = series.points.clone();
    points.sort_by_key(|p| p.0);
    let line: Vec<(f64, f64)> = points.iter().map(|&(i, s)| (x(i), y.at(s))).collect();
    svg.polyline(&line, stroke(BLUE, 2.0));
    for &(i, s) in &points {
        let tip = format!("iteration {i}: {}", text::number(s));
        svg.circle(x(i), y.at(s), 4.5, fill(BLUE), Some(&tip));
    }
    let best = points.iter().find(|p| match series.best_iteration {
        Some(i) => p.0 == i,
        None => Some(p.1) == series.best,
    });
    if let Some(&(i, s)) = best {
        let ring = svg::Paint {
            stroke: Some(RED),
            width: Some(2.5),
            ..svg::Paint::default()
        };
        let tip = format!("best: iteration {i}, {}", text::number(s));
        svg.circle(x(i), y.at(s), 9.0, ring, Some(&tip));
        svg.text(x(i), y.at(s) - 13.0, Anchor::Middle, 11, RED, "best");
    }
    svg.finish()
}

/// The baseline as a dashed line at `y`, labelled on the right (`baseline (best)` when no
/// iteration beat it).
fn draw_baseline(svg: &mut Svg, frame: Frame, y: f64, series: &ScoreSeries, base: f64) {
    let dashed = svg::Paint {
        dash: Some("6 4"),
        ..stroke("#777777", 1.5)
    };
    svg.line(frame.left, y, frame.right(), y, dashed);
    let best_is_base = match series.best_iteration {
        Some(i) => i == 0,
        None => {
            series.best == Some(base) && !series.points.iter().any(|p| Some(p.1) == series.best)
        }
    };
    let label = if best_is_base {
        "baseline (best)"
    } else {
        "baseline"
    };
    let label = format!("{label} {}", text::number(base));
    svg.text(frame.right() + 6.0, y + 4.0, Anchor::Start, 11, INK, &label);
}

/// One stacked bar: an iteration's phase durations, in chart order.
#[derive(Debug, Clone)]
pub struct PhaseBar {
    /// The iteration.
    pub iteration: u32,
    /// `(phase, seconds)`; phases named as in [`PHASE_COLOURS`].
    pub parts: Vec<(&'static str, f64)>,
}

fn phase_colour(name: &str) -> &'static str {
    PHASE_COLOURS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("#bab0ac", |(_, c)| c)
}

/// Phase durations per iteration as stacked bars, with a legend of the phases present.
pub fn phase_chart(bars: &[PhaseBar]) -> String {
    const TITLE: &str = "Phase durations per iteration";
    let total = |b: &PhaseBar| b.parts.iter().map(|p| p.1.max(0.0)).sum::<f64>();
    let max = bars.iter().map(total).fold(0.0, f64::max);
    if bars.is_empty() {
        return empty(TITLE, 140, "no phase durations recorded");
    }
    let mut svg = Svg::new(WIDTH, 320, TITLE);
    let frame = Frame::new(WIDTH, 320, [40.0, 30.0, 50.0, 80.0]);
    let (ticks, step) = nice_ticks(0.0, max.max(f64::MIN_POSITIVE), 5);
    let y = Scale {
        domain: (0.0, ticks[ticks.len() - 1]),
        range: (frame.bottom(), frame.top),
    };
    frame.y_axis(&mut svg, &ticks, step, y, "seconds");
    let labels: Vec<String> = bars.iter().map(|b| b.iteration.to_string()).collect();
    frame.x_bands(&mut svg, &labels, "iteration");
    let band = frame.width / bars.len() as f64;
    let bar_width = (band * 0.6).min(60.0);
    for (i, bar) in bars.iter().enumerate() {
        let mut base = 0.0;
        for &(name, seconds) in &bar.parts {
            let seconds = seconds.max(0.0);
            let (top, bottom) = (y.at(base + seconds), y.at(base));
            let tip = format!(
                "iteration {}, {name}: {}",
                bar.iteration,
                text::seconds(Some(seconds))
            );
            let x = frame.band(i, bars.len()) - bar_width / 2.0;
            svg.rect(
                x,
                top,
                bar_width,
                bottom - top,
                fill(phase_colour(name)),
                Some(&tip),
            );
            base += seconds;
        }
    }
    legend(&mut svg, bars, frame.left);
    svg.finish()
}

fn legend(svg: &mut Svg, bars: &[PhaseBar], left: f64) {
    let mut x = left;
    for (name, colour) in PHASE_COLOURS {
        if bars.iter().any(|b| b.parts.iter().any(|p| p.0 == name)) {
            svg.rect(x, 12.0, 12.0, 12.0, fill(colour), None);
            svg.text(x + 16.0, 22.0, Anchor::Start, 12, INK, name);
            x += 28.0 + 7.0 * name.len() as f64;
        }
    }
}

/// One group's values, for [`strip_chart`].
#[derive(Debug, Clone)]
pub struct Strip {
    /// The group's name.
    pub name: String,
    /// Its colour.
    pub colour: &'static str,
    /// `(value, hover text)` of each valid value.
    pub points: Vec<(f64, String)>,
    /// A note under the name (`3 trials, 1 invalid`).
    pub note: String,
}

/// One row per group: every value as a point, the min–max range as a line, the median as a
/// tick. Points are spread vertically by a fixed pattern so equal values stay visible.
pub fn strip_chart(title: &str, axis: &str, strips: &[Strip]) -> String {
    let values: Vec<f64> = strips
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let height = 90 + 80 * strips.len().max(1) as u32;
    let (Some(lo), Some(hi)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return empty(title, 140, "no valid values to show");
    };
    let mut svg = Svg::new(WIDTH, height, title);
    let frame = Frame::new(WIDTH, height, [20.0, 30.0, 60.0, 170.0]);
    let (ticks, step) = nice_ticks(lo, hi, 6);
    let x = Scale {
        domain: (ticks[0], ticks[ticks.len() - 1]),
        range: (frame.left, frame.right()),
    };
    frame.x_axis(&mut svg, &ticks, step, x, true);
    let middle = frame.left + frame.width / 2.0;
    svg.text(middle, frame.bottom() + 38.0, Anchor::Middle, 12, INK, axis);
    let row = frame.height / strips.len().max(1) as f64;
    for (r, strip) in strips.iter().enumerate() {
        let cy = frame.top + (r as f64 + 0.5) * row;
        svg.text(
            frame.left - 12.0,
            cy - 2.0,
            Anchor::End,
            13,
            INK,
            &strip.name,
        );
        svg.text(
            frame.left - 12.0,
            cy + 14.0,
            Anchor::End,
            11,
            "#777777",
            &strip.note,
        );
        draw_strip(&mut svg, strip, x, cy);
    }
    svg.finish()
}

fn draw_strip(svg: &mut Svg, strip: &Strip, x: Scale, cy: f64) {
    let values: Vec<f64> = strip.points.iter().map(|p| p.0).collect();
    let (Some(min), Some(max)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return;
    };
    svg.line(x.at(min), cy, x.at(max), cy, stroke(strip.colour, 1.5));
    if let Some(median) = super::stats::median(&values) {
        let px = x.at(median);
        svg.line(px, cy - 20.0, px, cy + 20.0, stroke(INK, 2.5));
    }
    for (i, (value, tip)) in strip.points.iter().enumerate() {
        // The golden-ratio sequence spreads points evenly and the same way every time.
        let offset = ((i as f64 * 0.618_034).fract() - 0.5) * 26.0;
        let paint = svg::Paint {
            fill: Some(strip.colour),
            stroke: Some("#ffffff"),
            width: Some(1.0),
            dash: None,
        };
        svg.circle(x.at(*value), cy + offset, 6.0, paint, Some(tip));
    }
}

/// The verdict's interval on the axis of `harnessed − plain`, with zero marked and the better
/// side named.
pub fn interval_chart(
    difference: Option<f64>,
    interval: Option<[f64; 2]>,
    better: Better,
) -> String {
    const TITLE: &str = "Difference of medians (harnessed − plain) with its interval";
    let Some(difference) = difference else {
        return empty(TITLE, 90, "no difference: a group has no valid value");
    };
    // Symmetric around zero, so both sides (and their labels) have room.
    let reach = interval
        .iter()
        .flatten()
        .chain([&difference])
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let (lo, hi) = (-reach, reach);
    let mut svg = Svg::new(WIDTH, 130, TITLE);
    let frame = Frame::new(WIDTH, 130, [30.0, 40.0, 40.0, 40.0]);
    let (ticks, step) = nice_ticks(lo, hi, 6);
    let x = Scale {
        domain: (ticks[0], ticks[ticks.len() - 1]),
        range: (frame.left, frame.right()),
    };
    frame.x_axis(&mut svg, &ticks, step, x, false);
    draw_zero(&mut svg, frame, x.at(0.0), better);
    let cy = frame.top + frame.height / 2.0 + 6.0;
    if let Some([low, high]) = interval {
        let tip = format!("interval [{}, {}]", text::number(low), text::number(high));
        let bar = x.at(high) - x.at(low);
        svg.rect(
            x.at(low),
            cy - 5.0,
            bar.max(2.0),
            10.0,
            fill("#a0cbe8"),
            Some(&tip),
        );
    }
    let tip = format!("difference of medians {}", text::number(difference));
    svg.circle(x.at(difference), cy, 6.0, fill(BLUE), Some(&tip));
    svg.finish()
}

/// The zero line of the interval chart, with the better and worse sides named.
fn draw_zero(svg: &mut Svg, frame: Frame, zero: f64, better: Better) {
    let dashed = svg::Paint {
        dash: Some("4 3"),
        ..stroke("#777777", 1.5)
    };
    svg.line(zero, frame.top - 10.0, zero, frame.bottom(), dashed);
    let (left, right) = match better {
        Better::Lower => ("← harness better", "harness worse →"),
        Better::Higher => ("← harness worse", "harness better →"),
    };
    let y = frame.top - 12.0;
    svg.text(zero - 8.0, y, Anchor::End, 11, "#777777", left);
    svg.text(zero + 8.0, y, Anchor::Start, 11, "#777777", right);
}
