//! Snapshots against a model, on a real engine: random sequences of workspace changes are made
//! in session containers (by a Python program with byte paths, so names with spaces, unicode,
//! newlines and invalid UTF-8 are real), each session is captured, and a container of the
//! snapshot must hold exactly the tree a model kept on the host says — through `continue`
//! chains longer than the squash bound, `reset` back to the baseline, and with both strategies.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{BIN, TestRun};
use harnessgym::sandbox::{ExecInput, ExecSpec};
use harnessgym::snapshot::{Capture, Snapshot, SnapshotStore, Strategy};

/// One entry of the workspace as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir {
        mode: u32,
    },
    /// `id` is the inode: hard links share it, and a change to one is a change to all.
    File {
        data: Vec<u8>,
        mode: u32,
        id: u64,
    },
    Link {
        target: Vec<u8>,
    },
}

type Tree = BTreeMap<Vec<u8>, Node>;

/// xorshift64*, enough for choosing operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const NAMES: [&[u8]; 8] = [
    b"a.py",
    b"with space.txt",
    "ünï-cödé".as_bytes(),
    b"new\nline",
    b"bad-\xff-utf8",
    b"deep",
    b"x",
    b".hidden",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        name.to_vec()
    } else {
        [parent, b"/", name].concat()
    }
}

fn parent_of(path: &[u8]) -> &[u8] {
    path.iter()
        .rposition(|b| *b == b'/')
        .map_or(&[][..], |i| &path[..i])
}

/// Remove `path` and everything below it from the model.
fn remove_tree(tree: &mut Tree, path: &[u8]) {
    let below: Vec<Vec<u8>> = tree
        .keys()
        .filter(|k| k.as_slice() == path || k.starts_with(&[path, b"/"].concat()))
        .cloned()
        .collect();
    for key in below {
        tree.remove(&key);
    }
}

/// One random change: applied to the model, and appended as a line of the Python program.
fn change(rng: &mut Rng, tree: &mut Tree, ops: &mut Vec<String>) {
    let dirs: Vec<Vec<u8>> = std::iter::once(Vec::new())
        .chain(
            tree.iter()
                .filter(|(_, n)| matches!(n, Node::Dir { .. }))
                .map(|(k, _)| k.clone()),
        )
        .collect();
    let files: Vec<Vec<u8>> = tree
        .iter()
        .filter(|(_, n)| matches!(n, Node::File { .. }))
        .map(|(k, _)| k.clone())
        .collect();
    let parent = dirs[rng.below(dirs.len())].clone();
    let fresh = join(&parent, NAMES[rng.below(NAMES.len())]);
    let data: Vec<u8> = format!("content {}\n", rng.next()).into_bytes();
    match rng.below(10) {
        0 | 1 => {
            remove_tree(tree, &fresh);
            let mode = [0o644, 0o755, 0o600][rng.below(3)];
            ops.push(format!(
                "write('{}', '{}', {mode})",
                hex(&fresh),
                hex(&data)
            ));
            let id = rng.next();
            tree.insert(fresh, Node::File { data, mode, id });
        }
        2 if !files.is_empty() => {
            // Same size, same mtime: only ctime tells.
            let path = files[rng.below(files.len())].clone();
            if let Some(Node::File { data, id, .. }) = tree.get(&path).cloned() {
                let flipped: Vec<u8> = data
                    .iter()
                    .map(|b| if *b == b'z' { b'y' } else { b'z' })
                    .collect();
                ops.push(format!("same_size('{}', '{}')", hex(&path), hex(&flipped)));
                for node in tree.values_mut() {
                    if let Node::File {
                        data, id: other, ..
                    } = node
                        && *other == id
                    {
                        *data = flipped.clone();
                    }
                }
            }
        }
        3 if !files.is_empty() => {
            let path = files[rng.below(files.len())].clone();
            if let Some(Node::File { mode, id, .. }) = tree.get(&path).cloned() {
                let new = if mode == 0o755 { 0o640 } else { 0o755 };
                ops.push(format!("os.chmod(p('{}'), {new})", hex(&path)));
                for node in tree.values_mut() {
                    if let Node::File {
                        mode, id: other, ..
                    } = node
                        && *other == id
                    {
                        *mode = new;
                    }
                }
            }
        }
        4 => {
            let victims: Vec<Vec<u8>> = tree.keys().cloned().collect();
            if !victims.is_empty() {
                let path = victims[rng.below(victims.len())].clone();
                remove_tree(tree, &path);
                ops.push(format!("remove('{}')", hex(&path)));
            }
        }
        5 => {
            remove_tree(tree, &fresh);
            let child = join(&fresh, b"inner.txt");
            ops.push(format!("mkdir('{}', 0o755)", hex(&fresh)));
            ops.push(format!("write('{}', '{}', 420)", hex(&child), hex(&data)));
            tree.insert(fresh, Node::Dir { mode: 0o755 });
            let id = rng.next();
            tree.insert(
                child,
                Node::File {
                    data,
                    mode: 0o644,
                    id,
                },
            );
        }
        6 if !files.is_empty() => {
            let target = files[rng.below(files.len())].clone();
            let below = [fresh.as_slice(), b"/"].concat();
            if !target.starts_with(&below) && target != fresh {
                remove_tree(tree, &fresh);
                ops.push(format!("link('{}', '{}')", hex(&target), hex(&fresh)));
                let node = tree.get(&target).cloned();
                if let Some(node) = node {
                    tree.insert(fresh, node);
                }
            }
        }
        7 => {
            remove_tree(tree, &fresh);
            let target = b"a.py".to_vec();
            ops.push(format!("symlink('{}', '{}')", hex(&target), hex(&fresh)));
            tree.insert(fresh, Node::Link { target });
        }
        8 => {
            remove_tree(tree, &fresh);
            ops.push(format!("mkdir('{}', 0o700)", hex(&fresh)));
            tree.insert(fresh, Node::Dir { mode: 0o700 });
        }
        _ if !files.is_empty() => {
            // A file replaced by a directory, or back.
            let path = files[rng.below(files.len())].clone();
            remove_tree(tree, &path);
            ops.push(format!("mkdir('{}', 0o755)", hex(&path)));
            tree.insert(path, Node::Dir { mode: 0o755 });
        }
        _ => {}
    }
    // Keep the model's parents consistent (every change above is below an existing dir).
    debug_assert!(tree.keys().all(|k| {
        let parent = parent_of(k);
        parent.is_empty() || matches!(tree.get(parent), Some(Node::Dir { .. }))
    }));
}

const PRELUDE: &str = r#"import os, shutil
def p(h): return os.path.join(b'/workspace', bytes.fromhex(h))
def clear(h):
    if os.path.lexists(p(h)): remove(h)
def write(h, d, mode):
    clear(h)
    with open(p(h), 'wb') as f: f.write(bytes.fromhex(d))
    os.chmod(p(h), mode)
def mkdir(h, mode):
    clear(h)
    os.mkdir(p(h)); os.chmod(p(h), mode)
def link(src, h):
    clear(h)
    os.link(p(src), p(h))
def symlink(target, h):
    clear(h)
    os.symlink(bytes.fromhex(target), p(h))
def same_size(h, d):
    st = os.stat(p(h))
    with open(p(h), 'r+b') as f: f.write(bytes.fromhex(d))
    os.utime(p(h), ns=(st.st_atime_ns, st.st_mtime_ns))
def remove(h):
    if os.path.isdir(p(h)) and not os.path.islink(p(h)): shutil.rmtree(p(h))
    else: os.unlink(p(h))
"#;

const DUMP: &str = r#"import os, stat, sys
root = b'/workspace'
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files):
        full = os.path.join(d, n)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            print('L', rel.hex(), os.readlink(full).hex())
        elif stat.S_ISDIR(st.st_mode):
            print('D', rel.hex(), oct(st.st_mode & 0o7777))
        else:
            print('F', rel.hex(), oct(st.st_mode & 0o7777), open(full, 'rb').read().hex())
"#;

fn model_dump(tree: &Tree) -> Vec<String> {
    let mut lines: Vec<String> = tree
        .iter()
        .map(|(path, node)| match node {
            Node::Dir { mode } => format!("D {} {mode:#o}", hex(path)),
            Node::File { data, mode, .. } => format!("F {} {mode:#o} {}", hex(path), hex(data)),
            Node::Link { target } => format!("L {} {}", hex(path), hex(target)),
        })
        .collect();
    lines.sort();
    lines
}

fn dump_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

async fn python(c: &harnessgym::sandbox::Container, program: String) -> String {
    let mut spec = ExecSpec::new(["python3", "-"], Duration::from_secs(60));
    spec.stdin = Some(ExecInput::Bytes(program.into_bytes()));
    let out = c.exec(&spec).await.expect("exec");
    assert!(out.success(), "python failed: {}", out.stderr.text());
    out.stdout.text()
}

async fn tree_of(t: &TestRun, store: &SnapshotStore, snapshot: &Snapshot) -> Vec<String> {
    let c = store
        .start(snapshot, &t.spec(), harnessgym::sandbox::Role::Test)
        .await
        .expect("start");
    let text = python(&c, DUMP.to_string()).await;
    c.remove().await.expect("remove");
    dump_lines(&text)
}

/// The initial workspace on the host, as files the model also knows.
fn initial(root: &Path, tree: &mut Tree) {
    use std::os::unix::fs::PermissionsExt;
    for (name, data) in [
        ("a.py", "print(1)\n"),
        ("src/lib.py", "x = 1\n"),
        ("src/data.bin", "bin\n"),
    ] {
        common::write(root, name, data);
        std::fs::set_permissions(root.join(name), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        tree.insert(
            name.as_bytes().to_vec(),
            Node::File {
                data: data.as_bytes().to_vec(),
                mode: 0o644,
                id: tree.len() as u64,
            },
        );
    }
    std::fs::set_permissions(root.join("src"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    tree.insert(b"src".to_vec(), Node::Dir { mode: 0o755 });
}

/// `steps` captures from one seed: `continue` until the step before `reset_at` (past the bound
/// of 3, so a squash happens), then back to the baseline and on.
async fn sequences(strategy: Strategy, name: &str, seed: u64, steps: u32, reset_at: u32) {
    let t = TestRun::new(name).await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    let mut base_tree = Tree::new();
    initial(host.path(), &mut base_tree);
    let store = SnapshotStore::new(
        t.engine.clone(),
        &t.run,
        records.path().to_path_buf(),
        strategy,
    )
    .with_max_depth(3);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    assert_eq!(tree_of(&t, &store, &baseline).await, model_dump(&base_tree));
    let mut rng = Rng(seed);
    let (mut parent, mut tree) = (baseline.clone(), base_tree.clone());
    for step in 1..=steps {
        if step == reset_at {
            parent = baseline.clone();
            tree = base_tree.clone();
        }
        let (session, base) = store.open_session(&parent, &t.spec()).await.expect("open");
        let mut ops = Vec::new();
        for _ in 0..6 {
            change(&mut rng, &mut tree, &mut ops);
        }
        python(&session, format!("{PRELUDE}{}\n", ops.join("\n"))).await;
        let captured = store
            .capture(&session, &base, &format!("step-{step}"), None)
            .await
            .expect("capture");
        session.remove().await.expect("remove");
        let Capture::Taken(snapshot, left_out) = captured else {
            panic!("no limit was set");
        };
        assert_eq!(
            left_out,
            Default::default(),
            "step {step}: the model makes nothing a capture leaves out"
        );
        assert!(
            snapshot.depth() <= 3,
            "step {step}: depth {}",
            snapshot.depth()
        );
        assert_eq!(
            tree_of(&t, &store, &snapshot).await,
            model_dump(&tree),
            "step {step} (seed {seed}, {strategy:?}): the snapshot holds exactly the model's tree; ops:\n{}",
            ops.join("\n")
        );
        parent = snapshot;
    }
    t.cleanup().await;
}

#[tokio::test]
async fn random_changes_round_trip_through_loaded_layers() {
    sequences(Strategy::Load, "model-load", 0x5EED_0001, 9, 7).await;
}

#[tokio::test]
async fn random_changes_round_trip_through_commits() {
    // Commits walk the whole image on this engine's driver: fewer steps, same coverage (a
    // squash at step 4, a reset at step 5).
    sequences(Strategy::Commit, "model-commit", 0x5EED_0002, 6, 5).await;
}
