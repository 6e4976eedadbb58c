//! A small SVG writer for the report's charts: shapes with presentation attributes (so a chart
//! looks the same outside the page), text escaped, coordinates written with one decimal so the
//! same data always gives the same bytes, and linear axes with "nice" ticks (steps of 1, 2 or 5
//! times a power of ten).

use std::fmt::Write as _;

/// The font every chart uses.
pub const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
/// Axis and label grey.
pub const INK: &str = "#333333";
/// Grid lines.
pub const GRID: &str = "#e3e3e3";

/// `text` made safe inside XML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even as references.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// How a text is anchored at its x.
#[derive(Debug, Clone, Copy)]
pub enum Anchor {
    /// Left edge at x.
    Start,
    /// Centre at x.
    Middle,
    /// Right edge at x.
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// Fill, stroke and the like, written as attributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paint<'a> {
    /// Fill colour (`none` when absent).
    pub fill: Option<&'a str>,
    /// Stroke colour.
    pub stroke: Option<&'a str>,
    /// Stroke width.
    pub width: Option<f64>,
    /// Dash pattern (`4 3`).
    pub dash: Option<&'a str>,
}

impl Paint<'_> {
    fn attributes(&self) -> String {
        let mut out = format!(" fill=\"{}\"", escape(self.fill.unwrap_or("none")));
        if let Some(stroke) = self.stroke {
            let _ = write!(out, " stroke=\"{}\"", escape(stroke));
        }
        if let Some(width) = self.width {
            let _ = write!(out, " stroke-width=\"{width:.1}\"");
        }
        if let Some(dash) = self.dash {
            let _ = write!(out, " stroke-dasharray=\"{}\"", escape(dash));
        }
        out
    }
}

/// A filled shape.
pub fn fill(colour: &str) -> Paint<'_> {
    Paint {
        fill: Some(colour),
        ..Paint::default()
    }
}

/// A stroked line.
pub fn stroke(colour: &str, width: f64) -> Paint<'_> {
    Paint {
        stroke: Some(colour),
        width: Some(width),
        ..Paint::default()
    }
}

/// One `<svg>` element being written.
#[derive(Debug)]
pub struct Svg {
    out: String,
}

impl Svg {
    /// An SVG of `width` × `height` pixels whose accessible name is `title`.
    pub fn new(width: u32, height: u32, title: &str) -> Self {
        let title = escape(title);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title}\" font-family=\"{}\" font-size=\"12\">",
            escape(FONT)
        );
        let _ = write!(
            out,
            "<title>{title}</title><rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        Svg { out }
    }

    /// A line from `(x1, y1)` to `(x2, y2)`.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, paint: Paint<'_>) {
        let _ = write!(
            self.out,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"{}/>",
            paint.attributes()
        );
    }

    /// A rectangle; `tip` shows on hover.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, paint: Paint<'_>, tip: Option<&str>) {
        let _ = write!(
            self.out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"{}",
            w.max(0.0),
            h.max(0.0),
            paint.attributes()
        );
        self.close("rect", tip);
    }

    /// A circle; `tip` shows on hover.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, paint: Paint<'_>, tip: Option<&str>) {
        let _ = write!(
            self.out,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\"{}",
            paint.attributes()
        );
        self.close("circle", tip);
    }

    /// A polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], paint: Paint<'_>) {
        if points.len() < 2 {
            return;
        }
        let coords: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            self.out,
            "<polyline points=\"{}\"{}/>",
            coords.join(" "),
            paint.attributes()
        );
    }

    /// Text at `(x, y)` (its baseline), escaped.
    pub fn text(&mut self, x: f64, y: f64, anchor: Anchor, size: u32, colour: &str, text: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{}\" font-size=\"{size}\" fill=\"{}\">{}</text>",
            anchor.name(),
            escape(colour),
            escape(text)
        );
    }

    /// Text rotated a quarter turn counter-clockwise around `(x, y)` (a y-axis label).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" fill=\"{INK}\" transform=\"rotate(-90 {x:.1} {y:.1})\">{}</text>",
            escape(text)
        );
    }

    fn close(&mut self, element: &str, tip: Option<&str>) {
        match tip {
            Some(tip) => {
                let _ = write!(self.out, "><title>{}</title></{element}>", escape(tip));
            }
            None => self.out.push_str("/>"),
        }
    }

    /// The finished element.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Data interval.
    pub domain: (f64, f64),
    /// Pixel interval (may run backwards: y grows downwards).
    pub range: (f64, f64),
}

impl Scale {
    /// The pixel of `value`.
    pub fn at(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// Ticks covering `[lo, hi]` with about `target` steps of 1, 2 or 5 × 10^k: the ticks and the
/// step. The first tick is at or below `lo`, the last at or above `hi`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let (lo, hi) = if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, step)
}

/// Labels for `ticks` spaced by `step`: one unit for the whole axis (`M` from a million, `k`
/// from ten thousand, none below), as many decimals as the step needs in that unit, and `0`
/// for zero.
pub fn tick_labels(ticks: &[f64], step: f64) -> Vec<String> {
    let largest = ticks.iter().fold(0.0_f64, |m, t| m.max(t.abs()));
    let (unit, suffix) = if largest >= 1e6 {
        (1e6, "M")
    } else if largest >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let step = step / unit;
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).max(0.0) as usize
    };
    ticks
        .iter()
        .map(|&tick| {
            if tick.abs() < step * unit * 1e-9 {
                return "0".to_string();
            }
            format!("{:.decimals$}{suffix}", tick / unit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>\u{1b}"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;\u{fffd}"
        );
        let mut svg = Svg::new(10, 10, "t</title><script>");
        svg.text(
            1.0,
            2.0,
            Anchor::Start,
            12,
            INK,
            "</text><script>x</script>",
        );
        svg.rect(0.0, 0.0, 1.0, 1.0, fill("red"), Some("</title>"));
        let out = svg.finish();
        assert!(!out.contains("<script"), "{out}");
        assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(out.contains("width=\"10\" height=\"10\""));
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        let (ticks, step) = nice_ticks(3.0, 97.0, 5);
        assert_eq!(step, 20.0);
        assert_eq!(ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let (ticks, step) = nice_ticks(243_715.0, 3_052_226.0, 5);
        assert_eq!(step, 1_000_000.0);
        assert_eq!(ticks.first(), Some(&0.0));
        assert_eq!(ticks.last(), Some(&4_000_000.0));
        let (ticks, _) = nice_ticks(5.0, 5.0, 4);
        assert!(
            ticks.first().is_some_and(|t| *t <= 4.5) && ticks.last().is_some_and(|t| *t >= 5.5)
        );
        let (ticks, _) = nice_ticks(0.0, 0.0, 4);
        assert!(ticks.len() >= 2);
    }

    #[test]
    fn tick_labels_share_one_unit_per_axis() {
        assert_eq!(
            tick_labels(&[0.0, 1e6, 2e6, 3e6], 1e6),
            vec!["0", "1M", "2M", "3M"]
        );
        assert_eq!(
            tick_labels(&[2e6, 2.5e6, 3e6], 5e5),
            vec!["2.0M", "2.5M", "3.0M"]
        );
        assert_eq!(
            tick_labels(&[0.0, 5e3, 1e4, 1.5e4], 5e3),
            vec!["0", "5k", "10k", "15k"]
        );
        assert_eq!(
            tick_labels(&[0.0, 0.05, 0.1], 0.05),
            vec!["0", "0.05", "0.10"]
        );
        assert_eq!(
            tick_labels(&[-0.2, -0.1, 0.0, 0.1], 0.1),
            vec!["-0.2", "-0.1", "0", "0.1"]
        );
        assert_eq!(tick_labels(&[0.0, 20.0, 40.0], 20.0), vec!["0", "20", "40"]);
    }

    #[test]
    fn a_scale_maps_ends_to_ends() {
        let s = Scale {
            domain: (0.0, 10.0),
            range: (200.0, 0.0),
        };
        assert_eq!(s.at(0.0), 200.0);
        assert_eq!(s.at(10.0), 0.0);
        assert_eq!(s.at(5.0), 100.0);
    }
}
