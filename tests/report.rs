//! `harnessgym runs`, `show` and `report`, spawned as a user would, on copies of the reference
//! tool's run folders and a synthetic compare: exact output, JSON shapes, hostile text, links
//! out of a run, determinism. No Docker engine is involved (the binary is pointed at a socket
//! that does not exist).

mod report_common;

use std::fs;
use std::path::Path;

use harnessgym::report::compare::load_compare;
use harnessgym::report::{Better, BootstrapSettings, CompareBlock, VERDICT_METRIC, compare_groups};
use report_common::{DEMO, HOSTILE_DESCRIPTION, OPTIMIZE, OURS, Workspace, ok, stderr, stdout};
use serde_json::Value;

/// `text` with every duration (`12.34s`) as `<t>` and runs of spaces as one: phase times in the
/// fixtures change whenever they are regenerated.
fn without_times(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .map(|token| {
                    let digits = token.strip_suffix('s').unwrap_or("x");
                    let is_time = digits.contains('.')
                        && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
                    if is_time { "<t>" } else { token }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn runs_lists_every_run_and_compare_without_the_engine() {
    let ws = Workspace::new();
    let out = ok(&ws, &["runs"]);
    assert_eq!(
        out,
        "\
KIND     ID                         DATE                 RUNNER  ITERATIONS  STATUS                          BEST SCORE
run      20260519T035754Z-1a2b3c4d  2026-05-19 03:57:54  fake    2/2         solved                          -
run      20260519T041500Z-5e6f7a8b  2026-05-19 04:15:00  fake    2/2         tooling_built                   2230264
run      ours-1                     2026-05-19 03:57:54  fake    2/2         ?[31m<script>alert(1)</script>  -
compare  ab-demo                    2026-11-24 10:00:00  fake    4+4 trials  harness better                  plain 1998000, harnessed 243715
"
    );
    // The same list when the workspace is an argument.
    let root = ws.root.display().to_string();
    assert_eq!(ok(&ws, &["runs", &root]), out);
}

#[test]
fn runs_json_is_one_object_per_entry() {
    let ws = Workspace::new();
    let entries: Vec<Value> = serde_json::from_str(&ok(&ws, &["runs", "--json"])).expect("json");
    assert_eq!(entries.len(), 4);
    let optimize = &entries[1];
    assert_eq!(optimize["kind"], "run");
    assert_eq!(optimize["id"], OPTIMIZE);
    assert_eq!(optimize["date"], "2026-05-19T04:15:00+00:00");
    assert_eq!(optimize["iterations_done"], 2);
    assert_eq!(optimize["iterations_max"], 2);
    assert_eq!(optimize["final_status"], "tooling_built");
    assert_eq!(optimize["best_score"], 2_230_264.0);
    assert_eq!(optimize["path"], ws.run_dir(OPTIMIZE).display().to_string());
    let compare = &entries[3];
    assert_eq!(compare["kind"], "compare");
    assert_eq!(compare["verdict"], "harness better");
    assert_eq!(
        compare["trials"],
        serde_json::json!({"plain": 4, "harnessed": 4})
    );
    assert_eq!(
        compare["valid_trials"],
        serde_json::json!({"plain": 3, "harnessed": 3})
    );
    assert_eq!(
        compare["best_post_score"],
        serde_json::json!({"plain": 1_998_000.0, "harnessed": 243_715.0})
    );
    assert!(compare["iterations_done"].is_null());
}

#[test]
fn show_prints_the_facts_and_one_line_per_iteration() {
    let ws = Workspace::new();
    assert_eq!(
        without_times(&ok(&ws, &["show", OPTIMIZE])),
        without_times(
            "\
run:         20260519T041500Z-5e6f7a8b
runner:      fake
iterations:  2 of 2
status:      tooling_built
solved:      no
best score:  2230264 (best_cycles, lower is better)
baseline:    2230264

ITER  STATUS         SCORE    ATTEMPT  REFLECT  BUILD  REPAIR  QUALIFY  POST   QUALIFICATION  ACTIVE TOOLS  BUILT                                       TOOLS USED
1     tooling_built  2230264  0.00s    0.00s    0.00s  -       -        0.33s  passed         0             .harnessgym/tools/harnessgym_fake_probe.py  -
2     tooling_built  2230264  0.22s    0.00s    0.00s  -       -        0.29s  passed         0             .harnessgym/tools/harnessgym_fake_probe.py  -
"
        )
    );
    // An iteration without a build claims no registry entry.
    let demo = without_times(&ok(&ws, &["show", DEMO]));
    assert!(demo.ends_with("2 solved - <t> - - - - - - 0 - -"), "{demo}");
}

#[test]
fn show_reads_harnessgyms_block_and_never_prints_control_characters() {
    let ws = Workspace::new();
    let out = ok(&ws, &["show", OURS]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[3], "status:      ?[31m<script>alert(1)</script>");
    assert_eq!(lines[6], "wall time:   12.50s");
    // Repairs, and qualifications from the step timings (1.25 s + 0.75 s).
    assert_eq!(
        without_times(lines[9]).replace("<t>", "t"),
        "1 tooling_built (attempt timed out) - t t t t t - passed 0 .harnessgym/tools/harnessgym_fake_probe.py -"
    );
    assert!(lines[9].contains("  2.00s   2.00s  "), "{}", lines[9]);
    assert!(
        lines[10].ends_with(&format!("probe, {HOSTILE_DESCRIPTION}")),
        "{}",
        lines[10]
    );
}

#[test]
fn show_json_has_every_column() {
    let ws = Workspace::new();
    let view: Value = serde_json::from_str(&ok(&ws, &["show", OURS, "--json"])).expect("json");
    assert_eq!(view["run_id"], OURS);
    assert_eq!(view["limits_hit"], 1);
    assert_eq!(view["wall_seconds"], 12.5);
    let first = &view["iterations"][0];
    assert_eq!(first["iteration"], 1);
    assert_eq!(first["status"], "tooling_built");
    assert_eq!(first["timed_out"], serde_json::json!(["attempt"]));
    assert_eq!(first["durations"]["repair"], 2.0);
    assert_eq!(first["durations"]["qualification"], 2.0);
    assert!(first["durations"]["attempt"].is_f64());
    assert!(first["durations"]["post_attempt"].is_null());
    assert_eq!(
        first["artifacts_built"],
        serde_json::json!([".harnessgym/tools/harnessgym_fake_probe.py"])
    );
    assert_eq!(first["qualification"], "passed");
    assert_eq!(first["active_tools"], 0);
    let second = &view["iterations"][1];
    assert_eq!(
        second["tools_used"],
        serde_json::json!(["probe", HOSTILE_DESCRIPTION])
    );
    assert_eq!(view["warnings"], serde_json::json!([]));
}

#[test]
fn show_takes_a_run_directory_and_reports_unknown_runs_as_usage_errors() {
    let ws = Workspace::new();
    let dir = ws.run_dir(DEMO).display().to_string();
    let by_path = ok(&ws, &["show", &dir]);
    assert_eq!(by_path, ok(&ws, &["show", DEMO]));

    let out = ws.harnessgym(&["show", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("harnessgym: error: no run `no-such-run` in "),
        "{err}"
    );
    assert!(err.contains("  hint: `harnessgym runs "), "{err}");
    for escape in ["../../etc", "/"] {
        let out = ws.harnessgym(&["show", escape]);
        assert_eq!(out.status.code(), Some(2), "{escape}: {}", stderr(&out));
    }
    let out = ws.harnessgym(&["runs", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a directory"));
}

#[test]
fn a_link_out_of_a_run_is_not_followed_and_says_so() {
    let ws = Workspace::new();
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("summary.json");
    fs::write(&secret, r#"{"best_score": 4242, "final_status": "leaked"}"#).expect("write");
    let summary = ws.run_dir(OPTIMIZE).join("summary.json");
    fs::remove_file(&summary).expect("rm");
    std::os::unix::fs::symlink(&secret, &summary).expect("link");
    // A whole run directory that is a link is not a run either.
    let linked = ws.root.join(".harnessgym/runs/linked");
    std::os::unix::fs::symlink(ws.run_dir(DEMO), &linked).expect("link");

    let out = ws.harnessgym(&["show", OPTIMIZE, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let view: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert!(view["best_score"].is_null());
    assert_eq!(view["final_status"], "unfinished");
    let warning = view["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("leads outside the workspace"), "{warning}");
    assert!(
        stderr(&out).starts_with("warning: skipped "),
        "{}",
        stderr(&out)
    );

    let listed = ok(&ws, &["runs"]);
    assert!(
        !listed.contains("linked") && !listed.contains("leaked"),
        "{listed}"
    );
    let html = ok(&ws, &["report", OPTIMIZE, "-o", "-"]);
    assert!(!html.contains("4242") && !html.contains("leaked"));
    assert!(html.contains("Files that could not be used"));
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

const TAGS: &[&str] = &[
    "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "code",
    "dl", "dt", "dd", "ul", "li", "div", "span", "table", "thead", "tbody", "tr", "th", "td",
    "footer", "svg", "rect", "line", "circle", "polyline", "text",
];
const ATTRIBUTES: &[&str] = &[
    "html",
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "xmlns",
    "width",
    "height",
    "viewBox",
    "role",
    "aria-label",
    "font-family",
    "font-size",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "fill",
    "stroke",
    "stroke-width",
    "stroke-dasharray",
    "points",
    "text-anchor",
    "transform",
];

/// Every tag of the page is one the report writes, with only attributes it writes: nothing
/// from the files became markup (a script, an image, a link, an event handler).
fn assert_only_our_markup(html: &str) {
    for piece in html.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        let tag = tag.trim_start_matches('/').trim_end_matches('/');
        let mut rest = tag;
        let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(TAGS.contains(&name.as_str()), "tag `{name}` in the page");
        rest = &rest[name.len()..];
        // Attributes are `name="value"`; values never hold a quote (escaped).
        while let Some(eq) = rest.find('=') {
            let attribute = rest[..eq].trim();
            assert!(
                ATTRIBUTES.contains(&attribute),
                "attribute `{attribute}` on <{name}>"
            );
            let value_start = rest[eq..].find('"').map(|i| eq + i + 1).expect("quoted");
            let value_end = rest[value_start..].find('"').expect("closed") + value_start;
            rest = &rest[value_end + 1..];
        }
    }
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http:") && !without_ns.contains("https:"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn a_run_report_is_self_contained_escaped_and_deterministic() {
    let ws = Workspace::new();
    let out = ws.harnessgym(&["report", OURS, "-o", "ours.html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("wrote ours.html ("),
        "{}",
        stderr(&out)
    );
    let html = fs::read_to_string(ws.root.join("ours.html")).expect("written");
    assert_only_our_markup(&html);
    assert_eq!(count(&html, "<svg "), 2);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!html.contains('\u{1b}'));
    assert!(html.contains(">qualified</span>"));
    // The same files give the same bytes, whichever way the run is named.
    ok(&ws, &["report", OURS, "-o", "again.html"]);
    let dir = ws.run_dir(OURS).display().to_string();
    let by_path = ok(&ws, &["report", &dir, "-o", "-"]);
    assert_eq!(
        fs::read_to_string(ws.root.join("again.html")).expect("read"),
        html
    );
    assert_eq!(by_path, html);
    let mode = fs::metadata(ws.root.join("ours.html")).expect("meta");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o644
    );
}

#[test]
fn an_optimization_report_marks_the_baseline_as_best() {
    let ws = Workspace::new();
    let html = ok(&ws, &["report", OPTIMIZE, "-o", "-"]);
    assert!(
        html.contains("baseline (best) 2230264"),
        "no baseline label"
    );
    assert!(html.contains("<title>iteration 2: 2230264</title>"));
    assert!(
        !html.contains(">best</text>"),
        "the baseline is the best, not a point"
    );
    assert!(html.contains("<title>iteration 1, post-attempt: "));
}

#[test]
fn a_compare_report_shows_the_verdict_its_interval_and_both_groups() {
    let ws = Workspace::new();
    let html = ok(&ws, &["report", "ab-demo", "-o", "-"]);
    assert_only_our_markup(&html);
    assert_eq!(count(&html, "<svg "), 3);
    assert!(html.contains("<div class=\"verdict better\">harness better</div>"));
    assert!(html.contains("95% interval [-1986549, -1687800]"));
    assert!(html.contains("as recorded in compare_report.json"));
    assert!(html.contains("<title>harnessed trial 1: 243715</title>"));
    assert!(html.contains(
        "harnessed trial invalid: generated MCP tools activated but no MCP tool calls were recorded"
    ));
    assert!(html.contains("4 trials, 1 invalid"));
}

#[test]
fn a_compare_without_harnessgyms_block_gets_the_same_verdict_computed() {
    let ws = Workspace::new();
    let path = ws.root.join("ab-demo/compare_report.json");
    let mut report: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    report.as_object_mut().expect("object").remove("harnessgym");
    fs::write(&path, report.to_string()).expect("write");
    let html = ok(&ws, &["report", "ab-demo", "-o", "-"]);
    assert!(html.contains("<div class=\"verdict better\">harness better</div>"));
    assert!(html.contains("95% interval [-1986549, -1687800]"));
    assert!(html.contains("computed by harnessgym report"));
}

#[test]
fn the_recorded_verdict_is_what_the_statistics_give() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare/ab-demo");
    let compare = load_compare(&fixture);
    assert!(compare.recorded);
    assert!(compare.warnings.is_empty(), "{:?}", compare.warnings);
    let comparison = compare_groups(
        &compare.values("plain"),
        &compare.values("harnessed"),
        Better::Lower,
        BootstrapSettings::default(),
    );
    assert_eq!(
        compare.block,
        CompareBlock::from_comparison(&comparison, VERDICT_METRIC)
    );
}

#[test]
fn report_refuses_a_directory_that_is_neither_run_nor_compare() {
    let ws = Workspace::new();
    let out = ws.harnessgym(&["report", ".harnessgym", "-o", "x.html"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("holds neither a run"),
        "{}",
        stderr(&out)
    );
    assert!(!ws.root.join("x.html").exists());
    let out = ws.harnessgym(&["report", OURS, "-o", "missing-dir/x.html"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("  hint: check that the directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_help_explains_each_command() {
    let ws = Workspace::new();
    let help = ok(&ws, &["--help"]);
    for line in ["  runs ", "  show ", "  report "] {
        assert!(help.contains(line), "{line} missing in:\n{help}");
    }
    assert!(ok(&ws, &["report", "--help"]).contains("Example: harnessgym report "));
    assert!(ok(&ws, &["runs", "--help"]).contains("never contacts the Docker engine"));
    assert!(ok(&ws, &["show", "--help"]).contains("RUN is a run id"));
}
