//! The HTML reports in a real browser: headless Chromium renders a run report (the optimization
//! fixture) and a compare report to PNG at 1200×2000, and its DOM must hold the charts as SVG
//! elements with a non-zero size.
//!
//! Needs Debian's `chromium` package (`.ci/run` installs it; `apt-get install -y chromium`).
//! `HARNESSGYM_CHROMIUM` names another binary. Missing, the test fails: it never skips.

mod report_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report_common::{OPTIMIZE, Workspace, ok};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 2000;

fn chromium() -> String {
    let binary = std::env::var("HARNESSGYM_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "this test renders the HTML report with headless Chromium, and `{binary}` did not run: \
         install Debian's package (`sudo apt-get install -y chromium`, as .ci/run does) or set \
         HARNESSGYM_CHROMIUM to a Chromium binary"
    );
    binary
}

/// Run headless Chromium on `page` with `mode` (`--screenshot=...` or `--dump-dom`), killing it
/// after a minute; its stdout.
fn headless(binary: &str, profile: &Path, mode: &str, page: &Path) -> String {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--force-device-scale-factor=1",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--window-size={WIDTH},{HEIGHT}"),
            mode,
            &format!("file://{}", page.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium {mode} exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium {mode} on {} took more than a minute",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader")
}

/// The width and height in a PNG's header (signature, then the IHDR chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("the screenshot exists");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (word(16), word(20))
}

/// Every `<svg ...>` start tag's width and height attributes in the rendered DOM.
fn svg_sizes(dom: &str) -> Vec<(f64, f64)> {
    dom.split("<svg")
        .skip(1)
        .map(|rest| {
            let tag = rest.split('>').next().unwrap_or_default();
            let attribute = |name: &str| -> f64 {
                let start = tag
                    .find(&format!(" {name}=\""))
                    .unwrap_or_else(|| panic!("an svg without {name}: <svg{tag}>"))
                    + name.len()
                    + 3;
                let end = tag[start..].find('"').expect("closed") + start;
                tag[start..end].parse().expect("a number")
            };
            (attribute("width"), attribute("height"))
        })
        .collect()
}

fn render_and_check(binary: &str, page: &Path, charts: usize) {
    let dir = page.parent().expect("dir");
    let profile = dir.join("chromium-profile");
    let png: PathBuf = page.with_extension("png");
    headless(
        binary,
        &profile,
        &format!("--screenshot={}", png.display()),
        page,
    );
    assert_eq!(png_size(&png), (WIDTH, HEIGHT), "{}", png.display());
    let size = std::fs::metadata(&png).expect("png").len();
    assert!(
        size > 20_000,
        "a {size}-byte screenshot is too small to show charts"
    );

    let dom = headless(binary, &profile, "--dump-dom", page);
    assert!(dom.contains("</html>"), "no DOM dumped:\n{dom}");
    let sizes = svg_sizes(&dom);
    assert_eq!(sizes.len(), charts, "charts in {}", page.display());
    for (width, height) in sizes {
        assert!(
            width > 0.0 && height > 0.0,
            "an empty chart: {width}×{height}"
        );
    }
    for shape in ["<rect", "<text", "<line"] {
        assert!(dom.contains(shape), "no {shape} in the DOM");
    }
}

#[test]
fn reports_render_in_headless_chromium_with_sized_charts() {
    let binary = chromium();
    let ws = Workspace::new();
    let out = tempfile::tempdir().expect("tempdir");
    let run_page = out.path().join("run.html");
    let compare_page = out.path().join("compare.html");
    ok(
        &ws,
        &["report", OPTIMIZE, "-o", &run_page.display().to_string()],
    );
    ok(
        &ws,
        &[
            "report",
            "ab-demo",
            "-o",
            &compare_page.display().to_string(),
        ],
    );
    render_and_check(&binary, &run_page, 2);
    render_and_check(&binary, &compare_page, 3);
    // The run's charts draw what they are about.
    let dom = headless(
        &binary,
        &out.path().join("chromium-profile"),
        "--dump-dom",
        &run_page,
    );
    assert!(dom.contains("baseline (best) 2230264"));
    assert!(dom.contains("<polyline"));
    assert!(dom.contains("post-attempt"));
}
