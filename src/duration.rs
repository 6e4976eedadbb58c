//! Human-friendly durations for the timeout flags (`--attempt-timeout 45m`, `--build-timeout
//! 1h30m`, ...).
//!
//! Implements reference §1.4 (`timeouts.py:parse_timeout`) and the comma list of
//! `--attempt-timeouts` (§1.1, `config.py:parse_timeout_list`). A duration is either all digits
//! (seconds) or a concatenation of `<digits><unit?>` parts with unit `s`, `m`, `h` or `d` (no unit
//! = seconds), summed in any order, after trimming and lower-casing. It must add up to more than
//! zero. Everything else is rejected: spaces between parts, fractions, signs, unknown units; a
//! minus in front of a number is reported as negative, since that is what the user meant.
//!
//! Durations are whole seconds. The reference's programmatic int/float inputs do not exist here:
//! every value comes from a string (a flag or a config file).

use std::time::Duration;

/// The accepted format, phrased for error messages and `--help` text.
pub const ACCEPTED_FORMAT: &str = "a whole number of seconds (`90`) or number-unit parts without spaces \
     (`45m`, `1h30m`, `2m10s`; units s, m, h, d) adding up to more than zero";

const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;

/// Why a duration or a duration list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The value was empty or only whitespace.
    #[error("duration is empty")]
    Empty,
    /// The value has a minus sign in front of a number (`-5s`).
    #[error("duration {value:?} is negative")]
    Negative {
        /// The value as given.
        value: String,
    },
    /// The value is not digits-and-units (a space, a fraction, a sign, an unknown unit...).
    #[error("invalid duration {value:?}")]
    Invalid {
        /// The value as given.
        value: String,
    },
    /// The parts add up to zero seconds.
    #[error("duration {value:?} is zero")]
    Zero {
        /// The value as given.
        value: String,
    },
    /// The total does not fit in 64-bit seconds.
    #[error("duration {value:?} is too large")]
    TooLarge {
        /// The value as given.
        value: String,
    },
    /// A comma list held no entry at all (e.g. `,`).
    #[error("duration list {value:?} has no entries")]
    EmptyList {
        /// The list as given.
        value: String,
    },
    /// One entry of a comma list was rejected.
    #[error("invalid entry {entry:?} in duration list")]
    ListEntry {
        /// The entry as given (trimmed).
        entry: String,
        /// Why the entry was rejected.
        #[source]
        source: Box<DurationError>,
    },
}

/// Parses one duration (reference §1.4): `1h30m` = 5400 s, `2m10s` = 130 s, `1h30` = 3630 s,
/// `10s5m` = 310 s, `90` = 90 s. Case and surrounding whitespace are ignored.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let raw = input.trim().to_ascii_lowercase();
    if raw.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = || DurationError::Invalid {
        value: input.to_owned(),
    };
    let too_large = || DurationError::TooLarge {
        value: input.to_owned(),
    };
    if raw
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    {
        return Err(DurationError::Negative {
            value: input.to_owned(),
        });
    }
    let bytes = raw.as_bytes();
    let mut total: u64 = 0;
    let mut index = 0;
    while index < bytes.len() {
        let start = index;
        while index < bytes.len() && bytes[index].is_ascii_digit() {
            index += 1;
        }
        if index == start {
            return Err(invalid());
        }
        // Only ASCII digits are in the slice, so the sole possible failure is overflow.
        let amount: u64 = raw[start..index].parse().map_err(|_| too_large())?;
        // A missing unit means seconds; anything after it that is not a digit fails on the next
        // round.
        let (multiplier, unit_len) = match bytes.get(index) {
            Some(b's') => (1, 1),
            Some(b'm') => (SECONDS_PER_MINUTE, 1),
            Some(b'h') => (SECONDS_PER_HOUR, 1),
            Some(b'd') => (SECONDS_PER_DAY, 1),
            _ => (1, 0),
        };
        index += unit_len;
        total = amount
            .checked_mul(multiplier)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(too_large)?;
    }
    if total == 0 {
        return Err(DurationError::Zero {
            value: input.to_owned(),
        });
    }
    Ok(Duration::from_secs(total))
}

/// Parses the comma list of `--attempt-timeouts` (e.g. `5s,2m`). Blank entries are skipped, as in
/// the reference; a list with no entry at all (`""`, `,`, `" , "`) is an error.
pub fn parse_duration_list(input: &str) -> Result<Vec<Duration>, DurationError> {
    let entries: Vec<&str> = input
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty() {
        return Err(DurationError::EmptyList {
            value: input.to_owned(),
        });
    }
    entries
        .into_iter()
        .map(|entry| {
            parse_duration(entry).map_err(|source| DurationError::ListEntry {
                entry: entry.to_owned(),
                source: Box::new(source),
            })
        })
        .collect()
}

/// Clap `value_parser` for a duration flag. Clap names the flag and the value
/// (`invalid value '-5s' for '--attempt-timeout <D>': ...`), so the error says only what is wrong
/// with it, in one sentence, and the accepted format.
pub fn parse_duration_arg(input: &str) -> Result<Duration, String> {
    parse_duration(input).map_err(|error| problem(&error))
}

/// Clap `value_parser` for `--attempt-timeouts`. The error is one sentence naming the bad entry or
/// the empty list.
pub fn parse_duration_list_arg(input: &str) -> Result<Vec<Duration>, String> {
    parse_duration_list(input).map_err(|error| match error {
        DurationError::ListEntry { entry, source } => {
            format!("entry {entry:?}: {}", problem(&source))
        }
        _ => format!(
            "the list has no entries: expected comma-separated durations, each {ACCEPTED_FORMAT}"
        ),
    })
}

/// What is wrong with one duration, for a message that already shows the value.
fn problem(error: &DurationError) -> String {
    let what = match error {
        DurationError::Empty => "a duration cannot be empty",
        DurationError::Negative { .. } => "a duration cannot be negative",
        DurationError::Zero { .. } => "a duration must be more than zero",
        DurationError::TooLarge { .. } => "the duration is too large",
        DurationError::Invalid { .. }
        | DurationError::EmptyList { .. }
        | DurationError::ListEntry { .. } => "not a duration",
    };
    format!("{what}; expected {ACCEPTED_FORMAT}")
}

/// The attempt budget of a 1-based `iteration`: entry `min(iteration - 1, len - 1)` of the schedule
/// (the last entry repeats), or `default` when the schedule is empty (reference §1.1,
/// `RunConfig.attempt_timeout_for`).
pub fn scheduled_timeout(schedule: &[Duration], default: Duration, iteration: u32) -> Duration {
    let wanted = usize::try_from(iteration.saturating_sub(1)).unwrap_or(usize::MAX);
    match schedule.len().checked_sub(1) {
        Some(last) => schedule[wanted.min(last)],
        None => default,
    }
}

/// Formats a duration for display in the same syntax the parser accepts: `45m`, `1h30m`, `10s`,
/// `1d2h`.
///
/// Sub-second parts are dropped (every parsed duration is whole seconds); a zero duration prints as
/// `0s`.
pub fn format_duration(duration: Duration) -> String {
    let mut remaining = duration.as_secs();
    if remaining == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, size) in [
        ('d', SECONDS_PER_DAY),
        ('h', SECONDS_PER_HOUR),
        ('m', SECONDS_PER_MINUTE),
        ('s', 1),
    ] {
        let amount = remaining / size;
        remaining %= size;
        if amount > 0 {
            text.push_str(&amount.to_string());
            text.push(unit);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(input: &str) -> u64 {
        parse_duration(input)
            .expect("duration should parse")
            .as_secs()
    }

    #[test]
    fn parses_reference_examples() {
        assert_eq!(secs("45m"), 2700);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("2m10s"), 130);
        assert_eq!(secs("1h30"), 3630);
        assert_eq!(secs("10s5m"), 310);
        assert_eq!(secs("2m"), 120);
        assert_eq!(secs("30s"), 30);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(secs("20m"), 1200);
    }

    #[test]
    fn all_digits_are_seconds() {
        assert_eq!(secs("90"), 90);
        assert_eq!(secs("5"), 5);
        assert_eq!(secs("007"), 7);
    }

    #[test]
    fn repeated_units_are_summed() {
        assert_eq!(secs("1m1m"), 120);
        assert_eq!(secs("1s2s3"), 6);
    }

    #[test]
    fn case_and_surrounding_whitespace_are_ignored() {
        assert_eq!(secs("  1H30M \n"), 5400);
        assert_eq!(secs("\t45M"), 2700);
        assert_eq!(secs(" 90 "), 90);
    }

    #[test]
    fn rejects_empty_and_blank() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("   "), Err(DurationError::Empty));
    }

    #[test]
    fn rejects_malformed_values() {
        for value in [
            "abc", "1x", "1m 2s", "1.5m", "-", "-m", "+5", "m", "5mm", "1h-30m", "1_000", "٣",
        ] {
            assert_eq!(
                parse_duration(value),
                Err(DurationError::Invalid {
                    value: value.to_owned()
                }),
                "{value:?} should be invalid"
            );
        }
    }

    #[test]
    fn rejects_negative_values_as_negative() {
        for value in ["-1", "-5m", " -5s", "-0", "-1h30m", "-1x"] {
            assert_eq!(
                parse_duration(value),
                Err(DurationError::Negative {
                    value: value.to_owned()
                }),
                "{value:?} should be negative"
            );
        }
    }

    #[test]
    fn rejects_zero_totals() {
        for value in ["0", "00", "0s", "0m0s", "0d"] {
            assert_eq!(
                parse_duration(value),
                Err(DurationError::Zero {
                    value: value.to_owned()
                })
            );
        }
    }

    #[test]
    fn rejects_overflow_instead_of_wrapping() {
        let huge = "99999999999999999999999";
        assert_eq!(
            parse_duration(huge),
            Err(DurationError::TooLarge {
                value: huge.to_owned()
            })
        );
        assert!(matches!(
            parse_duration("18446744073709551615d"),
            Err(DurationError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_duration("18446744073709551615s1s"),
            Err(DurationError::TooLarge { .. })
        ));
    }

    #[test]
    fn parses_lists_and_skips_blank_entries() {
        let list = parse_duration_list("5s,2m").expect("list should parse");
        assert_eq!(list, [Duration::from_secs(5), Duration::from_secs(120)]);
        let list = parse_duration_list(" 5s , ,2m,").expect("list should parse");
        assert_eq!(list, [Duration::from_secs(5), Duration::from_secs(120)]);
    }

    #[test]
    fn rejects_empty_lists() {
        for value in ["", ",", " , ,"] {
            assert_eq!(
                parse_duration_list(value),
                Err(DurationError::EmptyList {
                    value: value.to_owned()
                })
            );
        }
    }

    #[test]
    fn list_errors_name_the_entry() {
        let error = parse_duration_list("5s,abc").expect_err("list should fail");
        assert_eq!(
            error,
            DurationError::ListEntry {
                entry: "abc".to_owned(),
                source: Box::new(DurationError::Invalid {
                    value: "abc".to_owned()
                }),
            }
        );
        assert_eq!(error.to_string(), "invalid entry \"abc\" in duration list");
    }

    #[test]
    fn arg_parser_errors_say_what_is_wrong_in_one_sentence() {
        let message = parse_duration_arg("1.5m").expect_err("should fail");
        assert!(
            message.starts_with("not a duration; expected a whole number of seconds"),
            "{message}"
        );
        assert!(message.contains("`1h30m`"));
        assert!(!message.contains('\n'));
        assert_eq!(parse_duration_arg("2m"), Ok(Duration::from_secs(120)));
        for (value, start) in [
            ("-5s", "a duration cannot be negative; expected "),
            ("0m", "a duration must be more than zero; expected "),
            ("  ", "a duration cannot be empty; expected "),
            (
                "99999999999999999999d",
                "the duration is too large; expected ",
            ),
        ] {
            let message = parse_duration_arg(value).expect_err("should fail");
            assert!(message.starts_with(start), "{value:?}: {message}");
        }

        let message = parse_duration_list_arg("5s,x").expect_err("should fail");
        assert!(
            message.starts_with("entry \"x\": not a duration; expected"),
            "{message}"
        );
        let message = parse_duration_list_arg("5s,-2m").expect_err("should fail");
        assert!(
            message.starts_with("entry \"-2m\": a duration cannot be negative"),
            "{message}"
        );
        let message = parse_duration_list_arg(",").expect_err("should fail");
        assert!(message.starts_with("the list has no entries"), "{message}");
    }

    #[test]
    fn schedule_repeats_its_last_entry() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(120)];
        let default = Duration::from_secs(2700);
        assert_eq!(scheduled_timeout(&schedule, default, 1), schedule[0]);
        assert_eq!(scheduled_timeout(&schedule, default, 2), schedule[1]);
        assert_eq!(scheduled_timeout(&schedule, default, 3), schedule[1]);
        assert_eq!(scheduled_timeout(&schedule, default, 0), schedule[0]);
        assert_eq!(scheduled_timeout(&[], default, 2), default);
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(Duration::from_secs(2700)), "45m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(90_061)), "1d1h1m1s");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn format_round_trips_through_parse() {
        for seconds in [1, 59, 60, 61, 3599, 3600, 3630, 86_399, 86_400, 1_000_000] {
            let duration = Duration::from_secs(seconds);
            assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }
}
