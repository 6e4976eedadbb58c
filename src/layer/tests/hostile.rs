//! Hostile layers: `read_layer` and `apply_layer` refuse them, and applying one never writes
//! outside the root.

use std::fs;
use std::os::unix::fs::symlink;

use tar::{Builder, EntryType, Header};

use super::fixture::{Fallible, RawEntry, TestResult, layer, raw_entry, raw_layer};
use crate::layer::{LayerError, Manifest, Refusal, apply_layer, read_layer};

const DIR: EntryType = EntryType::Directory;
const FILE: EntryType = EntryType::Regular;

/// The refusal `read_layer` gives, and checks that `apply_layer` refuses as well.
fn refusal(tar: &[u8]) -> Fallible<Refusal> {
    let dest = tempfile::tempdir()?;
    let applied = apply_layer(tar, dest.path(), b"workspace");
    match read_layer(tar, b"workspace") {
        Err(LayerError::Refused { reason, .. }) => {
            assert!(
                matches!(applied, Err(LayerError::Refused { .. })),
                "apply_layer accepted what read_layer refused: {applied:?}"
            );
            Ok(*reason)
        }
        other => Err(format!("not refused: {other:?}").into()),
    }
}

#[test]
fn names_outside_the_prefix_are_refused() -> TestResult {
    let cases: [(&[u8], Refusal); 6] = [
        (b"/workspace/x", Refusal::Absolute),
        (b"workspace/../etc/passwd", Refusal::ParentDir),
        (b"workspace/./x", Refusal::CurDir),
        (b"workspace//x", Refusal::EmptyComponent),
        (b"other/x", Refusal::OutsidePrefix),
        (b"workspacex", Refusal::OutsidePrefix),
    ];
    for (name, reason) in cases {
        let tar = raw_layer(&[(b"workspace", DIR, b"", b""), (name, FILE, b"", b"x")])?;
        assert_eq!(refusal(&tar)?, reason, "{}", String::from_utf8_lossy(name));
    }
    Ok(())
}

#[test]
fn the_prefix_directory_comes_first() -> TestResult {
    let tar = raw_layer(&[(b"workspace/x", FILE, b"", b"x")])?;
    assert_eq!(refusal(&tar)?, Refusal::PrefixFirst);
    let tar = raw_layer(&[(b"workspace", FILE, b"", b"")])?;
    assert_eq!(refusal(&tar)?, Refusal::PrefixNotDir);
    Ok(())
}

#[test]
fn a_file_through_a_symlink_of_the_layer_is_refused() -> TestResult {
    let outside = tempfile::tempdir()?;
    let target = outside.path().as_os_str().as_encoded_bytes().to_vec();
    let tar = raw_layer(&[
        (b"workspace", DIR, b"", b""),
        (b"workspace/link", EntryType::Symlink, &target, b""),
        (b"workspace/link/pwned", FILE, b"", b"x"),
    ])?;
    assert_eq!(refusal(&tar)?, Refusal::MissingParent);
    assert!(!outside.path().join("pwned").exists());
    Ok(())
}

#[test]
fn a_symlink_on_disk_is_replaced_never_followed() -> TestResult {
    let outside = tempfile::tempdir()?;
    let dest = tempfile::tempdir()?;
    symlink(outside.path(), dest.path().join("escape"))?;
    let tar = raw_layer(&[
        (b"workspace", DIR, b"", b""),
        (b"workspace/escape", DIR, b"", b""),
        (b"workspace/escape/f", FILE, b"", b"x"),
    ])?;
    apply_layer(&tar[..], dest.path(), b"workspace")?;
    assert!(fs::symlink_metadata(dest.path().join("escape"))?.is_dir());
    assert_eq!(fs::read(dest.path().join("escape/f"))?, b"x");
    assert_eq!(fs::read_dir(outside.path())?.count(), 0);
    Ok(())
}

#[test]
fn bad_hardlinks_are_refused() -> TestResult {
    let link = EntryType::Link;
    let cases: [&[RawEntry<'_>]; 4] = [
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/h", link, b"workspace/missing", b""),
        ],
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/h", link, b"workspace/h", b""),
        ],
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/d", DIR, b"", b""),
            (b"workspace/h", link, b"workspace/d", b""),
        ],
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/h", link, b"/etc/passwd", b""),
        ],
    ];
    for entries in cases {
        let reason = refusal(&raw_layer(entries)?)?;
        assert!(
            matches!(reason, Refusal::HardlinkTarget | Refusal::Absolute),
            "{reason}"
        );
    }
    Ok(())
}

#[test]
fn bad_whiteouts_are_refused() -> TestResult {
    let cases: [(&[u8], &[u8], Refusal); 5] = [
        (b"workspace/.wh...", b"", Refusal::WhiteoutTarget),
        (b"workspace/.wh..", b"", Refusal::WhiteoutTarget),
        (b"workspace/.wh.", b"", Refusal::WhiteoutTarget),
        (b"workspace/.wh..wh.plnk", b"", Refusal::ReservedName),
        (b"workspace/.wh.x", b"data", Refusal::WhiteoutNotEmptyFile),
    ];
    for (name, data, reason) in cases {
        let tar = raw_layer(&[(b"workspace", DIR, b"", b""), (name, FILE, b"", data)])?;
        assert_eq!(refusal(&tar)?, reason, "{}", String::from_utf8_lossy(name));
    }
    Ok(())
}

#[test]
fn a_path_twice_is_refused() -> TestResult {
    let cases: [&[RawEntry<'_>]; 3] = [
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/a", FILE, b"", b""),
            (b"workspace/a", FILE, b"", b""),
        ],
        &[
            (b"workspace", DIR, b"", b""),
            (b"workspace/.wh.a", FILE, b"", b""),
            (b"workspace/a", FILE, b"", b""),
        ],
        &[(b"workspace", DIR, b"", b""), (b"workspace", DIR, b"", b"")],
    ];
    for entries in cases {
        assert_eq!(refusal(&raw_layer(entries)?)?, Refusal::Duplicate);
    }
    Ok(())
}

#[test]
fn devices_and_data_on_directories_are_refused() -> TestResult {
    let tar = raw_layer(&[
        (b"workspace", DIR, b"", b""),
        (b"workspace/dev", EntryType::Char, b"", b""),
    ])?;
    assert_eq!(refusal(&tar)?, Refusal::UnsupportedType(b'3'));
    let tar = raw_layer(&[(b"workspace", DIR, b"", b"x")])?;
    assert_eq!(refusal(&tar)?, Refusal::DataOnNonFile);
    Ok(())
}

#[test]
fn extension_headers_are_checked() -> TestResult {
    // A GNU long name with a NUL inside it.
    let mut builder = Builder::new(Vec::new());
    raw_entry(&mut builder, b"workspace", DIR, b"", b"")?;
    raw_entry(
        &mut builder,
        b"././@LongLink",
        EntryType::GNULongName,
        b"",
        b"workspace/a\0b\0",
    )?;
    raw_entry(&mut builder, b"placeholder", FILE, b"", b"")?;
    assert_eq!(refusal(&builder.into_inner()?)?, Refusal::NulByte);
    // A PAX size would make readers disagree about where the next header is.
    let mut builder = Builder::new(Vec::new());
    raw_entry(&mut builder, b"workspace", DIR, b"", b"")?;
    raw_entry(
        &mut builder,
        b"pax",
        EntryType::XHeader,
        b"",
        b"11 size=10\n",
    )?;
    raw_entry(&mut builder, b"workspace/f", FILE, b"", b"")?;
    assert_eq!(
        refusal(&builder.into_inner()?)?,
        Refusal::UnsupportedPax("size".to_owned())
    );
    // An oversized long name is refused before it is read whole.
    let mut builder = Builder::new(Vec::new());
    raw_entry(&mut builder, b"workspace", DIR, b"", b"")?;
    raw_entry(
        &mut builder,
        b"././@LongLink",
        EntryType::GNULongName,
        b"",
        &vec![b'a'; 70_000],
    )?;
    raw_entry(&mut builder, b"workspace/f", FILE, b"", b"")?;
    assert_eq!(refusal(&builder.into_inner()?)?, Refusal::ExtensionTooLarge);
    // A PAX path is honoured (and checked like any name).
    let mut builder = Builder::new(Vec::new());
    raw_entry(&mut builder, b"workspace", DIR, b"", b"")?;
    raw_entry(
        &mut builder,
        b"pax",
        EntryType::XHeader,
        b"",
        b"27 path=workspace/from-pax\n",
    )?;
    raw_entry(&mut builder, b"ignored", FILE, b"", b"")?;
    let entries = read_layer(&builder.into_inner()?[..], b"workspace")?;
    assert_eq!(
        entries.last().map(|e| e.path.as_slice()),
        Some(&b"from-pax"[..])
    );
    Ok(())
}

/// A real layer of one new file, to cut and pad.
fn small_layer() -> Fallible<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let before = Manifest::walk(dir.path())?;
    fs::write(dir.path().join("f"), vec![b'x'; 3000])?;
    Ok(layer(dir.path(), &before)?.0)
}

#[test]
fn a_layer_must_end_with_its_trailer_and_nothing_else() -> TestResult {
    let tar = small_layer()?;
    assert!(read_layer(&tar[..], b"workspace").is_ok());
    let cut = &tar[..tar.len() - 1024];
    assert!(matches!(
        read_layer(cut, b"workspace"),
        Err(LayerError::Truncated)
    ));
    let half = &tar[..tar.len() - 512];
    assert!(matches!(
        read_layer(half, b"workspace"),
        Err(LayerError::Truncated)
    ));
    let mid_entry = &tar[..2048];
    assert!(matches!(
        read_layer(mid_entry, b"workspace"),
        Err(LayerError::ReadLayer { .. })
    ));
    let mut padded = tar.clone();
    padded.extend_from_slice(&[0u8; 9216]);
    assert!(
        read_layer(&padded[..], b"workspace").is_ok(),
        "zero padding to a record is fine"
    );
    let mut trailing = tar.clone();
    trailing.extend_from_slice(b"garbage");
    assert!(matches!(
        read_layer(&trailing[..], b"workspace"),
        Err(LayerError::TrailingData)
    ));
    assert!(matches!(
        read_layer(&[][..], b"workspace"),
        Err(LayerError::Truncated)
    ));
    Ok(())
}

#[test]
fn a_corrupted_header_is_an_error() -> TestResult {
    let mut tar = small_layer()?;
    tar[600] ^= 0x55; // inside the second header: its checksum no longer matches
    assert!(matches!(
        read_layer(&tar[..], b"workspace"),
        Err(LayerError::ReadLayer { .. })
    ));
    let mut header = Header::new_gnu();
    header.set_size(0);
    assert!(read_layer(&header.as_bytes()[..], b"workspace").is_err());
    Ok(())
}
