//! Timestamps and run ids in the reference's formats.
//!
//! [`utc_now`] is `models.py:utc_now` (ISO-8601, seconds precision, `+00:00`; reference §3.1) and
//! [`make_run_id`] is `artifacts.py:make_run_id` (`YYYYMMDDTHHMMSSZ-<8 hex>`; reference §1.1). Both
//! are formatted by hand from the date fields, which cannot fail, so no formatting error has to be
//! handled.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use ::time::OffsetDateTime;

/// The current UTC time as `2026-05-19T03:57:54+00:00`.
pub fn utc_now() -> String {
    format_utc(OffsetDateTime::now_utc())
}

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SS+00:00` in UTC, dropping sub-seconds.
pub fn format_utc(moment: OffsetDateTime) -> String {
    let utc = moment.to_offset(::time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// A fresh run id: the UTC time as `YYYYMMDDTHHMMSSZ`, a dash and 8 random lowercase hex digits.
pub fn make_run_id() -> String {
    let now = OffsetDateTime::now_utc();
    format_run_id(now, random_u32(now.unix_timestamp_nanos()))
}

/// Formats a run id from a timestamp and a 32-bit suffix: `20260519T035754Z-1a2b3c4d`.
pub fn format_run_id(moment: OffsetDateTime, suffix: u32) -> String {
    let utc = moment.to_offset(::time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{suffix:08x}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
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
