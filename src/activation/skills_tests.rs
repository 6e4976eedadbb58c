//! Skill activation on temporary directories (pure filesystem, no processes).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::*;
use crate::harness::registry::{Artifact, Registry};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn registry(skills: &[&str]) -> Registry {
    let mut registry = Registry::new();
    for path in skills {
        registry.artifacts.push(Artifact::new("skill", path));
    }
    registry
}

fn link_target(path: &Path) -> PathBuf {
    fs::read_link(path).expect("is a symlink")
}

#[test]
fn resolves_skill_md_from_file_dir_or_sibling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/a/SKILL.md", "# a");
    write(ws, ".harnessgym/skills/a/notes.md", "notes");
    write(ws, ".harnessgym/skills/b/notes.md", "no skill here");
    let a = ws.join(".harnessgym/skills/a/SKILL.md");
    assert_eq!(
        skill_target(ws, ".harnessgym/skills/a/SKILL.md"),
        Some(a.clone())
    );
    assert_eq!(skill_target(ws, ".harnessgym/skills/a"), Some(a.clone()));
    assert_eq!(skill_target(ws, ".harnessgym/skills/a/notes.md"), Some(a));
    assert_eq!(skill_target(ws, ".harnessgym/skills/b/notes.md"), None);
    assert_eq!(skill_target(ws, ".harnessgym/skills/b"), None);
    assert_eq!(skill_target(ws, ".harnessgym/skills/gone/SKILL.md"), None);
}

#[test]
fn links_are_relative_and_usable_from_both_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/probe/SKILL.md", "# probe");
    let reg = registry(&[
        ".harnessgym/skills/probe/SKILL.md",
        ".harnessgym/skills/probe",
    ]);
    let outcome = activate_skills(ws, &reg, true);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(outcome.rows.len(), 1, "deduplicated by SKILL.md");
    let row = &outcome.rows[0];
    let codex = ws.join(".agents/skills/probe");
    let claude = ws.join(".claude/skills/probe");
    assert_eq!(row.artifact_path, ".harnessgym/skills/probe/SKILL.md");
    assert_eq!(
        row.skill_path,
        display(&ws.join(".harnessgym/skills/probe/SKILL.md"))
    );
    assert_eq!(row.activated_path, display(&codex));
    assert_eq!(row.codex_activated_path, display(&codex));
    assert_eq!(row.claude_activated_path, display(&claude));
    for link in [&codex, &claude] {
        assert_eq!(
            link_target(link),
            PathBuf::from("../../.harnessgym/skills/probe")
        );
        assert_eq!(
            fs::read_to_string(link.join("SKILL.md")).expect("readable"),
            "# probe"
        );
    }
    // Moving the workspace keeps the links valid.
    let moved = tempfile::tempdir().expect("tempdir");
    let moved = moved.path().join("elsewhere");
    fs::rename(ws, &moved).expect("move");
    let text = fs::read_to_string(moved.join(".claude/skills/probe/SKILL.md"));
    assert_eq!(text.expect("still resolves"), "# probe");
}

#[test]
fn replacement_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/same/SKILL.md", "s");
    write(ws, ".harnessgym/skills/other/SKILL.md", "o");
    write(ws, ".harnessgym/skills/file/SKILL.md", "f");
    write(ws, ".harnessgym/skills/dir/SKILL.md", "d");
    fs::create_dir_all(ws.join(".agents/skills")).expect("mkdir");
    symlink(
        "../../.harnessgym/skills/same",
        ws.join(".agents/skills/same"),
    )
    .expect("link");
    symlink("/elsewhere/other", ws.join(".agents/skills/other")).expect("link");
    write(ws, ".agents/skills/file", "stale regular file");
    write(
        ws,
        ".agents/skills/dir/mine.txt",
        "a real directory of the user",
    );

    let target = |name: &str| PathBuf::from(format!("../../.harnessgym/skills/{name}"));
    let link = |name: &str| ws.join(".agents/skills").join(name);
    assert_eq!(
        place_link(&link("same"), &target("same"), false).expect("plans"),
        LinkAction::Kept
    );
    assert_eq!(
        place_link(&link("other"), &target("other"), false).expect("plans"),
        LinkAction::Replaced
    );
    assert_eq!(
        place_link(&link("file"), &target("file"), false).expect("plans"),
        LinkAction::Replaced
    );
    assert_eq!(
        place_link(&link("dir"), &target("dir"), false).expect("plans"),
        LinkAction::BlockedByDirectory
    );
    assert_eq!(
        place_link(&link("new"), &target("new"), false).expect("plans"),
        LinkAction::Created
    );
    assert!(
        !link("new").exists() && link("file").is_file(),
        "planning writes nothing"
    );

    let reg = registry(&[
        ".harnessgym/skills/same",
        ".harnessgym/skills/other",
        ".harnessgym/skills/file",
        ".harnessgym/skills/dir",
    ]);
    let outcome = activate_skills(ws, &reg, true);
    for name in ["same", "other", "file"] {
        assert_eq!(link_target(&link(name)), target(name), "{name}");
    }
    assert!(link("dir").join("mine.txt").is_file(), "real dir untouched");
    assert!(!link("dir").is_symlink());
    assert_eq!(
        outcome.warnings,
        [
            "skill link path .agents/skills/dir is a real directory, left untouched: .harnessgym/skills/dir"
        ]
    );
    assert_eq!(outcome.failed_artifacts, [".harnessgym/skills/dir"]);
    assert_eq!(
        link_target(&ws.join(".claude/skills/dir")),
        target("dir"),
        "the other root still links"
    );
    assert!(
        fs::read_dir(ws.join(".agents/skills"))
            .expect("list")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains("harnessgym-tmp")),
        "no temporary link left behind"
    );
}

#[test]
fn broken_skills_are_warnings_and_failed_artifacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = &dir.path().join("ws");
    write(ws, ".harnessgym/skills/broken/notes.md", "no SKILL.md");
    write(dir.path(), "outside-skill/SKILL.md", "outside");
    let reg = registry(&[
        ".harnessgym/skills/broken/notes.md",
        "../outside-skill/SKILL.md",
    ]);
    let outcome = activate_skills(ws, &reg, true);
    assert!(outcome.rows.is_empty());
    assert_eq!(
        outcome.warnings,
        [
            "skill artifact has no SKILL.md: .harnessgym/skills/broken/notes.md",
            "skill directory is not inside the workspace: ../outside-skill/SKILL.md",
        ]
    );
    assert_eq!(
        outcome.failed_artifacts,
        [
            "../outside-skill/SKILL.md",
            ".harnessgym/skills/broken/notes.md"
        ],
        "sorted"
    );
    assert!(!ws.join(".agents").exists(), "nothing linked");
}

#[test]
fn links_of_quarantined_or_deleted_skills_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/keep/SKILL.md", "k");
    write(ws, ".harnessgym/skills/bad/SKILL.md", "b");
    for root in [".agents/skills", ".claude/skills"] {
        fs::create_dir_all(ws.join(root)).expect("mkdir");
        symlink("../../.harnessgym/skills/bad", ws.join(root).join("bad")).expect("link");
        symlink("../../.harnessgym/skills/gone", ws.join(root).join("gone")).expect("link");
        symlink("../../docs", ws.join(root).join("docs")).expect("link");
        symlink(
            "/home/me/project/.harnessgym/skills/old",
            ws.join(root).join("old"),
        )
        .expect("link");
        symlink("../../.harnessgym/skills/keep", ws.join(root).join("alias")).expect("link");
    }
    let mut reg = registry(&[".harnessgym/skills/keep", ".harnessgym/skills/bad"]);
    reg.artifacts[1].quarantine("broken", None, Some(1));

    let outcome = activate_skills(ws, &reg, true);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(outcome.rows.len(), 1);
    for root in [".agents/skills", ".claude/skills"] {
        let root = ws.join(root);
        for gone in ["bad", "gone", "old"] {
            assert!(!root.join(gone).is_symlink(), "{gone} removed");
        }
        for kept in ["docs", "alias", "keep"] {
            assert!(root.join(kept).is_symlink(), "{kept} kept");
        }
    }
    assert_eq!(outcome.removed_links.len(), 6);
    assert!(
        ws.join(".harnessgym/skills/bad/SKILL.md").is_file(),
        "files stay"
    );
}

#[test]
fn without_write_nothing_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/probe/SKILL.md", "p");
    fs::create_dir_all(ws.join(".claude/skills")).expect("mkdir");
    symlink(
        "../../.harnessgym/skills/gone",
        ws.join(".claude/skills/gone"),
    )
    .expect("link");
    let outcome = activate_skills(ws, &registry(&[".harnessgym/skills/probe"]), false);
    assert_eq!(outcome.rows.len(), 1);
    assert!(!ws.join(".agents").exists());
    assert!(!ws.join(".claude/skills/probe").exists());
    assert!(ws.join(".claude/skills/gone").is_symlink());
    assert!(outcome.removed_links.is_empty());
}

#[test]
fn a_blocked_root_is_a_warning_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path();
    write(ws, ".harnessgym/skills/probe/SKILL.md", "p");
    write(ws, ".claude", "a file where a directory should be");
    let outcome = activate_skills(ws, &registry(&[".harnessgym/skills/probe"]), true);
    assert_eq!(outcome.failed_artifacts, [".harnessgym/skills/probe"]);
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        outcome.warnings[0]
            .starts_with("could not link skill .harnessgym/skills/probe at .claude/skills/probe: "),
        "{:?}",
        outcome.warnings
    );
    assert!(ws.join(".agents/skills/probe").is_symlink());
}
