//! STUB (replaced by the real module).
#![allow(missing_docs)]
pub fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    s.parse::<u64>().map(std::time::Duration::from_secs).map_err(|e| e.to_string())
}
