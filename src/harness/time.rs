//! Timestamps and run ids in the reference's formats, written with `time`'s format descriptions.
//!
//! [`utc_now`] is `models.py:utc_now` (ISO-8601, seconds precision, `+00:00`; reference §3.1),
//! [`make_run_id`] is `artifacts.py:make_run_id` (`YYYYMMDDTHHMMSSZ-<8 hex>`; reference §1.1), and
//! [`format_utc_micros`] is the MCP telemetry's `created_at` (microseconds and `Z`, §6.7).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use ::time::OffsetDateTime;
use ::time::format_description::BorrowedFormatItem;
use ::time::macros::format_description;

/// `2026-05-19T03:57:54+00:00`.
const SECONDS: &[BorrowedFormatItem<'_>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);
/// `2026-05-19T04:00:00.123456Z`.
const MICROSECONDS_Z: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
/// `20260519T035754Z`, the run id's stamp.
const COMPACT: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// `moment` in UTC, written with `description`.
///
/// `time` fails to format only when the value lacks a component the description names, or the
/// output cannot be written: an `OffsetDateTime` has every component and a `String` always
/// grows, so the fallback (the RFC 3339-like `Display` form) is never used in practice.
fn format_in_utc(moment: OffsetDateTime, description: &[BorrowedFormatItem<'_>]) -> String {
    let utc = moment.to_offset(::time::UtcOffset::UTC);
    utc.format(description).unwrap_or_else(|_| utc.to_string())
}

/// The current UTC time as `2026-05-19T03:57:54+00:00`.
pub fn utc_now() -> String {
    format_utc(OffsetDateTime::now_utc())
}

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SS+00:00` in UTC, dropping sub-seconds.
pub fn format_utc(moment: OffsetDateTime) -> String {
    format_in_utc(moment, SECONDS)
}

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC (microseconds, truncated).
pub fn format_utc_micros(moment: OffsetDateTime) -> String {
    format_in_utc(moment, MICROSECONDS_Z)
}

/// A fresh run id: the UTC time as `YYYYMMDDTHHMMSSZ`, a dash and 8 random lowercase hex digits.
pub fn make_run_id() -> String {
    let now = OffsetDateTime::now_utc();
    format_run_id(now, random_u32(now.unix_timestamp_nanos()))
}

/// Formats a run id from a timestamp and a 32-bit suffix: `20260519T035754Z-1a2b3c4d`.
pub fn format_run_id(moment: OffsetDateTime, suffix: u32) -> String {
    format!("{}-{suffix:08x}", format_in_utc(moment, COMPACT))
}

/// 32 random bits without a random-number crate: std's `RandomState` is seeded from the OS once per
/// thread and changes its keys with every instance, and the time and pid make ids from separate
/// processes differ too.
fn random_u32(nanos: i128) -> u32 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_i128(nanos);
    hasher.write_u32(std::process::id());
    let bits = hasher.finish();
    // Folding both halves keeps every hashed bit in play.
    ((bits >> 32) ^ (bits & 0xffff_ffff)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::datetime;

    #[test]
    fn formats_utc_with_seconds_precision() {
        let moment = datetime!(2026-05-19 03:57:54.987 UTC);
        assert_eq!(format_utc(moment), "2026-05-19T03:57:54+00:00");
    }

    #[test]
    fn formats_microseconds_with_z() {
        assert_eq!(
            format_utc_micros(datetime!(2026-05-19 04:00:00.123456789 UTC)),
            "2026-05-19T04:00:00.123456Z"
        );
        assert_eq!(
            format_utc_micros(datetime!(2026-05-19 06:00:00 +02:00)),
            "2026-05-19T04:00:00.000000Z"
        );
    }

    #[test]
    fn pads_every_field() {
        let moment = datetime!(0042-01-02 03:04:05.000007 UTC);
        assert_eq!(format_utc(moment), "0042-01-02T03:04:05+00:00");
        assert_eq!(format_utc_micros(moment), "0042-01-02T03:04:05.000007Z");
        assert_eq!(format_run_id(moment, 1), "00420102T030405Z-00000001");
    }

    #[test]
    fn converts_other_offsets_to_utc() {
        let moment = datetime!(2026-05-19 05:57:54 +02:00);
        assert_eq!(format_utc(moment), "2026-05-19T03:57:54+00:00");
    }

    #[test]
    fn utc_now_has_the_reference_shape() {
        let now = utc_now();
        assert_eq!(now.len(), "2026-05-19T03:57:54+00:00".len());
        assert!(now.ends_with("+00:00"));
        assert_eq!(&now[10..11], "T");
    }

    #[test]
    fn run_id_has_the_reference_shape() {
        let moment = datetime!(2026-05-19 03:57:54 UTC);
        assert_eq!(
            format_run_id(moment, 0x1a2b_3c4d),
            "20260519T035754Z-1a2b3c4d"
        );
        assert_eq!(format_run_id(moment, 0xab), "20260519T035754Z-000000ab");
        let east = datetime!(2026-05-19 05:57:54 +02:00);
        assert_eq!(format_run_id(east, 0xab), "20260519T035754Z-000000ab");

        let id = make_run_id();
        let (stamp, hex) = id.split_once('-').expect("dash");
        assert_eq!(stamp.len(), 16);
        assert!(stamp.ends_with('Z'));
        assert_eq!(hex.len(), 8);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn run_ids_differ_between_calls() {
        let ids: std::collections::BTreeSet<String> = (0..50).map(|_| make_run_id()).collect();
        assert_eq!(ids.len(), 50);
    }
}
