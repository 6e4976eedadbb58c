//! Unit tests of the JSON shape comparer (`tests/common/shape.rs`), and a check that every
//! reference fixture parses and matches itself. No Docker needed.

// A report tool for developers: it prints to the terminal that ran it.
#![allow(clippy::disallowed_macros)]

mod common;

use std::path::{Path, PathBuf};

use common::shape::{Difference, Kind, Shape, render, type_name};
use serde_json::{Value, json};

fn diff(expected: Value, found: Value) -> Vec<Difference> {
    Shape::new().compare(&expected, &found)
}

fn one(path: &str, kind: Kind, expected: &str, found: &str) -> Difference {
    Difference {
        path: path.into(),
        kind,
        expected: expected.into(),
        found: found.into(),
    }
}

#[test]
fn equal_shapes_with_different_values_match() {
    let a =
        json!({"status": "solved", "n": 1, "x": 1.5, "ok": true, "list": ["a"], "o": {"k": null}});
    let b = json!({"status": "blocked", "n": 2.0, "x": 7, "ok": false, "list": ["b", "c"], "o": {"k": null}});
    assert_eq!(diff(a, b), vec![]);
}

#[test]
fn missing_and_extra_keys_are_reported_recursively() {
    let a = json!({"a": 1, "nested": {"keep": 1, "gone": "x"}});
    let b = json!({"a": 1, "nested": {"keep": 1, "new": [1, 2]}, "top": {}});
    assert_eq!(
        diff(a, b),
        vec![
            one("/nested/gone", Kind::Missing, "string \"x\"", "missing"),
            one("/nested/new", Kind::Extra, "missing", "array of 2"),
            one("/top", Kind::Extra, "missing", "object {}"),
        ]
    );
}

#[test]
fn types_differ_and_null_is_its_own_type() {
    let a = json!({"a": 1, "b": null, "c": {"k": 1}, "d": "s", "e": 1});
    let b = json!({"a": "1", "b": {"captures": []}, "c": null, "d": "t", "e": 2.5});
    assert_eq!(
        diff(a, b),
        vec![
            one("/a", Kind::Type, "number 1", "string \"1\""),
            one("/b", Kind::Type, "null", "object"),
            one("/c", Kind::Type, "object", "null"),
        ]
    );
}

#[test]
fn arrays_of_scalars_compare_their_first_elements_only() {
    let a = json!({"s": ["a", "b"], "empty": [], "mixed": ["a"]});
    let b = json!({"s": ["x"], "empty": ["y"], "mixed": [1, "a"]});
    assert_eq!(
        diff(a, b),
        vec![one("/mixed/0", Kind::Type, "string \"a\"", "number 1")]
    );
}

#[test]
fn arrays_of_objects_compare_every_element_and_the_length() {
    let a = json!({"rows": [{"iteration": 1, "status": "x"}]});
    let b = json!({"rows": [{"iteration": 1}, {"iteration": 2, "status": "y"}]});
    assert_eq!(
        diff(a, b),
        vec![
            one("/rows", Kind::Length, "array of 1", "array of 2"),
            one("/rows/0/status", Kind::Missing, "string \"x\"", "missing"),
        ]
    );
    // An empty reference list against objects is a length difference too.
    let diffs = diff(json!({"gates": []}), json!({"gates": [{"iteration": 2}]}));
    assert_eq!(
        diffs,
        vec![one("/gates", Kind::Length, "array of 0", "array of 1")]
    );
}

#[test]
fn exact_pointers_compare_values_with_wildcards() {
    let a = json!({"status": "solved", "score": 3, "iterations": [{"status": "a"}, {"status": "b"}],
                   "files": ["x", "y"], "other": "same"});
    let b = json!({"status": "blocked", "score": 3.0, "iterations": [{"status": "a"}, {"status": "c"}],
                   "files": ["x"], "other": "different"});
    let diffs = Shape::new()
        .exact(["/status", "/score", "/iterations/*/status", "/files"])
        .compare(&a, &b);
    assert_eq!(
        diffs,
        vec![
            one("/files", Kind::Value, "[\"x\",\"y\"]", "[\"x\"]"),
            one("/iterations/1/status", Kind::Value, "\"b\"", "\"c\""),
            one("/status", Kind::Value, "\"solved\"", "\"blocked\""),
        ]
    );
    // An exact pointer over different types is a type difference, shown as values.
    let diffs = Shape::new()
        .exact(["/v"])
        .compare(&json!({"v": null}), &json!({"v": 0}));
    assert_eq!(diffs, vec![one("/v", Kind::Type, "null", "0")]);
}

#[test]
fn ignored_subtrees_are_skipped_on_both_sides() {
    let a = json!({"keep": {"a": 1}, "theirs": 1, "runs": [{"id": 1, "t": 1}]});
    let b = json!({"keep": {"a": 1}, "harnessgym": {"format_version": 1}, "runs": [{"id": "1"}]});
    let diffs = Shape::new()
        .ignore(["/harnessgym", "/theirs", "/runs/*/t", "/runs/*/id"])
        .compare(&a, &b);
    assert_eq!(diffs, vec![]);
}

#[test]
fn pointers_escape_slash_and_tilde() {
    let diffs = diff(json!({"a/b": {"c~d": 1}}), json!({"a/b": {"c~d": "1"}}));
    assert_eq!(diffs[0].path, "/a~1b/c~0d");
    let diffs = Shape::new()
        .exact(["/a~1b/c~0d"])
        .compare(&json!({"a/b": {"c~d": 1}}), &json!({"a/b": {"c~d": 2}}));
    assert_eq!(diffs, vec![one("/a~1b/c~0d", Kind::Value, "1", "2")]);
}

#[test]
fn root_differences_and_rendering() {
    let diffs = diff(json!({}), json!([]));
    assert_eq!(diffs, vec![one("", Kind::Type, "object {}", "array of 0")]);
    assert_eq!(
        render(&diffs),
        "/ (type): expected object {}, found array of 0\n"
    );
    assert_eq!(type_name(&json!(1.5)), "number");
    assert_eq!(type_name(&json!(1)), "number");
}

#[test]
fn long_values_are_cut() {
    let long = "x".repeat(500);
    let diffs = Shape::new()
        .exact(["/s"])
        .compare(&json!({"s": long}), &json!({"s": "y"}));
    assert!(diffs[0].expected.ends_with("..."));
    assert_eq!(diffs[0].expected.chars().count(), 120);
}

fn fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn every_reference_fixture_parses_and_matches_itself() {
    let files = fixtures();
    assert!(files.len() > 50, "fixtures found: {}", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        assert!(value.is_object(), "{}", path.display());
        let diffs = Shape::new().exact([""]).compare(&value, &value);
        assert!(diffs.is_empty(), "{}: {}", path.display(), render(&diffs));
    }
}

#[test]
fn leaf_pointers_list_scalars_and_scalar_arrays_and_skip_keys() {
    let value = json!({"a": 1, "o": {"b": "x", "duration_seconds": 0.1}, "s": ["x", "y"],
                       "rows": [{"c": null, "d": []}], "e": {}});
    assert_eq!(
        common::shape::leaf_pointers(&value, &["duration_seconds"]),
        vec!["/a", "/o/b", "/rows/0/c", "/rows/0/d", "/s"]
    );
}

/// Not a check but a report: every difference between a directory laid out like
/// `tests/fixtures/reference/` (our files, sanitised the same way) and the reference, all
/// values compared except durations. Run it with
/// `HARNESSGYM_SHAPE_OURS=<dir> cargo test --test shape -- --ignored --nocapture`.
#[test]
#[ignore = "a report; set HARNESSGYM_SHAPE_OURS to a directory of our sanitised files"]
fn report_differences_from_the_reference() {
    let Ok(ours) = std::env::var("HARNESSGYM_SHAPE_OURS") else {
        panic!("set HARNESSGYM_SHAPE_OURS");
    };
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    let ours = PathBuf::from(ours);
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&reference)
        .expect("read fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    scenarios.sort();
    for scenario in scenarios {
        let name = scenario
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        println!("# {name}");
        let mut files = Vec::new();
        list_files(&scenario, &scenario, &mut files);
        let mut theirs = Vec::new();
        list_files(&ours.join(&name), &ours.join(&name), &mut theirs);
        for rel in theirs.iter().filter(|r| !files.contains(r)) {
            println!("## {rel}: only ours has this file");
        }
        for rel in &files {
            if rel == "command.txt" {
                continue;
            }
            let want = std::fs::read_to_string(scenario.join(rel)).expect("read reference");
            let Ok(have) = std::fs::read_to_string(ours.join(&name).join(rel)) else {
                println!("## {rel}: missing in ours");
                continue;
            };
            let lines: Vec<String> = if rel.ends_with(".json") {
                let want: Value = serde_json::from_str(&want).expect("reference JSON");
                let have: Value = match serde_json::from_str(&have) {
                    Ok(v) => v,
                    Err(e) => {
                        println!("## {rel}: ours is not JSON: {e}");
                        continue;
                    }
                };
                let exact = common::shape::leaf_pointers(&want, &["duration_seconds"]);
                Shape::new()
                    .exact(exact)
                    .compare(&want, &have)
                    .iter()
                    .map(|d| d.to_string())
                    .collect()
            } else {
                text_differences(&want, &have)
            };
            if !lines.is_empty() {
                println!("## {rel}");
                for line in lines {
                    println!("- {line}");
                }
            }
        }
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            list_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().to_string());
        }
    }
    out.sort();
}

/// Line by line: `line <n>: expected "...", found "..."` (`no line` past the end).
fn text_differences(want: &str, have: &str) -> Vec<String> {
    let want: Vec<&str> = want.lines().collect();
    let have: Vec<&str> = have.lines().collect();
    let show = |line: Option<&&str>| line.map_or("no line".to_string(), |l| format!("{l:?}"));
    (0..want.len().max(have.len()))
        .filter_map(|i| {
            let (a, b) = (want.get(i), have.get(i));
            (a != b).then(|| format!("line {}: expected {}, found {}", i + 1, show(a), show(b)))
        })
        .collect()
}
