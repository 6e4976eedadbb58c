//! Unit tests of the parent module.
use super::*;

const HOST_SOURCES: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

fn plan(tool: Tool, keyring: Option<&str>) -> Plan {
    Plan {
        tool: FoundTool {
            tool,
            path: PathBuf::from(format!("/usr/sbin/{}", tool.name())),
        },
        suite: "bookworm".into(),
        mirror: "http://mirror.example/debian".into(),
        packages: vec!["python3".into(), "g++".into()],
        keyring: keyring.map(PathBuf::from),
        target: PathBuf::from("/var/tmp/harnessgym-rootfs-x"),
    }
}

fn strings(argv: &[OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn deb822_picks_the_main_archive() {
    assert_eq!(
        mirror_from_deb822(HOST_SOURCES).as_deref(),
        Some("http://deb.debian.org/debian")
    );
}

#[test]
fn deb822_skips_security_src_disabled_and_ubuntu() {
    let text = "\
Types: deb
URIs: http://security.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb
URIs: http://archive.ubuntu.com/ubuntu
Suites: noble noble-updates

types: deb deb-src
uris: https://mirror.example/debian/
 http://second.example/debian
suites: trixie
components: main contrib
";
    assert_eq!(
        mirror_from_deb822(text).as_deref(),
        Some("https://mirror.example/debian")
    );
    assert_eq!(
        mirror_from_deb822("Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble\n"),
        None
    );
}

#[test]
fn deb822_folded_fields() {
    let text = "Types: deb\nURIs:\n http://folded.example/debian\nSuites: stable\n";
    assert_eq!(
        mirror_from_deb822(text).as_deref(),
        Some("http://folded.example/debian")
    );
}

#[test]
fn one_line_sources() {
    let text = "\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main contrib # trailing
deb http://later.example/debian bookworm main
";
    assert_eq!(
        mirror_from_one_line(text).as_deref(),
        Some("http://ftp.de.debian.org/debian")
    );
    assert_eq!(
        mirror_from_one_line("deb http://archive.ubuntu.com/ubuntu noble main\n"),
        None
    );
    assert_eq!(
        mirror_from_one_line("deb cdrom:[Debian]/ bookworm main\n"),
        None
    );
    assert_eq!(
        mirror_from_one_line("debx http://x/debian bookworm main\n"),
        None
    );
}

#[test]
fn detect_mirror_reads_the_apt_dir_in_order_with_default() {
    let apt = tempfile::tempdir().expect("tempdir");
    assert_eq!(detect_mirror(apt.path()), DEFAULT_MIRROR);
    fs::create_dir(apt.path().join("sources.list.d")).expect("mkdir");
    fs::write(
        apt.path().join("sources.list.d/debian.sources"),
        HOST_SOURCES,
    )
    .expect("write");
    fs::write(
        apt.path().join("sources.list.d/nodesource.list"),
        "deb https://deb.nodesource.com/node_20.x nodistro main\n",
    )
    .expect("write");
    assert_eq!(detect_mirror(apt.path()), "http://deb.debian.org/debian");
    fs::write(
        apt.path().join("sources.list"),
        "deb http://local.example/debian bookworm main\n",
    )
    .expect("write");
    assert_eq!(detect_mirror(apt.path()), "http://local.example/debian");
}

#[test]
fn debootstrap_command_line() {
    let argv = command_line(&plan(Tool::Debootstrap, Some(DEBIAN_KEYRING)));
    assert_eq!(
        strings(&argv),
        [
            "/usr/sbin/debootstrap",
            "--variant=minbase",
            "--include=python3,g++",
            "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
            "bookworm",
            "/var/tmp/harnessgym-rootfs-x",
            "http://mirror.example/debian",
        ]
    );
}

#[test]
fn mmdebstrap_command_line_without_keyring() {
    let argv = command_line(&plan(Tool::Mmdebstrap, None));
    assert_eq!(
        strings(&argv),
        [
            "/usr/sbin/mmdebstrap",
            "--mode=root",
            "--format=directory",
            "--variant=minbase",
            "--include=python3,g++",
            "bookworm",
            "/var/tmp/harnessgym-rootfs-x",
            "http://mirror.example/debian",
        ]
    );
}

#[test]
fn default_options_use_the_base_packages() {
    let options = BootstrapOptions::default();
    assert_eq!(options.suite, "bookworm");
    assert_eq!(options.packages, BASE_PACKAGES);
    assert!(options.packages.iter().any(|p| p == "passwd"), "useradd");
}

#[test]
fn install_commands() {
    assert_eq!(
        install_command_lines(),
        [
            vec!["apt-get", "update"],
            vec![
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "debootstrap",
                "debian-archive-keyring"
            ],
        ]
    );
    assert!(install_hint().contains("apt-get install -y debootstrap debian-archive-keyring"));
}

#[test]
fn finds_tools_in_path_preferring_debootstrap() {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = tempfile::tempdir().expect("tempdir");
    let make = |name: &str, mode: u32| {
        let path = bin.path().join(name);
        fs::write(&path, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    };
    let path_var = std::env::join_paths([bin.path()]).expect("join");
    // Not executable: ignored (unless the host's sbin has one).
    make("mmdebstrap", 0o644);
    if let Some(found) = find_tool(Some(&path_var)) {
        assert!(found.path.starts_with("/usr") || found.path.starts_with("/sbin"));
    }
    let mm = make("mmdebstrap", 0o755);
    let found = find_tool(Some(&path_var)).expect("found");
    if found.tool == Tool::Mmdebstrap {
        assert_eq!(found.path, mm);
    }
    let deb = make("debootstrap", 0o755);
    let found = find_tool(Some(&path_var)).expect("found");
    assert_eq!(
        found,
        FoundTool {
            tool: Tool::Debootstrap,
            path: deb
        }
    );
}

#[test]
fn euid_parsing() {
    let status = "Name:\tcat\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
    assert_eq!(euid_from_status(status), Some(0));
    assert_eq!(
        euid_from_status("Uid:\t1000\t1000\t1000\t1000\n"),
        Some(1000)
    );
    assert_eq!(euid_from_status("Name: x\n"), None);
}

#[test]
fn mountinfo_under_root_deepest_first_with_escapes() {
    let info = "\
22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
30 22 0:5 / /var/tmp/hg-rootfs-a/proc rw - proc proc rw
31 22 0:6 / /var/tmp/hg-rootfs-a/dev rw - devtmpfs udev rw
32 31 0:7 / /var/tmp/hg-rootfs-a/dev/pts rw - devpts devpts rw
33 22 0:8 / /var/tmp/hg-rootfs-ab/proc rw - proc proc rw
34 22 0:9 / /var/tmp/with\\040space/sys rw - sysfs sysfs rw
";
    let root = Path::new("/var/tmp/hg-rootfs-a");
    assert_eq!(
        mounts_under(info, root),
        [
            PathBuf::from("/var/tmp/hg-rootfs-a/dev/pts"),
            PathBuf::from("/var/tmp/hg-rootfs-a/proc"),
            PathBuf::from("/var/tmp/hg-rootfs-a/dev"),
        ]
    );
    assert_eq!(
        mounts_under(info, Path::new("/var/tmp/with space")),
        [PathBuf::from("/var/tmp/with space/sys")]
    );
    assert!(mounts_under(info, Path::new("/nowhere")).is_empty());
}

#[test]
fn trim_removes_caches_dev_docs_and_keeps_structure() {
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    let put = |rel: &str, text: &str| {
        let path = r.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    };
    put("dev/null-stand-in", "");
    std::os::unix::fs::symlink("/proc/self/fd", r.join("dev/fd")).expect("symlink");
    put("var/cache/apt/archives/python3.deb", "deb");
    put("var/cache/apt/archives/partial/x.deb", "deb");
    put("var/cache/apt/pkgcache.bin", "bin");
    put("var/lib/apt/lists/deb.debian.org_Packages", "p");
    put("var/lib/apt/lists/partial/y", "p");
    put("var/log/apt/history.log", "log");
    put("var/log/dpkg.log", "log");
    put("tmp/junk", "x");
    put("usr/share/doc/git/copyright", "c");
    put("usr/share/doc/git/README.md", "r");
    put("usr/share/doc/gcc/changelog.gz", "r");
    put("usr/share/man/man1/git.1.gz", "m");
    put("usr/share/locale/de/LC_MESSAGES/git.mo", "m");
    put("usr/share/locale/locale.alias", "a");
    put("etc/resolv.conf", "nameserver 10.0.0.1\n");
    put("etc/hostname", "vm\n");
    put("usr/bin/python3", "#!");
    // A symlinked doc dir must be removed as a link, never followed.
    let outside = tempfile::tempdir().expect("tempdir");
    fs::write(outside.path().join("precious"), "keep").expect("write");
    std::os::unix::fs::symlink(outside.path(), r.join("usr/share/doc/linked")).expect("symlink");

    let removed = trim_rootfs(r).expect("trim");
    assert!(removed >= 14, "{removed}");
    let exists = |rel: &str| fs::symlink_metadata(r.join(rel)).is_ok();
    for gone in [
        "dev/null-stand-in",
        "dev/fd",
        "var/cache/apt/archives/python3.deb",
        "var/cache/apt/archives/partial/x.deb",
        "var/cache/apt/pkgcache.bin",
        "var/lib/apt/lists/deb.debian.org_Packages",
        "var/lib/apt/lists/partial/y",
        "var/log/apt/history.log",
        "var/log/dpkg.log",
        "tmp/junk",
        "usr/share/doc/git/README.md",
        "usr/share/doc/gcc",
        "usr/share/doc/linked",
        "usr/share/man/man1",
        "usr/share/locale/de",
    ] {
        assert!(!exists(gone), "{gone} should be gone");
    }
    for kept in [
        "dev",
        "var/cache/apt/archives/partial",
        "var/lib/apt/lists/partial",
        "var/log/apt",
        "tmp",
        "usr/share/doc/git/copyright",
        "usr/share/locale/locale.alias",
        "usr/bin/python3",
        DPKG_SLIM_CONFIG,
    ] {
        assert!(exists(kept), "{kept} should be kept");
    }
    assert_eq!(
        fs::read_to_string(r.join("etc/resolv.conf")).expect("read"),
        ""
    );
    assert_eq!(
        fs::read_to_string(r.join("etc/hostname")).expect("read"),
        ""
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("precious")).expect("read"),
        "keep"
    );
}

#[test]
fn rootfs_tar_keeps_links_and_modes_without_following() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    fs::create_dir_all(r.join("usr/bin")).expect("mkdir");
    fs::create_dir_all(r.join("etc")).expect("mkdir");
    fs::write(r.join("usr/bin/passwd"), "bin").expect("write");
    fs::set_permissions(r.join("usr/bin/passwd"), fs::Permissions::from_mode(0o4755))
        .expect("chmod");
    std::os::unix::fs::symlink("../proc/self/mounts", r.join("etc/mtab")).expect("symlink");
    std::os::unix::fs::symlink("usr/bin", r.join("bin")).expect("symlink");
    let bytes = write_rootfs_tar(r, Vec::new()).expect("pack");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut seen = std::collections::BTreeMap::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().expect("mode") & 0o7777;
        let link = entry
            .link_name()
            .expect("link")
            .map(|l| l.to_string_lossy().into_owned());
        seen.insert(path, (kind, mode, link));
    }
    assert_eq!(
        seen.get("etc/mtab"),
        Some(&(
            tar::EntryType::Symlink,
            0o777,
            Some("../proc/self/mounts".to_owned())
        ))
    );
    assert_eq!(seen.get("bin").map(|e| e.0), Some(tar::EntryType::Symlink));
    assert_eq!(seen.get("usr/bin/passwd").map(|e| e.1), Some(0o4755));
    assert!(
        !seen.keys().any(|k| k.starts_with("bin/")),
        "symlinked dir not followed"
    );
}

#[test]
fn import_changes_label_the_rootfs_without_owner() {
    let changes = import_changes(&plan(Tool::Debootstrap, None));
    assert!(changes.contains(&"LABEL dev.harnessgym.role=rootfs".to_owned()));
    assert!(!changes.iter().any(|c| c.contains("owner-pid")));
    assert_eq!(rootfs_image("bookworm"), "harnessgym/rootfs:bookworm");
}

#[test]
fn hints_for_user_fixable_errors_only() {
    let not_root = BootstrapError::NotRoot {
        tool: "debootstrap",
    };
    assert!(
        not_root
            .hint()
            .expect("hint")
            .contains("sudo harnessgym image bootstrap")
    );
    let missing = BootstrapError::ToolMissing {
        reason: "installing it needs root",
    };
    let hint = missing.hint().expect("hint");
    assert!(hint.contains("apt-get install -y debootstrap"), "{hint}");
    assert!(BootstrapError::Cancelled.hint().is_none());
    let trim = BootstrapError::Trim {
        path: PathBuf::from("/x"),
        source: io::Error::other("boom"),
    };
    assert!(trim.hint().is_none());
    assert!(!trim.to_string().contains("boom"), "cause not repeated");
    assert!(trim.to_string().starts_with(char::is_lowercase));
}

#[test]
fn run_streaming_reports_status_and_last_line() {
    let mut command = Command::new("sh");
    command.args(["-c", "echo 'I: one'; echo 'E: broken' >&2; exit 3"]);
    let err =
        run_streaming(command, None, &|| false, Some("http://m/debian".into())).expect_err("fails");
    match &err {
        BootstrapError::Failed { last_line, .. } => assert_eq!(last_line, "E: broken"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.hint().expect("hint").contains("http://m/debian"));
}

#[test]
fn run_streaming_kills_the_group_on_timeout_and_cancel() {
    let started = Instant::now();
    let mut command = Command::new("sh");
    // The grandchild holds the pipes; the group kill must end it too.
    command.args(["-c", "sleep 60 & sleep 60; wait"]);
    let err = run_streaming(command, Some(Duration::from_millis(300)), &|| false, None)
        .expect_err("times out");
    assert!(matches!(err, BootstrapError::TimedOut { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let started = Instant::now();
    let mut command = Command::new("sh");
    command.args(["-c", "sleep 60"]);
    let err = run_streaming(
        command,
        None,
        &|| started.elapsed() > Duration::from_millis(300),
        None,
    )
    .expect_err("cancelled");
    assert!(matches!(err, BootstrapError::Cancelled), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
