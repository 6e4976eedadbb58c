//! Shape comparison of two JSON documents: the reference's (`tests/fixtures/reference/`) and ours.
//!
//! [`Shape::compare`] walks the expected (reference) value and reports, without panicking:
//!
//! - keys of an object that are missing or extra, recursively;
//! - JSON types that differ (`null`, `bool`, `number`, `string`, `array`, `object`; an integer and a
//!   float are both `number`, `null` against anything else is a difference);
//! - arrays: when either side holds objects, every element pair and the lengths; otherwise the shape
//!   of the first elements (when both have one);
//! - exact values at the JSON pointers given to [`Shape::exact`] (numbers compared as numbers, so
//!   `3` equals `3.0`; a pointer naming an object or array compares the whole subtree).
//!
//! [`leaf_pointers`] lists every value of a reference file (minus keys such as `duration_seconds`),
//! to compare all its deterministic values at once.
//!
//! Pointers are RFC 6901 (`/phases/attempt/status`, `/iterations/0/status`), and a segment `*`
//! matches any key or index (`/iterations/*/status`). Subtrees at [`Shape::ignore`] pointers are
//! skipped on both sides.
//!
//! ```ignore
//! let diffs = Shape::new()
//!     .exact(["/status", "/iterations/*/status"])
//!     .ignore(["/harnessgym"])
//!     .compare(&reference, &ours);
//! assert!(diffs.is_empty(), "{}", shape::render(&diffs));
//! ```

use std::fmt;

use serde_json::Value;

/// What kind of difference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A key the reference has and we lack.
    Missing,
    /// A key we have and the reference lacks.
    Extra,
    /// Different JSON types.
    Type,
    /// Different values at an exact pointer.
    Value,
    /// Arrays of objects of different lengths.
    Length,
}

/// One difference: where, what the reference has, what we have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The JSON pointer of the value (`""` is the root).
    pub path: String,
    /// What kind of difference.
    pub kind: Kind,
    /// The reference's side, e.g. `number`, `"solved"`, `array of 2`, `missing`.
    pub expected: String,
    /// Our side, in the same words.
    pub found: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        let kind = match self.kind {
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Type => "type",
            Kind::Value => "value",
            Kind::Length => "length",
        };
        write!(
            f,
            "{path} ({kind}): expected {}, found {}",
            self.expected, self.found
        )
    }
}

/// One line per difference.
pub fn render(diffs: &[Difference]) -> String {
    diffs
        .iter()
        .map(|d| format!("{d}\n"))
        .collect::<Vec<_>>()
        .concat()
}

/// The name of a value's JSON type.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A comparison: the pointers whose values must be equal and the pointers to skip.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    exact: Vec<Vec<String>>,
    ignore: Vec<Vec<String>>,
}

impl Shape {
    /// Keys and types only.
    pub fn new() -> Self {
        Shape::default()
    }

    /// Also compare the values at these pointers (`*` matches any one segment).
    pub fn exact<I, S>(mut self, pointers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.exact
            .extend(pointers.into_iter().map(|p| parse_pointer(p.as_ref())));
        self
    }

    /// Skip these subtrees on both sides (`*` matches any one segment).
    pub fn ignore<I, S>(mut self, pointers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.ignore
            .extend(pointers.into_iter().map(|p| parse_pointer(p.as_ref())));
        self
    }

    /// Every difference between `expected` (the reference) and `found` (ours), in document order.
    pub fn compare(&self, expected: &Value, found: &Value) -> Vec<Difference> {
        let mut diffs = Vec::new();
        self.walk(&mut Vec::new(), expected, found, &mut diffs);
        diffs
    }

    fn walk(
        &self,
        path: &mut Vec<String>,
        expected: &Value,
        found: &Value,
        diffs: &mut Vec<Difference>,
    ) {
        if matches_any(&self.ignore, path) {
            return;
        }
        if matches_any(&self.exact, path) && !same_value(expected, found) {
            let kind = if type_name(expected) == type_name(found) {
                Kind::Value
            } else {
                Kind::Type
            };
            diffs.push(difference(path, kind, show(expected), show(found)));
            return;
        }
        match (expected, found) {
            (Value::Object(want), Value::Object(have)) => {
                for (key, value) in want {
                    path.push(key.clone());
                    match have.get(key) {
                        Some(other) => self.walk(path, value, other, diffs),
                        None if !matches_any(&self.ignore, path) => {
                            diffs.push(difference(
                                path,
                                Kind::Missing,
                                describe(value),
                                "missing".into(),
                            ));
                        }
                        None => {}
                    }
                    path.pop();
                }
                for (key, value) in have {
                    if want.contains_key(key) {
                        continue;
                    }
                    path.push(key.clone());
                    if !matches_any(&self.ignore, path) {
                        diffs.push(difference(
                            path,
                            Kind::Extra,
                            "missing".into(),
                            describe(value),
                        ));
                    }
                    path.pop();
                }
            }
            (Value::Array(want), Value::Array(have)) => {
                let objects = want.first().or(have.first()).is_some_and(|v| v.is_object());
                if objects {
                    if want.len() != have.len() {
                        diffs.push(difference(
                            path,
                            Kind::Length,
                            format!("array of {}", want.len()),
                            format!("array of {}", have.len()),
                        ));
                    }
                    for (index, (a, b)) in want.iter().zip(have).enumerate() {
                        path.push(index.to_string());
                        self.walk(path, a, b, diffs);
                        path.pop();
                    }
                } else if let (Some(a), Some(b)) = (want.first(), have.first()) {
                    path.push("0".into());
                    self.walk(path, a, b, diffs);
                    path.pop();
                }
            }
            _ if type_name(expected) != type_name(found) => {
                diffs.push(difference(
                    path,
                    Kind::Type,
                    describe(expected),
                    describe(found),
                ));
            }
            _ => {}
        }
    }
}

/// The pointers of every value of `value` worth comparing exactly: each scalar, and each array
/// that holds no object (as a whole), descending into objects and arrays of objects; values under
/// a key in `skip_keys` (e.g. `duration_seconds`) are left out. Pass the result to
/// [`Shape::exact`] to compare every deterministic value of a reference file.
pub fn leaf_pointers(value: &Value, skip_keys: &[&str]) -> Vec<String> {
    fn walk(value: &Value, path: &mut Vec<String>, skip: &[&str], out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if skip.contains(&key.as_str()) {
                        continue;
                    }
                    path.push(key.clone());
                    walk(child, path, skip, out);
                    path.pop();
                }
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                for (index, child) in items.iter().enumerate() {
                    path.push(index.to_string());
                    walk(child, path, skip, out);
                    path.pop();
                }
            }
            _ => out.push(format_pointer(path)),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), skip_keys, &mut out);
    out
}

fn difference(path: &[String], kind: Kind, expected: String, found: String) -> Difference {
    Difference {
        path: format_pointer(path),
        kind,
        expected,
        found,
    }
}

/// The type, with a short value for scalars: `string "solved"`, `number 3`, `array of 2`.
fn describe(value: &Value) -> String {
    match value {
        Value::Array(items) => format!("array of {}", items.len()),
        Value::Object(map) if map.is_empty() => "object {}".into(),
        Value::Object(_) => "object".into(),
        Value::Null => "null".into(),
        other => format!("{} {}", type_name(other), show(other)),
    }
}

/// A value in compact JSON, cut to 120 characters.
fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 120 {
        return text;
    }
    let cut: String = text.chars().take(117).collect();
    format!("{cut}...")
}

/// Equal as JSON, numbers compared by value (`3` == `3.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

fn parse_pointer(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn format_pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn matches_any(patterns: &[Vec<String>], path: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| p.len() == path.len() && p.iter().zip(path).all(|(a, b)| a == "*" || a == b))
}
